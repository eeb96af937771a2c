"""Webhooks: an owner's URLs told of a site's comment events by signed JSON POSTs (Standard Webhooks)."""
import secrets

from . import outbox
from .extensions import db
from .models import Webhook


def comment_data(comment):
    """What a delivery says of a comment: what the public API shows, never the author's email or address."""
    thread = comment.thread
    return {
        "id": comment.id,
        "site": thread.site.public_id,
        "thread": {"url": thread.url, "title": thread.title},
        "parent_id": comment.parent_id,
        "kind": comment.kind,
        "status": comment.status,
        "author": {"name": comment.author_name, "website": comment.author_website},
        "body": comment.body,
        "html": comment.html,
        "source_url": comment.source_url,
        "created_at": comment.created_at.isoformat() + "Z",
        "url": f"{thread.url}#comment-{comment.id}" if thread.url else None,
    }


def queue(site, event, comment, now):
    """A delivery job per webhook of the site that wants the event, in the caller's transaction."""
    hooks = db.session.scalars(db.select(Webhook).where(Webhook.site_id == site.id)).all()
    for hook in hooks:
        if event not in hook.events:
            continue
        message = {"type": event, "timestamp": now.isoformat() + "Z", "data": comment_data(comment)}
        outbox.enqueue("webhook", {"webhook_id": hook.id, "url": hook.url, "event": event,
                                   "message_id": f"msg_{secrets.token_urlsafe(18)}", "message": message},
                       site_id=site.id, now=now)


def deliver(job, allow_private, timeout):
    raise outbox.GiveUp("webhook delivery is not built yet")
