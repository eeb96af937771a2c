"""The loader, the widget's versioned static files, and the iframe page with its first page of comments."""
import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, g, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, NotFound

from .. import comments as service
from .. import i18n
from ..avatars import identicon_symbol
from ..colours import scheme_accents, theme_for_page
from ..comments import Viewer
from ..compression import StoredPage
from ..errors import InvalidInput
from ..errors import NotFound as UnknownSite
from ..models import utcnow
from ..read_cache import kept_store
from ..sites import get_site
from ..tokens import FORM_TOKEN_MAX_AGE
from ..urls import normalise_origin
from ..web import inputs, providers
from ..web.error_pages import translated_error_page
from ..web.headers import secure_html, widget_policy
from ..web.origins import origin_allowed
from ..web.serializers import page_json
from . import assets, bp

THEMES = ("light", "dark", "auto")
MAX_BEHIND = 2000  # the colours a page paints behind its comments, as the loader reads them
EMBED_PAGES_BYTES = 32 * 1024 * 1024  # rendered iframe pages kept per worker
YEAR = 31_536_000
THEME_SECONDS = 86_400
# What a site may set through CSS custom properties on its container (read by the loader).
# Strict shapes: the values end up in style properties inside the iframe.
COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/a-z-]{1,60}\)|[a-zA-Z]{3,30})$")
FONT = re.compile(r"""^[\w\s,'"-]{1,200}$""")
STYLE_PARAMS = {"accent": COLOUR, "accent-dark": COLOUR, "background": COLOUR, "font": FONT}
# JSON in a <script> element: nothing in it may close the element or read as markup.
JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


# The empty comment the widget clones for the comments it adds (see templates/embed/_comment.html).
PROTO_COMMENT: dict[str, Any] = {
    "id": "", "parent_id": None, "depth": 1, "status": "approved", "html": "", "created_at": "",
    "edited_at": None, "likes": 0, "liked_by_me": False, "can_edit": False, "in_reply_to": None, "replies": [],
    "author": {"name": "", "website": "", "avatar_url": "", "provider": None, "badge": ""},
    "kind": "comment", "source": None,
}


class Refused(Exception):
    """The iframe page cannot be shown: a status and a catalogue key explaining why."""

    def __init__(self, status, key, **values):
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


# Assets ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assets:
    loader: assets.Asset
    widget: assets.Bundle
    # Changes when the page's templates or catalogues change, so cached pages are not reused then.
    page_fingerprint: str
    # The iframe page's stylesheet, written into the page (one request less before the first paint),
    # and its hash, which the page's CSP names so that no other inline style can run.
    inline_css: str
    inline_css_hash: str


def _build_assets():
    static = Path(str(current_app.static_folder))
    page_files = [*Path(str(current_app.template_folder), "embed").glob("*.html"), *i18n.LOCALES.rglob("*.po"),
                  i18n.HERE / "messages.py"]
    widget = assets.build_widget(static)
    css = widget.files["thread.css"].body
    return Assets(assets.build_loader(static), widget, assets.fingerprint(*page_files), Markup(css.decode()),
                  "sha256-" + base64.b64encode(hashlib.sha256(css).digest()).decode())


def _assets():
    """Built once per app on first use; in debug mode once per request, so edits show at once."""
    if current_app.debug:
        if "parley_assets" not in g:
            g.parley_assets = _build_assets()
        return g.parley_assets
    if "parley.assets" not in current_app.extensions:
        current_app.extensions["parley.assets"] = _build_assets()
    return current_app.extensions["parley.assets"]


def asset_url(filename):
    """The versioned URL of a widget file: cached for a year, replaced by a new URL when any file changes."""
    return url_for("embed.asset", version=_assets().widget.version, filename=filename)


@bp.app_context_processor
def template_helpers():
    return {"asset_url": asset_url, "inline_css": lambda: _assets().inline_css}


@bp.app_template_filter("comment_date")
def comment_date(iso_moment):
    """The date shown until the widget's script rewrites it in the reader's language and time zone."""
    return f"{iso_moment[:10]} {iso_moment[11:16]} UTC" if iso_moment else ""


def _accepts_gzip():
    return request.accept_encodings["gzip"] > 0


def _serve(asset, cache_control):
    gzipped = _accepts_gzip()
    response = current_app.response_class(asset.gzipped if gzipped else asset.body, content_type=asset.mimetype)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    # The two encodings are different bytes, so they carry different validators.
    response.set_etag(asset.etag + ("-gz" if gzipped else ""))
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Other sites load these; let pages that isolate themselves (COEP) load them too.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)


@bp.get("/embed.js")
def loader():
    # Its URL is pasted into sites and cannot change: cached for an hour, then refreshed in the background.
    return _serve(_assets().loader, "public, max-age=3600, stale-while-revalidate=604800")


