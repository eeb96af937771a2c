"""Moderating comments and threads: status changes one by one or in bulk, pins, edits, and the views of them."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import String, and_, case, cast, func, literal, or_, true
from sqlalchemy.orm import contains_eager

from . import audit, markup, memberships, notifications, spam_filter, webhooks
from .comments import bump_thread, check_body, get_or_create_thread, name_page, thread_is_closed
from .errors import InvalidInput, NotFound
from .extensions import db
from .models import COMMENT_STATUSES, MAX_ID, Comment, Thread, parse_id, utcnow

ACTIONS = ("approve", "spam", "delete", "restore", "pin", "unpin")
ACTION_LABELS = {"approve": "Approve", "spam": "Spam", "delete": "Delete", "restore": "Restore",
                 "pin": "Pin", "unpin": "Unpin"}
MAX_BULK = 200
PAGE_SIZE = 50


def _was_removed_by_author(comment):
    # The author's own deletion keeps an empty placeholder: there is nothing left to restore or show.
    return comment.status == "deleted" and not comment.body


def allowed_actions(comment):
    """The actions that make sense for the comment as it is now, in the order the dashboard shows them."""
    if _was_removed_by_author(comment):
        return []
    found = {
        "pending": ["approve", "spam", "delete"],
        "approved": ["spam", "delete"],
        "spam": ["approve", "delete"],
        "deleted": ["restore"],
    }[comment.status]
    if comment.status == "approved" and comment.parent_id is None:
        found.insert(0, "unpin" if comment.pinned else "pin")
    return found


def snapshot(comment):
    return {"status": comment.status, "pinned": comment.pinned}


def _change(comment, action, base_url, now):
    if action == "approve":
        comment.status = "approved"
        # Each decision teaches the site's spam filter (and replaces an earlier lesson on the comment).
        spam_filter.teach(comment.thread.site, comment, "ham")
        notifications.comment_published(comment, base_url, now)
        webhooks.queue(comment.thread.site, "comment.approved", comment, now)
    elif action == "spam":
        comment.status = "spam"
        comment.pinned = False
        spam_filter.teach(comment.thread.site, comment, "spam")
    elif action == "delete":
        if comment.status == "approved":
            webhooks.queue(comment.thread.site, "comment.deleted", comment, now)
        # Kept with its body so it can be restored; the API shows it at most as an empty placeholder.
        comment.status = "deleted"
        comment.html = ""
        comment.pinned = False
    elif action == "restore":
        comment.status = "approved"
        # A mention's body is its source's title, plain text: shown as the link it came as, never as Markdown.
        comment.html = (markup.link(comment.source_url, comment.body) if comment.kind == "mention"
                        else markup.render(comment.body))
    elif action == "pin":
        comment.pinned = True
    elif action == "unpin":
        comment.pinned = False
    name_page(comment)  # published now, it may name its page with the title it came with


def _check_action(action):
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; one of {', '.join(ACTIONS)}", code="invalid_action")


def apply(actor, site, comment, action, now=None, base_url=None):
    """One action on one comment of the site, logged; raises if it does not apply to the comment.

    `base_url` is this server's address, for the links in the emails an approval sends."""
    now = now or utcnow()
    _check_action(action)
    if comment.thread.site_id != site.id:
        raise NotFound(f"there is no comment {comment.id}", code="unknown_comment")
    if action not in allowed_actions(comment):
        state = "removed by its author" if _was_removed_by_author(comment) else comment.status
        if action in ("pin", "unpin") and comment.parent_id is not None:
            raise InvalidInput("only top-level comments can be pinned", code="not_pinnable")
        raise InvalidInput(f"cannot {action} a comment that is {state}", code="action_not_allowed")
    before = snapshot(comment)
    was_shown = comment.status == "approved"
    _change(comment, action, base_url, now)
    audit.record(actor, site, f"comment.{action}", "comment", comment.id, before=before, after=snapshot(comment),
                 now=now)
    if was_shown or comment.status == "approved":
        bump_thread(comment.thread_id)
    db.session.commit()
    return comment


