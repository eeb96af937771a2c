"""API routes: parse and check input, call a service, serialise the result."""
import hashlib
import hmac
import json
import re
from datetime import timedelta

from flask import current_app, g, jsonify, request, stream_with_context
from flask_login import current_user
from werkzeug.exceptions import NotFound as HTTPNotFound

from .. import (
    akismet_service,
    bans,
    database,
    i18n,
    live,
    notifications,
    privacy,
    read_cache,
    readers,
    remote_avatars,
    sites,
)
from .. import comments as service
from ..avatars import identicon_svg
from ..comments import Author, Viewer, thread_is_closed
from ..errors import InvalidInput, NotAllowed, NotFound, Unauthorized, error_json
from ..extensions import db, loaded_past_commit
from ..models import MAX_ID, Comment, utcnow
from ..sites import get_site
from ..tokens import (
    FORM_TOKEN_MAX_AGE,
    edit_token_allows,
    make_edit_token,
    make_form_token,
    new_reader_token,
    read_form_token,
    reader_key_from_token,
)
from ..urls import normalise_origin
from ..web import inputs, providers, rate_limits, schema
from ..web.origins import origin_allowed
from ..web.public_url import own_origin, public_url_for
from ..web.serializers import avatar_seed, comment_json, iso, page_json, replies_json, user_json, with_reader_parts
from . import bp
from .openapi import openapi_document


def _site(public_id):
    site = get_site(public_id)
    g.site = site
    return site


def _require_origin(site):
    """Browsers send Origin with every write: refuse those from pages the site does not list."""
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(site, origin):
        raise NotAllowed(f"the origin {origin[:100]!r} may not post to site {site.public_id!r}",
                         code="origin_not_allowed")


def _bearer_token():
    return readers.bearer_token(request.headers.get("Authorization"))


def _user():
    """The logged-in reader, None for guests; a token that no longer works is a 401, so the widget forgets it."""
    if _bearer_token() is None:
        return None
    if not current_user.is_authenticated:
        raise Unauthorized("your login has expired or was ended; please log in again")
    return current_user._get_current_object()


def _viewer():
    key = reader_key_from_token(current_app.secret_key, request.headers.get("X-Reader-Token"))
    return Viewer(reader_key=key, user=_user())


def _viewer_or_new_reader():
    """The viewer, given a fresh anonymous identity (and its token to return) if they have none."""
    viewer = _viewer()
    if viewer.voter is not None:
        return viewer, None
    # Each new identity can like once: handing them out is limited per address, or likes could be inflated.
    rate_limits.hit("RATELIMIT_NEW_READERS")
    key, reader_token = new_reader_token(current_app.secret_key)
    return Viewer(reader_key=key), reader_token