@bp.get("/embed/v/<version>/<path:filename>")
def asset(version, filename):
    bundle = _assets().widget
    found = bundle.files.get(filename)
    if found is None:
        raise NotFound()
    if version != bundle.version:
        # A page rendered before a deploy asks for the old version: serve what there is now,
        # but never let it be cached under the old name.
        return _serve(found, "no-cache")
    return _serve(found, f"public, max-age={YEAR}, immutable")


# The iframe page ---------------------------------------------------------------------

@dataclass(frozen=True)
class Embed:
    site: object
    origin: str
    url: str | None
    thread_id: str | None
    title: str | None
    theme: str
    lang: str
    highlight: int | None
    style: dict


def _origin_param(site):
    origin = normalise_origin(request.args.get("origin", ""))
    if origin is None or not origin_allowed(site, origin):
        shown = request.args.get("origin", "")[:100] or "?"
        raise Refused(403, "refused.origin", origin=shown, site=site.name)
    return origin


def _style_params():
    """The site's accent, background and font, where each has a safe shape; others are dropped.

    The accent becomes one per scheme (the dark one from `accent-dark` where the site set it), each
    moved until it reads against the widget's colours there, so a site's colour never costs contrast.
    """
    style = {}
    for name, shape in STYLE_PARAMS.items():
        value = request.args.get(name, "").strip()
        if value and shape.match(value):
            style[name] = value
    accents = scheme_accents(style.pop("accent", None), style.pop("accent-dark", None), style.get("background"))
    if accents:
        style["accent"] = "light-dark({}, {})".format(*accents)
    return style


def _embed_params():
    site_id = request.args.get("site", "")
    try:
        site = get_site(site_id)
    except UnknownSite:
        raise Refused(404, "refused.unknown_site", site=site_id[:40] or "?") from None
    origin = _origin_param(site)
    try:
        url = inputs.query_arg("url")
        thread_id = inputs.query_arg("thread_id", 200)
        title = inputs.query_arg("title", 300)
        lang = inputs.query_arg("lang", 35)
    except InvalidInput as error:
        raise Refused(400, "refused.bad_request", detail=error.message) from None
    if url is None and thread_id is None:
        raise Refused(400, "refused.no_page")
    highlight = request.args.get("highlight", "")
    style = _style_params()
    return Embed(
        site=site, origin=origin, url=url, thread_id=thread_id, title=title, theme=_theme(style),
        lang=i18n.negotiate(lang, request.accept_languages),
        highlight=int(highlight) if re.fullmatch(r"\d{1,10}", highlight) else None,
        style=style,
    )


def _theme(style):
    """The theme asked for; where the host page's colours came along (the site named no theme), the one
    that reads on them."""
    theme = request.args.get("theme", "light")
    theme = theme if theme in THEMES else "light"
    behind = request.args.get("behind")
    if behind is None or len(behind) > MAX_BEHIND:
        return theme
    return theme_for_page(theme, behind, style.get("background"))


def inline_json(data):
    """JSON safe to put inside a <script type="application/json"> element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(re.sub("[<>&\u2028\u2029]", lambda m: JSON_ESCAPES[m.group(0)], text))


def _page_etag(embed, thread, now):
    site = embed.site
    parts = [_assets().page_fingerprint, _assets().widget.version, site.id, site.updated_at.isoformat(),
             thread.id if thread else 0, thread.version if thread else 0, request.full_path, embed.lang,
             # Providers come from the environment: a restart with new ones must show them.
             list(providers.available(current_app)),
             # A thread closes after N days by the clock alone, without a write.
             now.date().isoformat() if site.close_after_days else None]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def site_providers(site):
    """The login providers this site's widget offers: configured here, and chosen by the site."""
    return [
        {"name": p.name, "label": p.label, "url": url_for("auth.login", name=p.name, site=site.public_id)}
        for p in providers.available(current_app).values()
        if site.providers is None or p.name in site.providers
    ]


def _widget_config(embed, page, can_post, logins, version):
    site = embed.site
    return {
        "v": 1,
        "site": site.public_id,
        "url": embed.url,
        "threadId": embed.thread_id,
        "title": embed.title,
        "parentOrigin": embed.origin,
        "api": url_for("api.read_thread").removesuffix("threads"),
        "lang": embed.lang,
        "messages": i18n.widget_messages(embed.lang),
        "theme": embed.theme,
        "style": embed.style,
        "highlight": embed.highlight,
        "pageSize": current_app.config["PAGE_SIZE"],
        "maxDepth": site.max_depth,
        "maxBodyLength": site.max_body_length,
        "maxLinks": site.max_links,
        "editWindowMinutes": site.edit_window_minutes,
        "canPost": can_post,
        "guestsAllowed": site.guests_allowed,
        "providers": logins,
        "page": page,
        # The thread's version as rendered: the live stream announces anything newer.
        "version": version,
        # How long a form token lasts: the widget asks for a new one when its own is half as old.
        "formTokenSeconds": int(FORM_TOKEN_MAX_AGE.total_seconds()),
    }


