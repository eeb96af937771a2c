"""Webhooks: an owner's URLs told of a site's comment events by signed JSON POSTs (Standard Webhooks)."""
import base64
import hashlib
import hmac
import json
import secrets
import time

from sqlalchemy import bindparam

from . import audit, outbound, outbox
from .errors import InvalidInput
from .extensions import db
from .models import WEBHOOK_EVENTS, Webhook, utcnow
from .urls import is_web_url

SECRET_PREFIX = "whsec_"
MAX_WEBHOOKS = 20
MAX_URL_LENGTH = 2048
# A delivery needs only the receiver's status: the body of its answer is not read (nor decoded) at all.
ANSWER_BYTES = 0
# The message a "Send test event" button delivers; not an event a webhook subscribes to.
TEST_EVENT = "ping"


class WebhookInvalid(InvalidInput):
    """A webhook form was refused: `errors` maps each field ("url", "events", "form") to its reason."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()), code="invalid_webhook")
        self.errors = errors


# The secret -----------------------------------------------------------------------------------------

def new_secret():
    """A signing secret as Standard Webhooks writes it: "whsec_" and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _ensure_secret(site):
    if site.webhook_secret is None:
        site.webhook_secret = new_secret()
    return site.webhook_secret


def rotate_secret(actor, site, now=None):
    """A new signing secret for the site; deliveries, retries included, are signed with it from now on."""
    had_one = site.webhook_secret is not None
    site.webhook_secret = new_secret()
    # The secret itself stays out of the log: the log is no place for a key.
    audit.record(actor, site, "webhook.secret_rotate", "site", site.id, before={"secret": "set" if had_one else None},
                 after={"secret": "new"}, now=now)
    db.session.commit()
    return site.webhook_secret


def sign(secret, message_id, timestamp, body):
    """The webhook-signature header for one attempt: "v1," and base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


# Webhooks of a site --------------------------------------------------------------------------------

# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
_WEBHOOKS_OF_SITE = db.select(Webhook).where(Webhook.site_id == bindparam("site_id")).order_by(Webhook.id)


def webhooks_of(site):
    return list(db.session.scalars(_WEBHOOKS_OF_SITE, {"site_id": site.id}))


def _snapshot(hook):
    return {"url": hook.url, "events": list(hook.events)}


def _check(site, url, events, allow_private):
    errors = {}
    if not url:
        errors["url"] = "give the URL to send events to"
    elif len(url) > MAX_URL_LENGTH:
        errors["url"] = f"the URL is {len(url)} characters long; at most {MAX_URL_LENGTH}"
    elif not is_web_url(url):
        errors["url"] = "not an http or https URL with a host (and no user name or password)"
    else:
        try:
            outbound.check_url(url, allow_private)
        except outbound.Refused as refusal:
            errors["url"] = f"{refusal}: events are not sent there"
    unknown = [event for event in events if event not in WEBHOOK_EVENTS]
    if unknown:
        errors["events"] = f"unknown event {unknown[0][:50]!r}; known: {', '.join(WEBHOOK_EVENTS)}"
    elif not events:
        errors["events"] = "choose at least one event"
    if not errors:
        hooks = webhooks_of(site)
        if any(hook.url == url for hook in hooks):
            errors["url"] = "this URL has a webhook already; remove it first to choose other events"
        elif len(hooks) >= MAX_WEBHOOKS:
            errors["form"] = f"a site has at most {MAX_WEBHOOKS} webhooks; remove one first"
    if errors:
        raise WebhookInvalid(errors)


def add_webhook(actor, site, url, events, allow_private=False, now=None):
    """A new webhook of the site's, once its URL and events are checked; makes the site's secret on first use."""
    _check(site, url, events, allow_private)
    chosen = [event for event in WEBHOOK_EVENTS if event in events]  # known ones, each once, in a fixed order
    hook = Webhook(site_id=site.id, url=url, events=chosen, created_at=now or utcnow())
    db.session.add(hook)
    site.updated_at = now or utcnow()  # posts on every worker look for webhooks again (see queue)
    _ensure_secret(site)
    db.session.flush()
    audit.record(actor, site, "webhook.add", "webhook", hook.id, after=_snapshot(hook), now=now)
    db.session.commit()
    return hook


def remove_webhook(actor, site, hook, now=None):
    """Remove a webhook; deliveries of it still waiting are then not sent."""
    audit.record(actor, site, "webhook.remove", "webhook", hook.id, before=_snapshot(hook), now=now)
    db.session.delete(hook)
    site.updated_at = now or utcnow()
    db.session.commit()


def send_test(actor, site, hook, now=None):
    """Queue a test message to one webhook, so its owner can check their receiver."""
    now = now or utcnow()
    _enqueue(site, hook, TEST_EVENT, {"site": site.public_id, "webhook_id": hook.id}, now)
    audit.record(actor, site, "webhook.test", "webhook", hook.id, now=now)
    db.session.commit()


def deliveries(site, limit=20):
    """The site's latest webhook deliveries, newest first."""
    return outbox.recent(site.id, "webhook", limit)


