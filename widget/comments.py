"""Comment services: plain arguments in, models out; each write is one transaction."""
import base64
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, UnaryExpression, and_, bindparam, case, delete, func, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from . import bans, markup, memberships, names, notifications, spam, spam_filter, webhooks
from .errors import InvalidInput, NotAllowed, NotFound
from .extensions import db, end_reading, run_core
from .models import MAX_ID, Comment, Identity, Thread, User, Vote, fixed_defaults, utcnow
from .tokens import FormToken, digest
from .urls import normalise_url

SORTS = ("oldest", "newest", "top")
NOTIFY_CHOICES = ("replies", "all", None)


@dataclass(frozen=True)
class Viewer:
    """Who is reading or writing: a logged-in user, an anonymous reader key, or nobody."""

    reader_key: str | None = None
    user: "User | None" = None

    @property
    def user_id(self):
        return self.user.id if self.user else None

    @property
    def voter(self):
        if self.user:
            return f"u:{self.user.id}"
        return f"r:{self.reader_key}" if self.reader_key else None

    def wrote(self, comment):
        if self.user is not None:
            return comment.user_id == self.user.id
        return bool(self.reader_key) and comment.reader_key == self.reader_key


@dataclass(frozen=True)
class Author:
    name: str
    email: str
    website: str | None = None


@dataclass
class ThreadPage:
    thread: Thread | None
    comments: list[Comment]  # roots of the page in sort order, then their replies oldest first
    liked_ids: set[int]
    comment_count: int
    next_cursor: str | None
    # Top-level comment id -> (replies not on this page, cursor to fetch them with read_replies).
    more_replies: dict[int, tuple[int, str]] = field(default_factory=dict)
    badges: dict[int, str] = field(default_factory=dict)  # see staff_badges()


@dataclass
class RepliesPage:
    """The next replies under one top-level comment, oldest first, with the parents the deep ones answer."""

    root: Comment
    replies: list[Comment]
    parents: dict[int, Comment]
    liked_ids: set[int]
    remaining: int
    next_cursor: str | None
    badges: dict[int, str]


# Threads -----------------------------------------------------------------------------

def thread_key(url=None, thread_id=None):
    """The (key, normalised url) a page is stored under; the explicit thread id wins."""
    normalised = None
    if url is not None:
        normalised = normalise_url(url)
        if normalised is None:
            raise InvalidInput("url must be an absolute http or https URL", code="invalid_url")
    if thread_id is not None:
        return digest(f"id:{thread_id}"), normalised
    if normalised is None:
        raise InvalidInput("give the page's url or a thread_id", code="missing_thread")
    return digest(f"url:{normalised}"), normalised


# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
_THREAD_BY_KEY = db.select(Thread).where(Thread.site_id == bindparam("site_id"), Thread.key == bindparam("key"))


def find_thread(site, url=None, thread_id=None):
    key, _ = thread_key(url, thread_id)
    return db.session.scalar(_THREAD_BY_KEY, {"site_id": site.id, "key": key})


def thread_is_closed(site, thread, now):
    # A thread readers know nothing of yet (see readers_thread) opens, and starts counting, when they first see it.
    return (bool(site.close_after_days) and thread.version > 0
            and thread.created_at < now - timedelta(days=site.close_after_days))


def closes_at(site, thread):
    """When the thread closes by its age alone, or None (already locked, or the site never closes threads)."""
    if thread is None or thread.locked or not site.close_after_days:
        return None
    return thread.created_at + timedelta(days=site.close_after_days)


def readers_thread(thread):
    """The thread as readers know it: None until something on it is published.

    A held or spam comment on a page without a thread makes one at version 0, untitled (see
    get_or_create_thread), so that nobody else can tell it from no thread at all: the same page, ETag,
    feed and version on the live stream. The first change readers see moves it to 1 (bump_thread).
    """
    return thread if thread is not None and thread.version > 0 else None