def bulk(actor, site, comment_ids, action, now=None, base_url=None):
    """The action on every listed comment of the site where it applies, in one transaction.

    Returns (changed, skipped): ids of other sites are skipped as if they did not exist.
    """
    _check_action(action)
    now = now or utcnow()
    ids = sorted({int(i) for i in comment_ids if 0 < int(i) <= MAX_ID})
    if not ids:
        raise InvalidInput("select at least one comment", code="nothing_selected")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} comments at once", code="too_many")
    found = list(db.session.scalars(
        db.select(Comment).join(Thread, Thread.id == Comment.thread_id)
        .where(Comment.id.in_(ids), Thread.site_id == site.id)))
    changed, threads = [], set()
    for comment in found:
        if action not in allowed_actions(comment):
            continue
        before = snapshot(comment)
        was_shown = comment.status == "approved"
        _change(comment, action, base_url, now)
        audit.record(actor, site, f"comment.{action}", "comment", comment.id, before=before,
                     after=snapshot(comment), now=now)
        changed.append(comment.id)
        if was_shown or comment.status == "approved":  # what readers see changed (see bump_thread)
            threads.add(comment.thread_id)
    for thread_id in sorted(threads):
        bump_thread(thread_id)
    db.session.commit()
    return changed, len(ids) - len(changed)


def akismet_record(site, comment_ids):
    """{id: (status, what Akismet was told)} of the site's listed comments, before a bulk action changes them."""
    ids = [i for i in comment_ids if 0 < i <= MAX_ID][:MAX_BULK]
    rows = db.session.execute(
        db.select(Comment.id, Comment.status, Comment.akismet_sent).join(Thread, Thread.id == Comment.thread_id)
        .where(Comment.id.in_(ids), Thread.site_id == site.id))
    return {comment_id: (status, sent) for comment_id, status, sent in rows}


def edit(actor, site, comment, body, now=None):
    """A moderator's change of the body: same limits as the author's, marked as a moderator edit."""
    if comment.thread.site_id != site.id:
        raise NotFound(f"there is no comment {comment.id}", code="unknown_comment")
    if comment.status == "deleted":
        raise InvalidInput("a deleted comment cannot be edited; restore it first", code="action_not_allowed")
    if comment.kind == "mention":
        raise InvalidInput("a mention shows its source's own title, refreshed when it is sent again: it cannot be "
                           "edited", code="action_not_allowed")
    if not isinstance(body, str):
        raise InvalidInput("the comment is empty", code="empty_body")
    body = body.replace("\r\n", "\n")
    html = check_body(site, body)
    before = {"body": comment.body}
    comment.body, comment.html = body, html
    comment.edited_at = now or utcnow()
    comment.edited_by_moderator = True
    audit.record(actor, site, "comment.edit", "comment", comment.id, before=before, after={"body": body}, now=now)
    if comment.status == "approved":
        bump_thread(comment.thread_id)
    db.session.commit()
    return comment


def lock_page(actor, site, locked, url=None, thread_id=None, now=None):
    """Lock or unlock a page's thread by its URL or thread id (made empty if the page has none yet)."""
    return set_locked(actor, site, get_or_create_thread(site, url, thread_id, None), locked, now=now)


def set_locked(actor, site, thread, locked, now=None):
    if thread.site_id != site.id:
        raise NotFound("there is no such thread", code="unknown_thread")
    before = {"locked": thread.locked}
    thread.locked = bool(locked)
    audit.record(actor, site, "thread.lock" if locked else "thread.unlock", "thread", thread.id,
                 before=before, after={"locked": thread.locked}, now=now)
    bump_thread(thread.id)
    db.session.commit()
    return thread


def set_author(actor, site, thread, user_id, now=None):
    """Name who wrote the page (one of the site's staff, or nobody): their comments there say "Post author"."""
    if thread.site_id != site.id:
        raise NotFound("there is no such thread", code="unknown_thread")
    team = memberships.staff(site)
    if user_id is not None and user_id not in team:
        raise InvalidInput("the post's author is one of the site's owners or moderators", code="invalid_author")
    before = {"author": team.get(thread.author_id, (None, None))[1]}
    thread.author_id = user_id
    audit.record(actor, site, "thread.author", "thread", thread.id, before=before,
                 after={"author": team.get(user_id, (None, None))[1]}, now=now)
    bump_thread(thread.id)
    db.session.commit()
    return thread