def _etag(site, thread, viewer, sort, cursor, limit, now, waiting):
    """Changes with every write to the thread or the site's settings, and per reader; `waiting` is what
    own_waiting says of the reader's comments held there, which move no thread version."""
    parts = [site.id, site.updated_at.isoformat(), thread.id if thread else 0,
             thread.version if thread else 0, sort, cursor, limit, viewer.reader_key, viewer.user_id, waiting]
    if viewer.voter:
        # can_edit ends with the edit window: let a reader's copy go stale within a minute.
        parts.append(int(now.timestamp() // 60))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _public_read(response, surrogate_keys):
    """Shared caches (a CDN, Varnish) may keep a public read briefly; the widget asks past them for news."""
    config = current_app.config
    response.cache_control.public = True
    response.cache_control.max_age = 0
    response.cache_control.s_maxage = config["PUBLIC_CACHE_SECONDS"]
    response.cache_control.stale_while_revalidate = config["PUBLIC_CACHE_STALE_SECONDS"]
    # Purge by these keys on a write (Fastly, Varnish xkey): see the README's "Behind a CDN".
    response.headers["Surrogate-Key"] = " ".join(surrogate_keys)


def _is_public_request():
    """No reader or login token: the answer is the same for everyone, so it may be stored and shared."""
    return "X-Reader-Token" not in request.headers and "Authorization" not in request.headers


@bp.get("/threads")
def read_thread():
    query = schema.parse_query(schema.ThreadQuery, request.args, max_limit=current_app.config["MAX_PAGE_SIZE"])
    public = _is_public_request()
    try:
        key = service.thread_key(query.url, query.thread_id)[0]
    except InvalidInput:
        _site(query.site)  # an unknown site is the first thing to say
        raise
    # Taken before anything is read, so the stored page can only be newer than what the ticket checks.
    ticket = read_cache.thread_ticket(current_app, query.site, key)
    site = _site(query.site)
    url, sort, cursor = query.url, query.sort, query.cursor
    limit = query.limit or current_app.config["PAGE_SIZE"]
    found = service.find_thread(site, url=url, thread_id=query.thread_id)
    viewer = _viewer()
    now = utcnow()
    waiting = service.own_waiting(found, viewer)
    # Where nothing is published yet, only the author of a comment waiting there may know of the thread.
    thread = found if waiting and waiting[0] else service.readers_thread(found)
    etag = _etag(site, thread, viewer, sort, cursor, limit, now, waiting)
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        parts = service.reader_parts(site, thread, viewer, now, waiting)

        def public_page():
            page = service.read_thread(thread, Viewer(), sort=sort, cursor=cursor, limit=limit,
                                       max_comments=current_app.config["MAX_PAGE_COMMENTS"])
            return jsonify(page_json(site, page, url, Viewer(), now)).get_data()

        if parts is None or not parts.waiting:
            # The page everyone sees, made once per version, with a reader's likes and edit links laid
            # over it. Besides the versions, it depends on the host (its links), the clock (closing), and
            # the page's own URL where the thread has none stored; a cache buster (v) changes nothing.
            closed = thread is not None and thread_is_closed(site, thread, now)
            echoed = None if thread is not None and thread.url else url
            first_page = cursor is None and limit == current_app.config["PAGE_SIZE"]
            body = read_cache.public_body(current_app, ticket, (request.host_url, key, sort, cursor, limit, closed,
                                                                 echoed),
                                          public_page, share=first_page and echoed is None)
            response = (current_app.response_class(body, mimetype="application/json") if parts is None
                        else jsonify(with_reader_parts(json.loads(body), parts)))
        else:
            page = service.read_thread(thread, viewer, sort=sort, cursor=cursor, limit=limit,
                                       max_comments=current_app.config["MAX_PAGE_COMMENTS"])
            response = jsonify(page_json(site, page, url, viewer, now))
    response.set_etag(etag)
    response.vary.update(["X-Reader-Token", "Authorization"])
    if public:
        _public_read(response, [f"parley-site-{site.public_id}"] + ([f"parley-thread-{thread.id}"] if thread else []))
        if ticket:
            request.environ[read_cache.TICKET] = read_cache.until(ticket, service.closes_at(site, thread))
    else:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    return response


@bp.get("/threads/live")
def live_thread():
    """Server-Sent Events: `changed` (id and data carry the thread's version) each time the thread changes."""
    query = schema.parse_query(schema.LiveQuery, request.args)
    site = _site(query.site)
    _require_origin(site)  # a stream holds a worker thread: refuse pages that could not read it anyway
    key, _ = service.thread_key(query.url, query.thread_id)
    header = request.headers.get("Last-Event-ID") or None
    if header is not None:  # what the browser saw last before it reconnected: newer than the query's
        query = schema.parse(schema.LiveQuery, query.model_dump() | {"last_event_id": header})
    if not request.environ.get("wsgi.multithread"):
        # A server with one request at a time per worker (gunicorn's sync workers) would be held by the
        # stream; 204 tells EventSource to stop asking. The page still works, only not live.
        response = current_app.response_class(status=204)
        response.cache_control.no_store = True
        return response
    try:
        give_back = live.take_slot(current_app, rate_limits.client_address())
    except live.AddressFull:
        # One client holding every stream would shut the other readers out of live updates.
        response = error_json(429, "too_many_streams_from_you", "this address has as many live streams open as "
                                                                 "it may; the page works without live updates")
        response.headers["Retry-After"] = str(current_app.config["LIVE_MAX_SECONDS"])
        return response
    if give_back is None:
        # Not a failure with a traceback but a full server: said in the log, with the request's id, as every 5xx.
        current_app.logger.warning("503 too_many_streams: this process holds PARLEY_LIVE_MAX_CONNECTIONS (%s) "
                                   "live streams", current_app.config["LIVE_MAX_CONNECTIONS"])
        response = error_json(503, "too_many_streams", "this server has as many live readers as it takes; "
                                                       "the page works without live updates")
        response.headers["Retry-After"] = str(current_app.config["LIVE_MAX_SECONDS"])
        return response
    stream = live.events(site.id, key, query.last_event_id, give_back, live.client_socket(request.environ))
    response = current_app.response_class(stream_with_context(stream), mimetype="text/event-stream")
    response.call_on_close(give_back)
    response.headers["Cache-Control"] = "no-cache, no-transform"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/comments/<int:comment_id>/replies")
def read_replies(comment_id):
    """The rest of a top-level comment's replies, where a thread page could not carry them all."""
    viewer = _viewer()
    comment, site = _comment_and_site(comment_id, viewer, writing=False)
    if comment.parent_id is not None or comment.status not in service.SHOWN:
        raise NotFound(f"there is no top-level comment {comment_id}", code="unknown_comment")
    cursor = schema.parse_query(schema.RepliesQuery, request.args).cursor
    page = service.read_replies(comment, viewer, cursor, limit=current_app.config["MAX_PAGE_COMMENTS"])
    response = jsonify(replies_json(site, page, viewer, utcnow()))
    response.cache_control.no_cache = True
    response.vary.update(["X-Reader-Token", "Authorization"])
    return response


def _body_within_site_limit(site, body):
    inputs.within_length(body, "body", site.max_body_length)
    return body


def _ask_akismet(site, data, author, viewer):
    """What Akismet says of the comment, and what it was told; (None, None) where the site does not use it."""
    if not site.akismet_key:
        return None, None
    user = viewer.user
    sent = akismet_service.Comment(
        blog=site.origins[0] if site.origins else own_origin(), user_ip=request.remote_addr or "",
        user_agent=request.user_agent.string or None, referrer=request.referrer, permalink=data.url,
        comment_author=user.display_name if user else author and author.name,
        comment_author_email=user.email if user else author and author.email,
        comment_author_url=user.profile_url if user else author and author.website, comment_content=data.body)
    key = site.akismet_key
    # Akismet may take seconds to answer: hold no transaction (nor SQLite's write lock) meanwhile.
    db.session.commit()
    return akismet_service.check(key, sent, current_app.config["AKISMET_ENDPOINT"]), sent.__dict__


@bp.post("/comments")
@database.reads_first
def post_comment():
    data = schema.parse(schema.NewComment, inputs.json_object())
    site = _site(data.site)
    _require_origin(site)
    if site.comments_per_hour:
        rate_limits.hit("RATELIMIT_COMMENTS", f"{site.comments_per_hour} per hour", scope=f"site:{site.id}")
    body = _body_within_site_limit(site, data.body)
    given = data.author
    author = given and Author(name=given.name, email=given.email, website=given.website)
    viewer, reader_token = _viewer_or_new_reader()
    email = viewer.user.email if viewer.user else author and author.email
    akismet, akismet_sent = _ask_akismet(site, data, author, viewer)
    with loaded_past_commit():
        comment = service.post_comment(
            site, body=body, author=author, viewer=viewer, url=data.url, thread_id=data.thread_id, title=data.title,
            parent_id=data.parent_id, notify=data.notify,
            # Keyed hashes only: bans match on them and the comment keeps the IP's, never the address.
            ip_hash=bans.ip_hash(current_app.secret_key, request.remote_addr),
            email_hash=bans.email_hash(current_app.secret_key, email),
            signals=service.Signals(address=request.remote_addr, honeypot=data.honeypot,
                                    form_token=read_form_token(current_app.secret_key, data.form_token, site.id),
                                    form_token_required=current_app.config["SPAM_FORM_TOKENS"],
                                    min_form_seconds=current_app.config["SPAM_MIN_FORM_SECONDS"],
                                    akismet=akismet, akismet_sent=akismet_sent),
            context=notifications.Context(base_url=own_origin(),
                                          language=i18n.negotiate(data.lang, request.accept_languages),
                                          secret_key=current_app.config["SECRET_KEY"],
                                          sender_may_confirm=lambda: rate_limits.within("RATELIMIT_CONFIRMATIONS")),
        )
    badges = service.staff_badges(site, comment.thread, [comment])
    result = {
        "comment": comment_json(comment, site, viewer, False, utcnow(), badges),
        "edit_token": make_edit_token(current_app.secret_key, comment.id),
        # The next comment's: the form is shown again, empty, from now on.
        "form_token": make_form_token(current_app.secret_key, site.id),
    }
    if reader_token:
        result["reader_token"] = reader_token
    if data.notify and comment.author_email and comment.status != "spam":
        result["notifications"] = notifications.state_of(comment.author_email)
    return jsonify(result), 201


def _comment_and_site(comment_id, viewer, writing=True, authored=False):
    """The comment named in the path and its site, if the viewer may know of it (a held comment is its author's
    alone); for a write, once the request's origin is allowed there. Checked in that order: an origin refused
    for a held comment would tell a stranger it exists."""
    if comment_id > MAX_ID:
        raise HTTPNotFound()
    comment = service.get_comment(comment_id, viewer, authored=authored)
    site = comment.thread.site
    g.site = site
    if writing:
        _require_origin(site)
    return comment, site


def _comment_for_author(comment_id):
    """The comment, its site, and the check that the caller's login or edit token still opens it."""
    token = request.headers.get("X-Edit-Token")
    # An edit token of any age proves who wrote the comment; whether it still opens it is the window's to say.
    holds_token = edit_token_allows(current_app.secret_key, token, comment_id, None)
    comment, site = _comment_and_site(comment_id, _viewer(), authored=holds_token)
    window = site.edit_window_minutes * 60
    token_valid = holds_token and edit_token_allows(current_app.secret_key, token, comment.id, window)
    service.check_author_may_change(site, comment, token_valid, utcnow(), user=_user())
    return comment, site


@bp.patch("/comments/<int:comment_id>")
def edit_comment(comment_id):
    comment, site = _comment_for_author(comment_id)
    body = _body_within_site_limit(site, schema.parse(schema.CommentEdit, inputs.json_object()).body)
    service.edit_comment(site, comment, body)
    viewer = _viewer()
    liked = service.liked_by(comment, viewer)
    badges = service.staff_badges(site, comment.thread, [comment])
    shown = comment_json(comment, site, viewer, liked, utcnow(), badges)
    return jsonify(comment=shown)


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id):
    comment, _ = _comment_for_author(comment_id)
    service.delete_comment(comment)
    return "", 204


def _like(comment_id, liked):
    comment, _ = _comment_and_site(comment_id, _viewer())
    viewer, reader_token = _viewer_or_new_reader()
    comment = service.set_like(comment, viewer, liked)
    result = {"id": comment.id, "likes": comment.likes, "liked_by_me": liked}
    if reader_token:
        result["reader_token"] = reader_token
    return jsonify(result)


@bp.post("/comments/<int:comment_id>/like")
def like(comment_id):
    return _like(comment_id, True)


@bp.delete("/comments/<int:comment_id>/like")
def unlike(comment_id):
    return _like(comment_id, False)


@bp.get("/counts")
def counts():
    query = schema.parse_query(schema.CountsQuery, request.args)
    site = _site(query.site)  # an unknown site is the first thing to say
    hashes = service.url_hashes(query.url)
    # Taken before the counts are read (they do not depend on the site's settings, read above).
    ticket = read_cache.counts_ticket(current_app, query.site, hashes.values()) if _is_public_request() else None
    counts = service.count_comments(site, hashes)
    # Worded from the query alone, never Accept-Language: the shared read cache keys on the URL.
    labels = {"labels": {url: i18n.translate_count(i18n.negotiate(query.lang), "count", n)
                         for url, n in counts.items()}} if query.lang else {}
    response = jsonify(counts=counts, **labels)
    _public_read(response, [f"parley-site-{site.public_id}"])
    if ticket:
        request.environ[read_cache.TICKET] = ticket
    return response


def _embed_problem(site_id):
    """Why the site's comments cannot show on the page asking (its Origin header), in an owner's words."""
    try:
        site = get_site(site_id)
    except NotFound:
        # Said back only in the shape a site id has: the answer never repeats arbitrary text at length.
        named = f"site {site_id}" if sites.PUBLIC_ID.match(site_id) else "site with that id"
        return {"code": "unknown_site",
                "message": f"Comments can't load here: {own_origin()} has no {named}.",
                "fix": "Parley: check data-parley-site in the embed code: each site's page in the dashboard "
                       f"({public_url_for('dashboard.sites')}) shows its snippet."}
    given = request.headers.get("Origin")
    if given is None:
        return None  # browsers send Origin on every cross-origin request: this is the server's own page
    origin = normalise_origin(given)
    if origin is None:
        return {"code": "no_origin",
                "message": "Comments can't load here: this page has no origin (opened from a file, or sandboxed).",
                "fix": "Parley: serve the page over http or https, from an origin the site allows."}
    if origin_allowed(site, origin):
        return None
    if origin in sites.wanted_origins(site):
        # Anyone may ask this with any Origin: the answer tells the site's owner where to look, and nobody
        # anything of the other sites on this server.
        return {"code": "origin_unproven",
                "message": f"Comments can't load here: {origin} waits for proof that it belongs to site "
                           f"{site.public_id}.",
                "fix": f"Parley: the site's owner sees how to prove it on the site's page in the dashboard "
                       f"({public_url_for('dashboard.site', site_id=site.public_id)})."}
    # Remembered for the dashboard, a few times per address: enough to show a mistake, not a way to fill it.
    if rate_limits.within("RATELIMIT_REFUSED_ORIGINS"):
        sites.note_refused_origin(site, origin)
    return {"code": "origin_not_allowed",
            "message": f"Comments can't load here: {origin} is not an allowed origin of site {site.public_id}.",
            "fix": f"Parley: to show the comments of site {site.public_id} on {origin}, add {origin} to the site's "
                   "allowed origins: one click under \"Refused origins\" on the site's page in the dashboard "
                   f"({public_url_for('dashboard.site', site_id=site.public_id)}), or in its settings."}


@bp.get("/form-token")
def form_token():
    """A single-use token for one comment on the site: the widget asks when its reader starts writing."""
    site = _site(schema.parse_query(schema.FormTokenQuery, request.args).site)
    # Each token lets one comment past the check for scripts: minted for anyone, so only so many per address.
    rate_limits.hit("RATELIMIT_FORM_TOKENS")
    response = jsonify(form_token=make_form_token(current_app.secret_key, site.id),
                       min_seconds=current_app.config["SPAM_MIN_FORM_SECONDS"],
                       expires_in=int(FORM_TOKEN_MAX_AGE.total_seconds()))
    response.cache_control.no_store = True
    return response


@bp.get("/embed-check")
def embed_check():
    """The loader asks this when its frame stays silent, to tell the page's owner what is wrong."""
    query = schema.parse_query(schema.EmbedCheckQuery, request.args)
    response = jsonify(problem=_embed_problem(query.site))
    response.cache_control.no_store = True
    return response


@bp.get("/comments/<int:comment_id>/avatar")
@database.writes  # it may keep a fetched picture
@database.reads_first  # but reads first, and writes only once the picture is fetched (remote_avatars.picture)
def comment_avatar(comment_id):
    """A guest's picture from the service their site chose, fetched and kept here; else their generated one."""
    comment = db.session.get(Comment, comment_id) if comment_id <= MAX_ID else None
    service = comment.thread.site.avatar_service if comment is not None else None
    shown = comment is not None and comment.user_id is None and comment.status != "deleted"
    email = comment.author_email if shown and comment is not None else None
    key = request.args.get("k", "")[:100]
    # As bytes: compare_digest refuses str with characters beyond ASCII (a TypeError, so a 500) instead of
    # saying they differ.
    expected = remote_avatars.key_for(current_app.secret_key, service, email) if service and email else ""
    if not (comment is not None and service and email and hmac.compare_digest(key.encode(), expected.encode())):
        raise NotFound("no such avatar", code="unknown_avatar")
    config = current_app.config
    found = remote_avatars.picture(key, email, config[f"{service.upper()}_URL"],
                                   ttl_seconds=config["AVATAR_CACHE_SECONDS"], max_kept=config["AVATAR_CACHE_MAX"],
                                   allow_private=config["ALLOW_PRIVATE_TARGETS"])
    if found is None:
        response = current_app.response_class(identicon_svg(avatar_seed(comment)), mimetype="image/svg+xml")
    else:
        response = current_app.response_class(found[0], mimetype=found[1])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.public = True
    response.cache_control.max_age = min(config["AVATAR_CACHE_SECONDS"], 86_400)
    return response


@bp.get("/avatars/<seed>.svg")
def avatar(seed):
    if not re.fullmatch(r"[0-9a-f]{32}", seed):
        raise HTTPNotFound()
    response = current_app.response_class(identicon_svg(seed), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 31_536_000
    response.cache_control.immutable = True
    return response


def _user_json(user):
    identity_provider = user.identity.provider if user.identity else None
    return user_json(user, providers.available(current_app).get(identity_provider))


@bp.get("/me")
def me():
    user = _user()
    return jsonify(user=_user_json(user) if user else None)


def _logged_in_reader():
    user = _user()
    if user is None:
        raise Unauthorized("log in first: send your token as Authorization: Bearer", code="login_required")
    return user


def _require_own_origin():
    """A reader's own account is changed from the comment frame, on this server's origin, or outside a browser."""
    origin = request.headers.get("Origin")
    if origin is not None and normalise_origin(origin) != own_origin():
        raise NotAllowed(f"the origin {origin[:100]!r} may not change a reader's account", code="origin_not_allowed")


@bp.get("/me/data")
def my_data():
    """Everything stored about the logged-in reader, as a JSON file to keep."""
    data = privacy.reader_data(user=_logged_in_reader(), secret_key=current_app.secret_key)
    response = jsonify(data)
    response.headers["Content-Disposition"] = 'attachment; filename="my-comments-data.json"'
    response.cache_control.no_store = True
    return response


@bp.delete("/me")
def erase_me():
    """The logged-in reader's comments (erased or anonymised), likes, notifications and account, gone."""
    _require_own_origin()
    user = _logged_in_reader()
    # The body is optional; the reader is always the token's, never one named in it.
    data = schema.parse(schema.ReaderErasure, inputs.json_object() if request.get_data(cache=True).strip() else {})
    language = i18n.negotiate(data.lang, request.accept_languages)
    result = privacy.erase_reader(user=user, mode=data.mode, actor_name="the reader themselves",
                                  anonymous_name=i18n.translate(language, "privacy.anonymous"))
    return jsonify(result)


@bp.post("/auth/exchange")
def exchange_login_code():
    """The widget trades its secret and the popup's code (or the pairing code the reader typed) for a token."""
    data = schema.parse(schema.LoginExchange, inputs.json_object())
    try:
        user = readers.redeem_login(data.secret, data.code, data.pairing_code)
    except readers.LoginPending:
        return jsonify(status="pending"), 202
    except readers.PairingNeeded:
        return jsonify(status="pairing"), 202
    token, record = readers.issue_token(user, timedelta(days=current_app.config["AUTH_TOKEN_DAYS"]))
    return jsonify(token=token, expires_at=iso(record.expires_at), user=_user_json(user))


@bp.post("/auth/logout")
def logout():
    token = _bearer_token()
    if token is None or _user() is None:
        raise Unauthorized("send the token to end as Authorization: Bearer")
    readers.revoke_token(token)
    return "", 204


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
