"""Everything a site has, as Parley's export: JSON Lines, written as it is read (docs/export.schema.json).

The first line describes the export and the site; then each thread, followed by its comments (oldest
first); then the subscriptions. Nothing secret leaves: no Akismet key, no webhook secret, no tokens,
no addresses or their hashes, and no likes but their number.
"""
import json
from collections.abc import Callable, Iterator
from typing import cast

from sqlalchemy import Table, and_, func

from .extensions import db
from .models import Comment, Recipient, Subscription, Thread, utcnow

FORMAT = "parley-export"
VERSION = 1
# The site's settings that travel; the Akismet key, the webhook secret and the spam filter's counts do not.
SITE_SETTINGS = ("guests_allowed", "providers", "moderation", "edit_window_minutes", "max_depth", "close_after_days",
                 "max_body_length", "max_links", "notify_email", "privacy_url", "ban_action", "reserved_names",
                 "comments_per_hour", "blocked_words", "blocked_emails", "blocked_domains", "blocked_networks",
                 "moderator_alerts")
STREAM = {"yield_per": 500}
COMMENTS = cast(Table, Comment.__table__)
THREADS = cast(Table, Thread.__table__)


def iso(moment):
    return moment.isoformat(timespec="microseconds") + "Z" if moment else None


def _line(record):
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def count_comments(site):
    return db.session.scalar(db.select(func.count(COMMENTS.c.id)).join(THREADS, THREADS.c.id == COMMENTS.c.thread_id)
                             .where(THREADS.c.site_id == site.id)) or 0


def export_lines(site, progress: Callable[[int], None] | None = None, now=None) -> Iterator[str]:
    """The export of `site`, a line at a time; `progress(comments written)` is called now and then."""
    yield _line({
        "format": FORMAT, "version": VERSION, "exported_at": iso(now or utcnow()),
        "site": {"id": site.public_id, "name": site.name, "origins": list(site.origins or []),
                 "created_at": iso(site.created_at)} | {key: getattr(site, key) for key in SITE_SETTINGS},
    })
    # One streamed query: threads in order, each with its comments (none for an empty thread).
    c, t = COMMENTS.c, THREADS.c
    rows = db.session.execute(
        db.select(t.id.label("t_id"), t.key.label("t_key"), t.url.label("t_url"), t.title.label("t_title"),
                  t.locked.label("t_locked"), t.created_at.label("t_created_at"), c.id, c.parent_id, c.status, c.kind,
                  c.body, c.html, c.author_name, c.author_email, c.author_website, c.source_url, c.created_at,
                  c.edited_at, c.likes, c.pinned)
        .select_from(THREADS).outerjoin(COMMENTS, c.thread_id == t.id)
        .where(t.site_id == site.id)
        .order_by(t.id, c.created_at, c.id)
        .execution_options(**STREAM))
    current, written = None, 0
    for row in rows:
        if row.t_id != current:
            current = row.t_id
            yield _line({"type": "thread", "id": row.t_id, "key": row.t_key, "url": row.t_url, "title": row.t_title,
                         "locked": row.t_locked, "created_at": iso(row.t_created_at)})
        if row.id is None:
            continue
        yield _line({
            "type": "comment", "id": row.id, "thread": row.t_id, "parent": row.parent_id, "status": row.status,
            "kind": row.kind, "body": row.body, "html": row.html, "author_name": row.author_name,
            "author_email": row.author_email, "author_website": row.author_website, "source_url": row.source_url,
            "created_at": iso(row.created_at), "edited_at": iso(row.edited_at), "likes": row.likes,
            "pinned": row.pinned,
        })
        written += 1
        if progress and written % 500 == 0:
            progress(written)
    subscriptions = db.session.execute(
        db.select(Recipient.email, Recipient.confirmed_at, Subscription.kind, Subscription.thread_id,
                  Subscription.comment_id, Subscription.created_at)
        .join(Recipient, Recipient.id == Subscription.recipient_id)
        .join(Thread, and_(Thread.id == Subscription.thread_id, Thread.site_id == site.id))
        .order_by(Subscription.id).execution_options(**STREAM))
    for email, confirmed_at, kind, thread_id, comment_id, created_at in subscriptions:
        yield _line({"type": "subscription", "email": email, "kind": kind, "thread": thread_id, "comment": comment_id,
                     "confirmed": confirmed_at is not None, "created_at": iso(created_at)})
    if progress:
        progress(written)