def reply(actor, site, comment, body, now=None):
    """A reply from the dashboard, as the moderator themselves: published at once, with their badge."""
    if comment.thread.site_id != site.id:
        raise NotFound(f"there is no comment {comment.id}", code="unknown_comment")
    if comment.status != "approved":
        raise InvalidInput("only a published comment can be replied to; approve it first", code="parent_not_open")
    if comment.kind == "mention":
        raise InvalidInput("a mention takes no replies: its author answers on their own site", code="parent_not_open")
    if not isinstance(body, str):
        raise InvalidInput("the comment is empty", code="empty_body")
    body = body.replace("\r\n", "\n")
    now = now or utcnow()
    created = Comment(thread_id=comment.thread_id, parent_id=comment.id, root_id=comment.root_id,
                      depth=comment.depth + 1, body=body, html=check_body(site, body), status="approved",
                      user_id=actor.id, author_name=actor.display_name, author_email=actor.email,
                      author_website=actor.profile_url, author_avatar_url=actor.avatar_url, created_at=now)
    db.session.add(created)
    db.session.flush()
    audit.record(actor, site, "comment.reply", "comment", created.id, after={"in_reply_to": comment.id, "body": body},
                 now=now)
    bump_thread(comment.thread_id)
    db.session.commit()
    return created


# Reading for the dashboard --------------------------------------------------------------------

def get_comment(site, comment_id):
    """A comment of this site, or NotFound (also for another site's comment)."""
    comment = db.session.get(Comment, comment_id) if isinstance(comment_id, int) and comment_id <= MAX_ID else None
    if comment is None or comment.thread.site_id != site.id:
        raise NotFound(f"there is no comment {comment_id}", code="unknown_comment")
    return comment


def get_thread(site, thread_id):
    thread = db.session.get(Thread, thread_id) if isinstance(thread_id, int) and thread_id <= MAX_ID else None
    if thread is None or thread.site_id != site.id:
        raise NotFound(f"there is no thread {thread_id}", code="unknown_thread")
    return thread


def _site_comments(site):
    return (db.select(Comment).join(Comment.thread).options(contains_eager(Comment.thread))
            .where(Thread.site_id == site.id))


def pending_count(site):
    return db.session.scalar(db.select(func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
                             .where(Thread.site_id == site.id, Comment.status == "pending"))


def queue(site, offset=0, limit=PAGE_SIZE):
    """Pending comments, newest first, with their threads; and how many there are in all."""
    rows = list(db.session.scalars(
        _site_comments(site).where(Comment.status == "pending")
        .order_by(Comment.created_at.desc(), Comment.id.desc()).offset(offset).limit(limit)))
    return rows, pending_count(site)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    page: str | None = None
    author: str | None = None
    text: str | None = None
    thread_id: int | None = None

    @classmethod
    def parse(cls, args):
        def clean(name, limit=200):
            value = (args.get(name) or "").strip()
            if len(value) > limit:
                raise InvalidInput(f"the {name} filter is at most {limit} characters", code="invalid_filter")
            return value or None

        status = clean("status")
        if status is not None and status not in COMMENT_STATUSES:
            raise InvalidInput(f"status is one of {', '.join(COMMENT_STATUSES)}", code="invalid_filter")
        thread = clean("thread", 12)
        thread_id = parse_id(thread)
        if thread is not None and thread_id is None:
            raise InvalidInput("thread is a thread number", code="invalid_filter")
        return cls(status, clean("page"), clean("author"), clean("q"), thread_id)

    def active(self):
        return any([self.status, self.page, self.author, self.text, self.thread_id])


def search(site, filters, offset=0, limit=PAGE_SIZE):
    """Comments of the site matching the filters, newest first, and the number matching."""
    query = _site_comments(site)
    if filters.status:
        query = query.where(Comment.status == filters.status)
    if filters.thread_id:
        query = query.where(Comment.thread_id == filters.thread_id)
    if filters.page:
        query = query.where(or_(Thread.url.icontains(filters.page, autoescape=True),
                                Thread.title.icontains(filters.page, autoescape=True)))
    if filters.author:
        query = query.where(or_(Comment.author_name.icontains(filters.author, autoescape=True),
                                Comment.author_email.icontains(filters.author, autoescape=True)))
    if filters.text:
        query = query.where(Comment.body.icontains(filters.text, autoescape=True))
    total = db.session.scalar(db.select(func.count()).select_from(query.with_only_columns(Comment.id).subquery()))
    rows = list(db.session.scalars(query.order_by(Comment.created_at.desc(), Comment.id.desc())
                                   .offset(offset).limit(limit)))
    return rows, total


def same_author(comment):
    """The condition matching every comment by this comment's author: their login, else their email."""
    if comment.user_id is not None:
        return Comment.user_id == comment.user_id
    if comment.author_email:
        return and_(Comment.user_id.is_(None), func.lower(Comment.author_email) == comment.author_email.lower())
    return Comment.id == comment.id


def author_history(site, comment, limit=200):
    """The author's comments on the site, newest first, and their counts by status."""
    condition = same_author(comment)
    rows = list(db.session.scalars(_site_comments(site).where(condition)
                                   .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)))
    counts = dict(db.session.execute(
        db.select(Comment.status, func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id, condition).group_by(Comment.status)).all())
    return rows, {status: counts.get(status, 0) for status in COMMENT_STATUSES}