def _avatar_sprite(page):
    """({generated avatar URL: symbol id}, the <symbol>s): each face drawn once in the page, no request per face."""
    base = url_for("api.avatar", seed="SEED", _external=False).removesuffix("SEED.svg")
    ids, symbols = {}, []

    def walk(comments):
        for comment in comments:
            url = comment["author"]["avatar_url"] or ""
            seed = url.rpartition(base)[2].removesuffix(".svg") if base in url else ""
            if re.fullmatch(r"[0-9a-f]{32}", seed) and url not in ids:
                ids[url] = f"avatar-{seed}"
                symbols.append(identicon_symbol(seed, ids[url]))
            walk(comment["replies"])

    walk(page["comments"])
    return ids, Markup("".join(symbols))


def _render_thread_page(embed, thread, now):
    # The page everyone sees: no reader token reaches an iframe's navigation, so the reader's
    # own pending comments, likes and edit links come with the widget's first API call.
    site, viewer = embed.site, Viewer()
    found = service.read_thread(thread, viewer, limit=current_app.config["PAGE_SIZE"],
                                max_comments=current_app.config["MAX_PAGE_COMMENTS"])
    page = page_json(site, found, embed.url, viewer, now)
    logins = site_providers(site)
    can_post = (site.guests_allowed or bool(logins)) and not page["thread"]["locked"]
    avatar_ids, avatar_symbols = _avatar_sprite(page)
    return render_template(
        "embed/thread.html", embed=embed, page=page, can_post=can_post, logins=logins,
        # Offer email notifications only where this server can send email.
        can_notify=bool(current_app.config["SMTP_HOST"]),
        page_url=embed.url or page["thread"]["url"] or "", proto_comment=PROTO_COMMENT,
        avatar_ids=avatar_ids, avatar_symbols=avatar_symbols,
        feed_url=url_for("feeds.thread_feed", site_id=site.public_id, url=embed.url, thread_id=embed.thread_id),
        config=inline_json(_widget_config(embed, page, can_post, logins, thread.version if thread else 0)),
        **translators(embed.lang),
    )


def _stored_page(embed, found, now, etag):
    """The rendered page for this ETag, the same for every reader: made and compressed once.

    Nothing in it is per reader: the widget asks for its form token when its reader starts writing, so a
    page kept by the browser (a 304) never hands a spent or stale one back.
    """
    pages = kept_store(current_app, "parley.embed_pages", EMBED_PAGES_BYTES)
    key = (etag, request.host_url)
    page = pages.get(key)
    if page is None:
        page = StoredPage.of(_render_thread_page(embed, found, now).encode())
        pages.put(key, page)
    return page


@bp.get("/embed/thread")
def thread():
    embed = _embed_params()
    try:
        found = service.readers_thread(service.find_thread(embed.site, url=embed.url, thread_id=embed.thread_id))
    except InvalidInput as error:
        raise Refused(400, "refused.bad_request", detail=error.message) from None
    now = utcnow()
    etag = _page_etag(embed, found, now)
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        page = _stored_page(embed, found, now, etag)
        if _accepts_gzip():
            response = current_app.response_class(page.gzipped)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = current_app.response_class(page.plain)
    response.set_etag(etag)
    response.cache_control.no_cache = True
    response.vary.update(["Accept-Encoding", "Accept-Language"])
    return secure_html(response, widget_policy(_assets().inline_css_hash, embed.site.origins))


@bp.get("/embed/theme")
def theme():
    """{theme} for colours a host page changed to after its frame was made (the frame asks; see frame.js)."""
    response = current_app.response_class(json.dumps({"theme": _theme(_style_params())}),
                                          mimetype="application/json")
    response.cache_control.public = True
    # Its URL names colours, not the rule that judges them: a day, so that a release that changes the rule is
    # followed within one by every browser and shared cache.
    response.cache_control.max_age = THEME_SECONDS
    return response


# Errors ------------------------------------------------------------------------------

def translators(lang):
    """t() and tn() for templates, bound to one language."""
    return {
        "lang": lang,
        "dir": i18n.direction(lang),
        "t": lambda key, **values: i18n.translate(lang, key, **values),
        "tn": lambda key, n: i18n.translate_count(lang, key, n),
    }


def error_page(status, key, title_key="refused.title", **values):
    return translated_error_page(status, key, title_key, stylesheet=asset_url("error.css"), **values)


@bp.errorhandler(Refused)
def refused(error):
    return error_page(error.status, error.key, **error.values)


@bp.errorhandler(HTTPException)
def http_error(error):
    if error.code == 404:
        return error_page(404, "refused.not_found", title_key="refused.not_found_title")
    if error.code and 400 <= error.code < 500:
        return error_page(error.code, "refused.bad_request", detail=error.description or error.name)
    return error