def get_or_create_thread(site, url, thread_id, title, found=None, published=True):
    """The page's thread, made on its first comment; `found` is the thread already read, if any. An existing
    thread takes the title given (and the URL, if it had none).

    For something not `published` (a comment held or filed as spam, a mention waiting), a new thread is
    made invisible to readers (version 0, no title; see readers_thread), and an existing one is left as it
    is: nothing that waits for a moderator may change what readers see.
    """
    key, normalised = thread_key(url, thread_id)
    thread = found or db.session.scalar(_THREAD_BY_KEY, {"site_id": site.id, "key": key})
    if thread is None:
        try:
            # A savepoint, so a concurrent first comment on the same page only costs a retry.
            with db.session.begin_nested():
                thread = Thread(site_id=site.id, key=key, url=normalised, title=title if published else None,
                                url_hash=normalised and digest(normalised), version=1 if published else 0)
                db.session.add(thread)
            return thread
        except IntegrityError:
            thread = db.session.scalar(db.select(Thread).where(Thread.site_id == site.id, Thread.key == key))
    if published:
        if title and thread.title != title:
            thread.title = title
        if normalised and thread.url is None:
            thread.url, thread.url_hash = normalised, digest(normalised)
    return thread


def name_page(comment):
    """A comment published after it waited names its page with the title it came with, if none was given
    since: the title was kept from readers while the comment waited."""
    thread = comment.thread
    if comment.status == "approved" and comment.page_title and thread.title is None:
        thread.title = comment.page_title


# session.info key: the (site id, thread id) pairs changed in the open transaction, which the live updates
# (widget/live.py) announce once it commits, and forget if it rolls back.
CHANGED_THREADS = "parley_changed_threads"


# A thread readers knew nothing of (version 0: see readers_thread) is new to them now: it opens from now on.
_BUMP = (update(Thread).where(Thread.id == bindparam("thread_id"))
         .values(version=Thread.version + 1,
                 created_at=case((Thread.version == 0, bindparam("now", type_=Thread.created_at.type)),
                                  else_=Thread.created_at))
         .returning(Thread.site_id, Thread.version, Thread.created_at))


def bump_thread(thread_id):
    """Mark a thread changed: its read ETag derives from the version, so every reader sees the change next.

    Only for changes readers see: the live updates announce each bump to every open page, so a comment held
    or filed as spam, or its author's edit while it waits, bumps nothing (see own_waiting)."""
    row = run_core(_BUMP, {"thread_id": thread_id, "now": utcnow()}).first()
    if row is None:
        return
    held = db.session.identity_map.get(identity_key(Thread, thread_id))
    if held is not None:  # a thread this request loaded (to render it, say) carries its new version
        set_committed_value(held, "version", row.version)
        set_committed_value(held, "created_at", row.created_at)
    db.session.info.setdefault(CHANGED_THREADS, set()).add((row.site_id, thread_id))


def thread_state(site_id, key):
    """(thread id, version) of the thread stored under `key` (see thread_key), or (None, 0) before its first comment;
    a thread with nothing published on it is at version 0 too (see readers_thread)."""
    row = db.session.execute(db.select(Thread.id, Thread.version).where(Thread.site_id == site_id,
                                                                       Thread.key == key)).first()
    return (row[0], row[1]) if row else (None, 0)


def approved_count(thread_id):
    """The count a thread's heading shows: its approved comments."""
    return db.session.scalar(
        db.select(func.count(Comment.id)).where(Comment.thread_id == thread_id, Comment.status == "approved")
    )


# Reading -----------------------------------------------------------------------------

# What an author still sees of their own comment while it waits: filed as spam looks the same as
# held, so a spammer learns nothing, and a reader wrongly caught sees their words kept.
OWN_WAITING = ("pending", "spam")
# What every reader sees: published comments, and the placeholders of deleted ones that hold replies in place.
SHOWN = ("approved", "deleted")


def visible_to(comment, viewer):
    """Whether the viewer may know that the comment exists: everyone for a shown one, its author for the rest."""
    return comment.status in SHOWN or (comment.status in OWN_WAITING and viewer.wrote(comment))


def no_such_comment(comment_id):
    """The one answer for a comment id the caller may not know of: an unknown id and someone else's held
    comment are told alike, so that probing ids says nothing about what waits for moderation."""
    return NotFound(f"there is no comment {comment_id}", code="unknown_comment")


def _visible_to(viewer):
    shown: ColumnElement[bool] = Comment.status.in_(SHOWN)
    if viewer.user is not None:
        shown = or_(shown, and_(Comment.status.in_(OWN_WAITING), Comment.user_id == viewer.user.id))
    elif viewer.reader_key:
        shown = or_(shown, and_(Comment.status.in_(OWN_WAITING), Comment.reader_key == viewer.reader_key))
    return shown