# Events ---------------------------------------------------------------------------------------------

def comment_data(comment):
    """What a delivery says of a comment: what the public API shows, never the author's email or address."""
    thread = comment.thread
    return {
        "id": comment.id,
        "site": thread.site.public_id,
        # The id is what a CDN purge needs (Surrogate-Key parley-thread-<id>).
        "thread": {"id": thread.id, "url": thread.url, "title": thread.title},
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


def deleted_data(comment):
    """What a delivery says of a deleted comment: which one it was, not its words or author, which were taken back."""
    thread = comment.thread
    return {"id": comment.id, "site": thread.site.public_id,
            "thread": {"id": thread.id, "url": thread.url, "title": thread.title},
            "parent_id": comment.parent_id, "kind": comment.kind, "status": "deleted",
            "created_at": comment.created_at.isoformat() + "Z"}


def _enqueue(site, hook, event, data, now):
    # The message id stays the same on every retry, so the receiver can recognise one it has seen.
    message = {"type": event, "timestamp": now.isoformat() + "Z", "data": data}
    outbox.enqueue("webhook", {"webhook_id": hook.id, "url": hook.url, "event": event,
                               "message_id": f"msg_{secrets.token_urlsafe(18)}", "message": message},
                   site_id=site.id, now=now)


# site id -> its updated_at when it was seen to have no webhook. Most sites have none, and a post need not
# ask again until the site changes: adding or removing a webhook changes it, on every worker and instance.
_NONE_SINCE: dict[int, object] = {}


def queue(site, event, comment, now):
    """A delivery job per webhook of the site that wants the event, in the caller's transaction."""
    if _NONE_SINCE.get(site.id) == site.updated_at:
        return
    every = webhooks_of(site)
    if not every:
        _NONE_SINCE[site.id] = site.updated_at
    hooks = [hook for hook in every if event in hook.events]
    if not hooks:
        return
    data = deleted_data(comment) if event == "comment.deleted" else comment_data(comment)
    for hook in hooks:
        _enqueue(site, hook, event, data, now)


# Delivery -------------------------------------------------------------------------------------------

def deliver(job, allow_private, timeout):
    """POST the job's message to its webhook, signed; the result for the outbox, or Retry / GiveUp / Refused."""
    payload = job.payload
    hook = db.session.get(Webhook, payload["webhook_id"])
    if hook is None or hook.site_id != job.site_id:
        return "not sent: webhook removed"
    if hook.site.webhook_secret is None:
        _ensure_secret(hook.site)
        db.session.commit()  # before anything is signed with it, so that every attempt uses the same one
    body = json.dumps(payload["message"], separators=(",", ":")).encode()
    timestamp = int(time.time())  # of this attempt, so a receiver can refuse old ones replayed
    headers = {"Content-Type": "application/json", "webhook-id": payload["message_id"],
               "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(hook.site.webhook_secret, payload["message_id"], timestamp, body)}
    url = hook.url
    db.session.commit()  # no transaction (nor SQLite's write lock) is held while the receiver answers
    try:
        answer = outbound.request("POST", url, allow_private=allow_private, headers=headers, content=body,
                                  timeout=timeout, max_bytes=ANSWER_BYTES, max_redirects=0, cut=True)
    except outbound.TimedOut as error:
        raise outbox.after_timeout(job, str(error)) from None
    except outbound.Unreachable as error:
        raise outbox.Retry(str(error)) from None
    if 200 <= answer.status < 300:
        return f"HTTP {answer.status}"
    if answer.status == 410:
        raise outbox.GiveUp("HTTP 410: the receiver wants no more deliveries")
    if 300 <= answer.status < 400:
        raise outbox.Retry(f"HTTP {answer.status}: redirects are not followed; give the webhook its final URL")
    raise outbox.Retry(f"HTTP {answer.status}")