def authors(site, search_text=None, limit=100):
    """Recent authors of the site: [(latest comment id, name, email or None, provider, count, last at)]."""
    # One row per author: their login, else their email (the `||` operator on SQLite and PostgreSQL alike).
    key = case((Comment.user_id.is_not(None), literal("u", String) + cast(Comment.user_id, String)),
               else_=literal("e", String) + func.lower(func.coalesce(Comment.author_email, "")))
    query = (db.select(func.max(Comment.id), func.count(Comment.id), func.max(Comment.created_at))
             .join(Thread, Thread.id == Comment.thread_id)
             .where(Thread.site_id == site.id, Comment.author_name.is_not(None)))
    if search_text:
        query = query.where(or_(Comment.author_name.icontains(search_text, autoescape=True),
                                Comment.author_email.icontains(search_text, autoescape=True)))
    rows = db.session.execute(query.group_by(key).order_by(func.max(Comment.created_at).desc()).limit(limit)).all()
    latest = {c.id: c for c in db.session.scalars(db.select(Comment).where(Comment.id.in_([r[0] for r in rows])))}
    return [(latest[r[0]], r[1], r[2]) for r in rows if r[0] in latest]


@dataclass
class ThreadRow:
    thread: Thread
    approved: int
    pending: int
    total: int
    last_activity: datetime | None
    closed: bool


def threads(site, now=None, offset=0, limit=PAGE_SIZE):
    """Threads of the site with their counts, most recently active first; and how many there are."""
    now = now or utcnow()
    last = func.max(Comment.created_at)
    rows = db.session.execute(
        db.select(Thread,
                  func.coalesce(func.sum(case((Comment.status == "approved", 1), else_=0)), 0),
                  func.coalesce(func.sum(case((Comment.status == "pending", 1), else_=0)), 0),
                  func.count(Comment.id), last)
        .outerjoin(Comment, Comment.thread_id == Thread.id)
        .where(Thread.site_id == site.id)
        .group_by(Thread.id)
        .order_by(func.coalesce(last, Thread.created_at).desc(), Thread.id.desc())
        .offset(offset).limit(limit)).all()
    total = db.session.scalar(db.select(func.count(Thread.id)).where(Thread.site_id == site.id))
    return [ThreadRow(t, int(a), int(p), int(n), at, thread_is_closed(site, t, now)) for t, a, p, n, at in rows], total


def totals_by_status(site):
    counts = dict(db.session.execute(
        db.select(Comment.status, func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id).group_by(Comment.status)).all())
    return {status: counts.get(status, 0) for status in COMMENT_STATUSES}


def comments_per_day(site, days=30, now=None, verdict=None):
    """[(date, count)] of comments received on each of the last `days` days (UTC), oldest first.

    With `verdict` ("spam", say), only the comments the spam pipeline gave that verdict on arrival.
    """
    today = (now or utcnow()).date()
    first = today - timedelta(days=days - 1)
    day = func.date(Comment.created_at)
    rows = db.session.execute(
        db.select(day, func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id, Comment.created_at >= datetime.combine(first, datetime.min.time()),
               Comment.verdict == verdict if verdict else true())
        .group_by(day)).all()
    # SQLite gives the day as text, PostgreSQL as a date.
    counts = {(value if isinstance(value, date) else date.fromisoformat(str(value))): n for value, n in rows}
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)]