def _encode_cursor(sort, comment):
    value = comment.likes if sort == "top" else comment.created_at.isoformat()
    # A page that ended among the pinned comments says so: the next one goes on from there.
    raw = json.dumps([sort, value, comment.id] + ([1] if comment.pinned else [])).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_int(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _decode_cursor(sort, cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id, *pinned = json.loads(raw)
        if cursor_sort != sort or not _is_int(last_id, 1, MAX_ID) or pinned not in ([], [1]):
            raise ValueError
        if sort == "top":
            # A like count is a database integer too: a larger one would be an error there, not a page.
            if not _is_int(value, -MAX_ID - 1, MAX_ID):
                raise ValueError
        else:
            value = datetime.fromisoformat(value)
            if value.tzinfo is not None:  # the server writes naive UTC times
                raise ValueError
        return value, last_id, bool(pinned)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this server gave for this sort", code="invalid_cursor") from None


def _root_order(sort, cursor):
    """ORDER BY and the keyset condition for a page of top-level comments; pinned ones come first."""
    order: tuple[UnaryExpression[Any], ...]
    if sort == "top":
        order = (Comment.pinned.desc(), Comment.likes.desc(), Comment.id.asc())
    elif sort == "newest":
        order = (Comment.pinned.desc(), Comment.created_at.desc(), Comment.id.desc())
    else:
        order = (Comment.pinned.desc(), Comment.created_at.asc(), Comment.id.asc())
    if cursor is None:
        return order, None
    value, last_id, after_pinned = _decode_cursor(sort, cursor)
    if sort == "top":
        after = or_(Comment.likes < value, and_(Comment.likes == value, Comment.id > last_id))
    elif sort == "newest":
        after = or_(Comment.created_at < value, and_(Comment.created_at == value, Comment.id < last_id))
    else:
        after = or_(Comment.created_at > value, and_(Comment.created_at == value, Comment.id > last_id))
    if after_pinned:
        after = or_(and_(Comment.pinned.is_(True), after), Comment.pinned.is_(False))
    else:
        after = and_(Comment.pinned.is_(False), after)
    return order, after


def staff_badges(site, thread, comments=None):
    """{user id: badge} for comments in the thread: "author" for its post's author, else the staff role.

    Given the `comments` to show, it costs no query when none of them was written by an account.
    """
    if comments is not None and all(comment.user_id is None for comment in comments):
        return {}
    badges = {user_id: role for user_id, (role, _) in memberships.staff(site).items()}
    if thread is not None and thread.author_id is not None:
        badges[thread.author_id] = "author"
    return badges


def _liked(viewer, comments):
    if not viewer.voter or not comments:
        return set()
    return set(db.session.scalars(
        db.select(Vote.comment_id).where(Vote.voter == viewer.voter, Vote.comment_id.in_([c.id for c in comments]))
    ))


def _replies(thread_id, root_ids, visible, after=None, limit=None):
    """Visible replies under these top-level comments, oldest first (a parent before its replies)."""
    query = (db.select(Comment)
             .where(Comment.thread_id == thread_id, Comment.root_id.in_(root_ids), Comment.parent_id.is_not(None),
                    visible)
             .order_by(Comment.created_at, Comment.id))
    if after is not None:
        created_at, last_id = after
        query = query.where(or_(Comment.created_at > created_at,
                                and_(Comment.created_at == created_at, Comment.id > last_id)))
    return list(db.session.scalars(query.limit(limit) if limit else query))


def _encode_replies_cursor(reply):
    raw = json.dumps(["replies", reply.created_at.isoformat(), reply.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_replies_cursor(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, created_at, last_id = json.loads(raw)
        if kind != "replies" or not _is_int(last_id, 1, MAX_ID):
            raise ValueError
        created_at = datetime.fromisoformat(created_at)
        if created_at.tzinfo is not None:
            raise ValueError
        return created_at, last_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this server gave for these replies", code="invalid_cursor") from None


def read_thread(thread, viewer, sort="oldest", cursor=None, limit=50, max_comments=500):
    """One page of top-level comments with their replies, in a fixed number of queries.

    A page holds at most `limit` top-level comments and `max_comments` comments in all, replies
    included: it ends before a top-level comment whose replies would not fit. A first top-level
    comment whose replies alone are too many comes with as many as fit, and the cursor for the rest.
    """
    if thread is None:
        if cursor is not None:
            _decode_cursor(sort, cursor)
        return ThreadPage(None, [], set(), 0, None)
    visible = _visible_to(viewer)
    order, after = _root_order(sort, cursor)
    roots_query = db.select(Comment).where(Comment.thread_id == thread.id, Comment.parent_id.is_(None), visible)
    if after is not None:
        roots_query = roots_query.where(after)
    roots = list(db.session.scalars(roots_query.order_by(*order).limit(limit + 1)))
    more_roots = len(roots) > limit
    roots = roots[:limit]
    reply_counts = dict(db.session.execute(
        db.select(Comment.root_id, func.count(Comment.id))
        .where(Comment.thread_id == thread.id, Comment.root_id.in_([r.id for r in roots]),
               Comment.parent_id.is_not(None), visible)
        .group_by(Comment.root_id)
    ).all()) if roots else {}
    shown: list[Comment] = []
    used, cut_root = 0, None
    for root in roots:
        replies = reply_counts.get(root.id, 0)
        if used + 1 + replies > max_comments:
            if not shown:
                shown, cut_root = [root], root  # alone, it still does not fit: its first replies come now
            more_roots = more_roots or len(roots) > len(shown)
            break
        shown.append(root)
        used += 1 + replies
    whole = [r.id for r in shown if r is not cut_root]
    replies = _replies(thread.id, whole, visible) if whole else []
    more_replies = {}
    if cut_root is not None:
        first = _replies(thread.id, [cut_root.id], visible, limit=max_comments - 1)
        replies += first
        more_replies[cut_root.id] = (reply_counts[cut_root.id] - len(first), _encode_replies_cursor(first[-1]))
    comments = shown + sorted(replies, key=lambda c: (c.created_at, c.id))
    count = approved_count(thread.id)
    next_cursor = _encode_cursor(sort, shown[-1]) if more_roots and shown else None
    return ThreadPage(thread, comments, _liked(viewer, comments), count, next_cursor, more_replies,
                      staff_badges(thread.site, thread, comments))


@dataclass(frozen=True)
class ReaderParts:
    """What one reader sees on a thread beyond the public page: laid over it, so that page stays shared."""

    waiting: bool  # they have comments held here, which only a page made for them can place
    liked: frozenset[int]
    editable: dict[int, str]  # their comments still in the edit window -> the Markdown to edit


def _own(viewer):
    return Comment.user_id == viewer.user.id if viewer.user else Comment.reader_key == viewer.reader_key


def own_waiting(thread, viewer):
    """(how many, newest id, latest change) of the viewer's own comments waiting in the thread; None for an
    anonymous viewer. Changes to them move no thread version (nobody else sees them, and the live updates must
    not tell of them), so what their author reads is told apart by this instead."""
    if thread is None or viewer.voter is None:
        return None
    changed = func.max(func.coalesce(Comment.edited_at, Comment.created_at))
    row = db.session.execute(db.select(func.count(Comment.id), func.max(Comment.id), changed).where(
        Comment.thread_id == thread.id, _own(viewer), Comment.status.in_(OWN_WAITING))).one()
    return tuple(row)


def reader_parts(site, thread, viewer, now, waiting):
    """The reader's own parts of a thread, in two small indexed queries besides `waiting` (own_waiting's
    answer); None for an anonymous viewer."""
    if thread is None or viewer.voter is None:
        return None
    own = _own(viewer)
    liked = frozenset(db.session.scalars(
        db.select(Vote.comment_id).join(Comment, Comment.id == Vote.comment_id)
        .where(Comment.thread_id == thread.id, Vote.voter == viewer.voter)))
    since = now - timedelta(minutes=site.edit_window_minutes)
    editable = dict(db.session.execute(db.select(Comment.id, Comment.body).where(
        Comment.thread_id == thread.id, own, Comment.status != "deleted", Comment.created_at >= since)).all())
    return ReaderParts(bool(waiting and waiting[0]), liked, editable)


def read_replies(root, viewer, cursor, limit=500):
    """The next `limit` replies under a top-level comment, after the cursor a page or an earlier call gave."""
    after = _decode_replies_cursor(cursor)
    visible = _visible_to(viewer)
    replies = _replies(root.thread_id, [root.id], visible, after=after, limit=limit + 1)
    more = len(replies) > limit
    replies = replies[:limit]
    remaining = 0
    if more:
        remaining = db.session.scalar(
            db.select(func.count(Comment.id))
            .where(Comment.thread_id == root.thread_id, Comment.root_id == root.id, Comment.parent_id.is_not(None),
                   visible, or_(Comment.created_at > replies[-1].created_at,
                                and_(Comment.created_at == replies[-1].created_at, Comment.id > replies[-1].id)))
        )
    ids = {reply.id for reply in replies}
    earlier = {reply.parent_id for reply in replies} - ids
    parents = {}
    if earlier:
        parents = {c.id: c for c in db.session.scalars(db.select(Comment).where(Comment.id.in_(earlier)))}
    parents |= {reply.id: reply for reply in replies}
    return RepliesPage(root, replies, parents, _liked(viewer, replies), remaining,
                       _encode_replies_cursor(replies[-1]) if more else None,
                       staff_badges(root.thread.site, root.thread, replies))


def latest_approved(site, thread=None, limit=50):
    """The newest approved comments of a site, or of one of its threads, newest first, threads loaded."""
    query = (db.select(Comment).join(Comment.thread).options(contains_eager(Comment.thread))
             .where(Thread.site_id == site.id, Comment.status == "approved"))
    if thread is not None:
        query = query.where(Comment.thread_id == thread.id)
    return list(db.session.scalars(query.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)))


def url_hashes(urls):
    """{url as given: hash of its normalised form}, as threads are found by; a URL that is not http(s) is refused."""
    hashes = {}
    for url in urls:
        normalised = normalise_url(url)
        if normalised is None:
            raise InvalidInput(f"not an http or https URL: {url[:200]!r}", code="invalid_url")
        hashes[url] = digest(normalised)
    return hashes


def count_comments(site, hashes):
    """Approved comments per page URL, for up to 100 URLs in one query; `hashes` from url_hashes()."""
    rows = db.session.execute(
        db.select(Thread.url_hash, func.count(Comment.id))
        .join(Comment, and_(Comment.thread_id == Thread.id, Comment.status == "approved"))
        .where(Thread.site_id == site.id, Thread.url_hash.in_(set(hashes.values())))
        .group_by(Thread.url_hash)
    ).all()
    per_url = dict(rows)
    return {url: per_url.get(url_hash, 0) for url, url_hash in hashes.items()}


# Writing -----------------------------------------------------------------------------

def check_body(site, body):
    """Limits before any processing; then the rendered HTML."""
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("the comment is empty", code="empty_body")
    if len(body) > site.max_body_length:
        raise InvalidInput(
            f"the comment is {len(body)} characters long; this site allows {site.max_body_length}",
            code="body_too_long",
        )
    links = markup.count_links(body)
    if links > site.max_links:
        raise InvalidInput(f"the comment has {links} links; this site allows {site.max_links}",
                           code="too_many_links")
    return markup.render(body)


_APPROVED_HERE = (db.select(Comment.id).join(Thread, Thread.id == Comment.thread_id)
                  .where(Thread.site_id == bindparam("site_id"), Comment.status == "approved").limit(1))
_APPROVED_FOR_USER = _APPROVED_HERE.where(Comment.user_id == bindparam("user_id"))
_APPROVED_FOR_READER = _APPROVED_HERE.where(Comment.reader_key == bindparam("reader_key"),
                                            func.lower(Comment.author_email) == bindparam("email"))


def _has_approved_comment(site, author, viewer):
    """Whether this author had a comment approved here: by their login, or, for a guest, by the same
    browser (reader token) with the same email. An email alone proves nothing: anyone can type it."""
    if viewer.user is not None:
        found = run_core(_APPROVED_FOR_USER, {"site_id": site.id, "user_id": viewer.user.id}).scalar()
    elif viewer.reader_key:
        found = run_core(_APPROVED_FOR_READER, {"site_id": site.id, "reader_key": viewer.reader_key,
                                               "email": author.email.lower()}).scalar()
    else:
        return False
    return found is not None


def _refuse_lookalike(site, name, team):
    """Refuse a name that is, or looks like (UTS #39), a name of the site's staff or one kept for them."""
    protected = [*names.RESERVED, site.name, *(site.reserved_names or []), *(shown for _, shown in team.values())]
    if names.impersonated(name, protected):
        raise InvalidInput("this name belongs to the site's staff, or looks like one of theirs; please choose "
                           "another", code="name_reserved")


def guest_name(site, typed, team):
    """The name a guest's comment shows: visible characters only, and nobody else's."""
    name = names.clean(typed)
    if not name:
        raise InvalidInput("name has no visible letters or digits", code="invalid_name")
    if len(name) > 100:
        raise InvalidInput("name is longer than 100 characters once written out", code="name_too_long")
    _refuse_lookalike(site, name, team)
    return name


def _check_may_post(site, author, user):
    """Raise unless this author may post on the site; returns a logged-in user's provider."""
    if user is not None:
        if author is not None:
            raise InvalidInput("you are logged in: your name comes from your account, so send no author",
                               code="author_with_login")
        provider = db.session.scalar(db.select(Identity.provider).where(Identity.user_id == user.id))
        if site.providers is not None and provider not in site.providers:
            raise NotAllowed("this site does not accept logins from your provider", code="provider_not_enabled")
        return provider
    if author is None:
        raise InvalidInput("guests must give a name and an email address", code="missing_author")
    if not site.guests_allowed:
        raise NotAllowed("this site does not accept comments from guests; log in to comment",
                         code="guests_not_allowed")
    return None


@dataclass(frozen=True)
class Signals:
    """What the request says about how the comment was written, for the spam checks (spam.py)."""

    address: str | None = None  # never stored: the comment keeps only ip_hash
    honeypot: str | None = None
    form_token: FormToken | None = None  # a valid one (tokens.read_form_token); it may be spent already
    form_token_required: bool = False  # the server's SPAM_FORM_TOKENS
    min_form_seconds: float = spam.MIN_FORM_SECONDS
    akismet: str | None = None  # what Akismet said (akismet_service.check), if the site uses it
    akismet_sent: dict | None = None  # and what it was told, kept for reporting an overrule


STATUS_OF = {spam.PUBLISH: "approved", spam.HOLD: "pending", spam.SPAM: "spam"}


def _submission(site, body, author, viewer, ban, signals, now):
    """A new comment by someone who is not staff, as the spam pipeline sees it."""
    user = viewer.user
    name = user.display_name if user else author.name
    email = user.email if user else author.email
    website = user.profile_url if user else author.website
    found = spam_filter.tokens(body, name, email, website)
    form = signals.form_token
    return spam.Submission(
        site=site, body=body, name=name, email=email, website=website, address=signals.address,
        honeypot=signals.honeypot, form_age=(now - form.issued_at).total_seconds() if form else None,
        min_form_seconds=signals.min_form_seconds, first_time=not _has_approved_comment(site, author, viewer),
        ban=ban, now=now, akismet=signals.akismet, knowledge=spam_filter.knowledge_for(site, found),
        site_script=spam_filter.site_script(site), tokens=found, form_token_required=signals.form_token_required,
        logged_in=user is not None)


def post_comment(site, *, body, author, viewer, url=None, thread_id=None, title=None,
                 parent_id=None, notify=None, now=None, ip_hash=None, email_hash=None, signals=Signals(),
                 context=None):
    """Store a new comment (and its thread on first use) or raise; nothing is written on failure.

    `ip_hash` and `email_hash` are keyed hashes (bans.ip_hash, bans.email_hash) of the poster's
    address and email, matched against the site's bans; the IP hash is kept with the comment.
    Staff comments are published at once; everyone else's go through the spam pipeline. The emails and
    webhook deliveries it causes are queued in the same transaction (`context` says where links point).
    """
    now = now or utcnow()
    context = context or notifications.Context()
    user = viewer.user
    provider = _check_may_post(site, author, user)
    team = memberships.staff(site)
    is_staff = user is not None and user.id in team
    if user is None:
        author = replace(author, name=guest_name(site, author.name, team))
    elif not is_staff:
        _refuse_lookalike(site, user.display_name, team)
    ban = None if is_staff else bans.find_active(site, user_id=user.id if user else None, email_hash=email_hash,
                                                   ip_hash=ip_hash, now=now)
    if ban is not None and site.ban_action == "refuse":
        raise NotAllowed("sorry, the owner of this site has stopped accepting your comments", code="banned")
    thread = find_thread(site, url, thread_id)
    if thread is not None and thread.locked:
        raise NotAllowed("this thread is locked: it takes no new comments", code="thread_locked")
    if thread is not None and thread_is_closed(site, thread, now):
        raise NotAllowed("this thread is closed to new comments", code="thread_closed")
    depth = 1
    root_id = None
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if parent is None or not visible_to(parent, viewer):
            raise InvalidInput(f"there is no comment {parent_id} to reply to", code="unknown_parent")
        if thread is None or parent.thread_id != thread.id:
            raise InvalidInput("the comment replied to belongs to another thread", code="foreign_parent")
        if parent.status != "approved":
            raise InvalidInput("the comment replied to is not open for replies (it is "
                               f"{'deleted' if parent.status == 'deleted' else 'not published'})",
                               code="parent_not_open")
        if parent.kind == "mention":
            # Its author is on another site and would never read the reply; they answer there.
            raise InvalidInput("a mention takes no replies: its author answers on their own site",
                               code="parent_not_open")
        depth = parent.depth + 1
        root_id = parent.root_id
    html = check_body(site, body)
    submission = None if is_staff else _submission(site, body, author, viewer, ban, signals, now)
    verdict = spam.Verdict(spam.PUBLISH, 0.0, []) if submission is None else spam.judge(submission)
    # Everything above only read. From here on, writes: the form token spent, a thread made or retitled, the
    # comment, its jobs.
    end_reading()
    if submission is not None and signals.form_token is not None and \
            not spam.spend_form_token(signals.form_token, now):
        verdict = spam.with_finding(verdict, spam.form_token(replace(submission, form_token_spent=True)))
    published = verdict.action == spam.PUBLISH
    # A comment nobody else sees yet changes nothing they see: it neither makes a thread they can tell is there
    # nor names one. The title it came with waits with it, for a page that has none (see name_page).
    thread = get_or_create_thread(site, url, thread_id, title, found=thread, published=published)
    comment = Comment(
        thread=thread, thread_id=thread.id, parent_id=parent_id, root_id=root_id, depth=depth, body=body, html=html,
        status=STATUS_OF[verdict.action], held_reasons=verdict.reasons or None, verdict=verdict.action,
        spam_score=verdict.score, akismet_sent=signals.akismet_sent, ip_hash=ip_hash, reader_key=viewer.reader_key,
        notify=notify, created_at=now, page_title=None if published or thread.title else title,
    )
    if user is not None:
        comment.user_id = user.id
        comment.author_name, comment.author_email = user.display_name, user.email
        comment.author_website, comment.author_avatar_url = user.profile_url, user.avatar_url
        comment.provider = provider
    else:
        comment.author_name, comment.author_email, comment.author_website = author.name, author.email, author.website
    _insert(comment)
    notifications.comment_posted(comment, notify, context, now, email_verified=bool(user and user.email_verified))
    if comment.status != "spam":
        webhooks.queue(site, "comment.created", comment, now)
    if published:
        bump_thread(thread.id)
    db.session.commit()
    return comment


_COMMENTS = cast(Table, Comment.__table__)
_INSERT_COMMENT = (insert(_COMMENTS)
                   .values({column.key: bindparam(column.key, type_=column.type)
                            for column in _COMMENTS.columns if not column.primary_key})
                   .returning(_COMMENTS.c.id))
_COMMENT_DEFAULTS = fixed_defaults(_COMMENTS)
_SET_OWN_ROOT = update(_COMMENTS).where(_COMMENTS.c.id == bindparam("comment_id")).values(root_id=_COMMENTS.c.id)


def _insert(comment):
    """Write a new comment with one statement built once, and keep it in the session as written.

    The ORM's unit of work would cost a post more than the rest of its writes: it works out the row
    and its defaults on every flush, then flushes again to point a top-level comment's root_id at itself.
    """
    values = {}
    for column in _COMMENTS.columns:
        if column.primary_key:
            continue
        value = getattr(comment, column.key)
        if value is None:
            value = _COMMENT_DEFAULTS.get(column.key)
        # Set even when None: an attribute never set would be read back from the database on first use.
        setattr(comment, column.key, value)
        values[column.key] = value
    comment.id = run_core(_INSERT_COMMENT, values).scalar_one()
    if comment.root_id is None:
        run_core(_SET_OWN_ROOT, {"comment_id": comment.id})
        comment.root_id = comment.id
    # Every attribute now holds what the row holds: the session takes the object as loaded, not as new.
    make_transient_to_detached(comment)
    db.session.add(comment)


def get_comment(comment_id, viewer, authored=False):
    """The comment, if the viewer may know of it (see visible_to); `authored` when the caller proved, with an
    edit token, that they wrote it."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or not (authored or visible_to(comment, viewer)):
        raise no_such_comment(comment_id)
    return comment


def edit_window_open(site, comment, now):
    return now - comment.created_at <= timedelta(minutes=site.edit_window_minutes)


def check_author_may_change(site, comment, token_valid, now, user=None):
    """Raise unless the author (proved by their login or the edit token) may still change this comment."""
    if comment.status == "deleted":
        raise no_such_comment(comment.id)
    logged_in_author = user is not None and comment.user_id == user.id
    if not (logged_in_author or token_valid):
        if user is not None and comment.user_id is not None:
            raise NotAllowed("this comment is not yours", code="not_author")
        raise NotAllowed("the edit token is missing, wrong or expired", code="invalid_edit_token")
    if not edit_window_open(site, comment, now):
        raise NotAllowed(f"comments can only be changed within {site.edit_window_minutes} minutes of posting",
                         code="edit_window_closed")


def edit_comment(site, comment, body, now=None):
    comment.html = check_body(site, body)
    comment.body = body
    comment.edited_at = now or utcnow()
    if comment.status == "approved":
        bump_thread(comment.thread_id)
    db.session.commit()
    return comment


def empty_placeholder(comment):
    """Make a comment that holds replies an empty "deleted" placeholder, in the caller's transaction: it keeps their
    place, and nothing of its author's or of what they wrote (so there is nothing to restore either)."""
    comment.status = "deleted"
    comment.body = comment.html = ""
    comment.author_name = comment.author_email = comment.author_website = None
    comment.author_avatar_url = comment.provider = None
    comment.reader_key = comment.user_id = None
    # What pointed back at the author: the hash of their address, what Akismet was told, their wish for emails.
    comment.ip_hash = comment.akismet_sent = comment.notify = None
    comment.edited_at = None
    db.session.execute(db.delete(Vote).where(Vote.comment_id == comment.id))
    comment.likes = 0


def remove_comment(comment, now=None):
    """Remove a comment in the caller's transaction; one with replies stays as an empty placeholder to keep
    them in place, with nothing of its author's left. Returns "placeholder" or "removed"."""
    thread_id = comment.thread_id
    shown = comment.status == "approved"
    if shown:
        webhooks.queue(comment.thread.site, "comment.deleted", comment, now or utcnow())
    has_replies = db.session.scalar(db.select(Comment.id).where(Comment.parent_id == comment.id).limit(1))
    if has_replies is not None:
        empty_placeholder(comment)
        outcome = "placeholder"
    else:
        parent_id = comment.parent_id
        db.session.delete(comment)
        db.session.flush()
        # A placeholder whose last reply just went has nothing left to hold in place.
        while parent_id is not None:
            parent = db.session.get(Comment, parent_id)
            still_has = db.session.scalar(db.select(Comment.id).where(Comment.parent_id == parent_id).limit(1))
            # A moderator's deletion keeps the body so it can be restored: that one stays.
            if parent is None or parent.status != "deleted" or parent.body or still_has is not None:
                break
            parent_id = parent.parent_id
            db.session.delete(parent)
            db.session.flush()
        outcome = "removed"
    if shown or outcome == "placeholder":
        bump_thread(thread_id)
    return outcome


def delete_comment(comment, now=None):
    """Remove a comment (see remove_comment) in a transaction of its own."""
    remove_comment(comment, now)
    db.session.commit()


def set_like(comment, viewer, liked):
    """Add or remove this reader's one like; returns the comment with its new count."""
    if comment.status != "approved" or comment.kind == "mention":
        raise no_such_comment(comment.id)
    if not viewer.voter:
        raise NotAllowed("a reader identity is needed to like", code="no_reader")
    existing = db.session.scalar(
        db.select(Vote).where(Vote.comment_id == comment.id, Vote.voter == viewer.voter)
    )
    if liked and existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(Vote(comment_id=comment.id, voter=viewer.voter))
        except IntegrityError:
            db.session.commit()  # a concurrent request of the same reader liked it first
            return db.session.get(Comment, comment.id)
        delta = 1
    elif not liked and existing is not None:
        # One statement, counted: two unlikes at once both saw the like, and both took one off the count.
        removed = db.session.execute(delete(Vote).where(Vote.id == existing.id))
        if removed.rowcount != 1:  # type: ignore[attr-defined]
            db.session.commit()
            return db.session.get(Comment, comment.id)
        delta = -1
    else:
        return comment
    db.session.execute(update(Comment).where(Comment.id == comment.id).values(likes=Comment.likes + delta))
    bump_thread(comment.thread_id)
    db.session.commit()
    db.session.refresh(comment)
    return comment


def liked_by(comment, viewer):
    if not viewer.voter:
        return False
    return db.session.scalar(
        db.select(Vote.id).where(Vote.comment_id == comment.id, Vote.voter == viewer.voter)
    ) is not None
