"""Who is told of what by email: readers' subscriptions, their confirmation, and moderators' alerts.

Nothing here sends: it decides, and writes outbox jobs in the caller's transaction. The sender
(widget/worker.py) renders and delivers them later, checking again that each is still wanted.
"""
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, delete, func, or_
from sqlalchemy.exc import IntegrityError

from . import outbox
from .emails import mailbox
from .errors import InvalidInput, NotFound
from .extensions import db, insert_if_new
from .i18n import LANGUAGES
from .models import (
    Comment,
    DashboardAccount,
    Job,
    Mailbox,
    Membership,
    Recipient,
    Site,
    Subscription,
    Thread,
    UsedLink,
    User,
    utcnow,
)
from .tokens import keyed_hash

CONFIRM_SALT = "parley.mail.confirm"
MANAGE_SALT = "parley.mail.manage"
UNSUBSCRIBE_SALT = "parley.mail.unsubscribe"
MODERATE_SALT = "parley.mail.moderate"
CONFIRM_DAYS = 7
MODERATE_DAYS = 3
# One confirmation email per mailbox a day at most, however its address is spelt (victim+1@, victim+2@, …):
# typing a stranger's address into the form must not turn this server into a way to flood them.
CONFIRMATION_INTERVAL = timedelta(hours=24)
DIGEST_LIMIT = 50


# Signed links ---------------------------------------------------------------------------

def _serializer(secret_key, salt):
    return URLSafeTimedSerializer(secret_key, salt=salt)


def confirm_token(secret_key, recipient):
    return _serializer(secret_key, CONFIRM_SALT).dumps({"r": recipient.id, "e": recipient.email})


def manage_token(secret_key, recipient):
    return _serializer(secret_key, MANAGE_SALT).dumps({"r": recipient.id, "e": recipient.email})


def unsubscribe_token(secret_key, subscription):
    return _serializer(secret_key, UNSUBSCRIBE_SALT).dumps(
        {"r": subscription.recipient_id, "s": subscription.id})


def moderate_token(secret_key, comment_id, action, to):
    return _serializer(secret_key, MODERATE_SALT).dumps(
        {"c": comment_id, "a": action, "t": to, "n": secrets.token_hex(16)})


def _load(secret_key, salt, token, max_age=None):
    if not isinstance(token, str) or not token or len(token) > 500:
        raise NotFound("this link is not one this server gave", code="invalid_link")
    try:
        data = _serializer(secret_key, salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise NotFound("this link has expired", code="expired_link") from None
    except BadSignature:
        raise NotFound("this link is not one this server gave", code="invalid_link") from None
    if not isinstance(data, dict):
        raise NotFound("this link is not one this server gave", code="invalid_link")
    return data


def _recipient_of(data):
    recipient = db.session.get(Recipient, data.get("r")) if isinstance(data.get("r"), int) else None
    if recipient is None or ("e" in data and recipient.email != data["e"]):
        raise NotFound("nothing is stored for this address any more", code="unknown_recipient")
    return recipient


# Readers' subscriptions ------------------------------------------------------------------

def _recipient(email, language, now):
    email = email.strip().lower()
    recipient = db.session.scalar(db.select(Recipient).where(Recipient.email == email))
    if recipient is None:
        recipient = Recipient(email=email, language=language if language in LANGUAGES else "en", created_at=now)
        db.session.add(recipient)
        db.session.flush()
    elif language in LANGUAGES:
        recipient.language = language  # the language they read the page in last
    return recipient


def _subscribe(recipient, thread_id, comment_id, kind, now):
    target = f"c:{comment_id}" if kind == "replies" else f"t:{thread_id}"
    existing = db.session.scalar(db.select(Subscription).where(
        Subscription.recipient_id == recipient.id, Subscription.target == target))
    if existing is None:
        db.session.add(Subscription(recipient_id=recipient.id, thread_id=thread_id, comment_id=comment_id,
                                    kind=kind, target=target, created_at=now))


@dataclass(frozen=True)
class Context:
    """What a request knows that a notification needs: the reader's language and this server's address, the
    key that hashes mailboxes, and whether the sender of the request may cause one more confirmation email."""

    base_url: str | None = None
    language: str = "en"
    secret_key: str = ""
    sender_may_confirm: Callable[[], bool] = lambda: True


def _claim_mailbox(key, now):
    """True, and noted, when the mailbox had no confirmation request within CONFIRMATION_INTERVAL.

    One INSERT decides: of two requests at once (on PostgreSQL) the second meets the first's row. Rows older
    than the interval are deleted here, which is all the table ever keeps.
    """
    db.session.execute(delete(Mailbox).where(Mailbox.confirmation_sent_at <= now - CONFIRMATION_INTERVAL))
    return insert_if_new(Mailbox, {"key": key, "confirmation_sent_at": now})


def _may_send_confirmation(recipient, context, now):
    """One confirmation request per address, and per mailbox, a day; and only as many as the sender may cause."""
    if recipient.confirmation_sent_at is not None and now - recipient.confirmation_sent_at <= CONFIRMATION_INTERVAL:
        return False
    # The sender's count first: a request refused for the sender must not use up the mailbox's one.
    return context.sender_may_confirm() and _claim_mailbox(
        keyed_hash(context.secret_key, f"mailbox:{mailbox(recipient.email)}"), now)


def comment_posted(comment, notify, context, now, email_verified=False):
    """In the comment's own transaction: its author's subscription, and who hears of it now or later."""
    site = comment.thread.site
    if notify and comment.author_email and comment.status != "spam":
        recipient = _recipient(comment.author_email, context.language, now)
        _subscribe(recipient, comment.thread_id, comment.id, "replies", now)
        if notify == "all":
            _subscribe(recipient, comment.thread_id, None, "thread", now)
        if recipient.confirmed_at is None:
            if email_verified:
                recipient.confirmed_at = now  # the provider vouched for the address
            elif _may_send_confirmation(recipient, context, now):
                recipient.confirmation_sent_at = now
                outbox.enqueue("email", {"template": "confirm", "recipient_id": recipient.id,
                                         "comment_id": comment.id, "base": context.base_url}, site_id=site.id,
                               now=now)
    if comment.status == "approved":
        comment_published(comment, context.base_url, now)
    elif comment.status == "pending":
        comment_held(comment, context.base_url, now)


def comment_published(comment, base_url, now):
    """A comment readers can now see: its subscribers are told, once, whatever approves it again later."""
    if comment.kind != "comment":
        return
    outbox.enqueue_once("published", {"comment_id": comment.id, "base": base_url}, f"published:{comment.id}",
                        site_id=comment.thread.site_id, now=now)


def comment_held(comment, base_url, now):
    """A comment waits for review: the site's moderators hear of it soon (see fan_out_held), in tomorrow's
    digest, or not at all."""
    site = comment.thread.site
    if site.moderator_alerts == "each":
        outbox.enqueue_once("held", {"comment_id": comment.id, "base": base_url}, f"held:{comment.id}",
                            site_id=site.id, now=now)
    elif site.moderator_alerts == "daily":
        send_at = next_digest_time(now)
        outbox.enqueue_once("digest", {"site_id": site.id, "base": base_url}, f"digest:{site.id}:{send_at:%Y-%m-%d}",
                            site_id=site.id, run_at=send_at, now=now)


def next_digest_time(now, hour=7):
    """The next 07:00 UTC: digests go out once a day, in the morning for Europe and at night for America."""
    today = datetime.combine(now.date(), time(hour))
    return today if today > now else today + timedelta(days=1)


def state_of(email):
    """"active" once the address is confirmed, else "confirm": what the widget tells a reader who asked."""
    confirmed = db.session.scalar(db.select(Recipient.confirmed_at).where(Recipient.email == email.strip().lower()))
    return "active" if confirmed else "confirm"


def recipient_for_confirm(secret_key, token):
    return _recipient_of(_load(secret_key, CONFIRM_SALT, token, CONFIRM_DAYS * 86400))


def confirm(secret_key, token, now=None):
    """Confirm the address a link was sent to; returns its recipient. Confirming twice is harmless."""
    recipient = _recipient_of(_load(secret_key, CONFIRM_SALT, token, CONFIRM_DAYS * 86400))
    if recipient.confirmed_at is None:
        recipient.confirmed_at = now or utcnow()
        db.session.commit()
    return recipient


def recipient_for_manage(secret_key, token):
    return _recipient_of(_load(secret_key, MANAGE_SALT, token))


def subscriptions_of(recipient):
    """The recipient's subscriptions with their pages, newest first."""
    return list(db.session.scalars(
        db.select(Subscription).where(Subscription.recipient_id == recipient.id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())))


def stop(recipient, subscription_id=None):
    """Stop one subscription of the recipient's, or all of them; returns how many stopped."""
    query = db.delete(Subscription).where(Subscription.recipient_id == recipient.id)
    if subscription_id is not None:
        query = query.where(Subscription.id == subscription_id)
    stopped = db.session.execute(query).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    return stopped


def unsubscribe_target(secret_key, token):
    """(recipient, subscription or None if stopped already) an unsubscribe link is for."""
    data = _load(secret_key, UNSUBSCRIBE_SALT, token)
    recipient = _recipient_of(data)
    subscription_id = data.get("s")
    if not isinstance(subscription_id, int):
        raise NotFound("this link is not one this server gave", code="invalid_link")
    subscription = db.session.get(Subscription, subscription_id)
    return recipient, subscription if subscription and subscription.recipient_id == recipient.id else None


def unsubscribe(secret_key, token):
    """The one-click unsubscribe (RFC 8058): stop the subscription the email came from. Idempotent."""
    recipient, subscription = unsubscribe_target(secret_key, token)
    if subscription is not None:
        stop(recipient, subscription.id)
    return recipient


# The sender's side: who receives what ------------------------------------------------------

def fan_out_published(comment_id, base_url, now):
    """One email job per confirmed subscriber of a published comment, never its own author."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status != "approved":
        return "the comment is no longer published"
    author_emails = {e.lower() for e in (comment.author_email,) if e}
    rows = []
    if comment.parent_id is not None:
        rows += [(s, "reply") for s in db.session.scalars(
            db.select(Subscription).where(Subscription.comment_id == comment.parent_id,
                                          Subscription.kind == "replies"))]
    rows += [(s, "thread") for s in db.session.scalars(
        db.select(Subscription).where(Subscription.thread_id == comment.thread_id, Subscription.kind == "thread"))]
    queued = 0
    for subscription, template in rows:  # a reply to you is said as such, even if you follow the page too
        recipient = subscription.recipient
        if recipient.confirmed_at is None or recipient.email in author_emails:
            continue
        queued += outbox.enqueue_once("email", {"template": template, "recipient_id": recipient.id,
                                                "subscription_id": subscription.id, "comment_id": comment.id,
                                                "base": base_url},
                                      f"mail:{comment.id}:{recipient.id}", site_id=comment.thread.site_id, now=now)
    db.session.commit()
    return f"{queued} emails queued"


def moderator_addresses(site):
    """Everyone told of comments waiting on the site: its owners and moderators, and its notification address.

    A site with none of them that has an email (one added from the command line, whose operator takes no
    role on it) tells the server's administrators instead: a held comment must never wait unseen.
    """
    rows = db.session.execute(
        db.select(User.email, DashboardAccount.email)
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(DashboardAccount, DashboardAccount.user_id == User.id)
        .where(Membership.site_id == site.id))
    found = [(account_email or user_email) for user_email, account_email in rows]
    found.append(site.notify_email)
    if not any(found):
        found = administrator_addresses()
    return list(dict.fromkeys(e.strip().lower() for e in found if e))


def administrator_addresses():
    rows = db.session.execute(
        db.select(User.email, DashboardAccount.email).join(DashboardAccount, DashboardAccount.user_id == User.id)
        .where(DashboardAccount.is_admin.is_(True)).order_by(DashboardAccount.id))
    return [account_email or user_email for user_email, account_email in rows]


def alert_recipients(site):
    """Who will hear of the site's next held comment, as the site's page says it: [] when nobody will."""
    return [] if site.moderator_alerts == "off" else moderator_addresses(site)


# Alerts about held comments come one at a time while they are few. A flood (a spam run, a burst of
# Webmentions) must not become a flood of email: the first held comment after a quiet period is told at
# once; those after it in the same period of `every` minutes wait for one summary at the period's end; and
# while each period has more, a summary at each period's end is all. A period is quiet again once its
# summary found nothing new. What moderators were told is kept on each comment (moderators_told_at): a
# summary tells of every waiting comment nobody told them of yet, whenever and wherever it was held, so that
# no comment depends on which of two senders, on two clocks, looked first.
COALESCED = "told in the summary of period "
NOTHING_NEW = "nothing new waits"


def _period(now, every):
    return int(now.replace(tzinfo=UTC).timestamp() // every.total_seconds())  # times are kept as naive UTC


def _summary_key(site, period):
    return f"held-summary:{site.id}:{period}"


def _summary(site, period):
    return db.session.scalar(db.select(Job).where(Job.dedupe_key == _summary_key(site, period)))


def _started(summary):
    """Whether a sender took the summary up already: it may have looked, so it cannot be counted on to tell of
    anything held since. A claim counts an attempt in the same statement that leases the job (outbox.claim),
    so this holds whatever the clocks of the two senders say."""
    return summary is not None and (summary.status != "queued" or summary.attempts > 0)


def _queue_summary(site, period, every, base_url, now):
    """The summary of one period, due at its end; whether this call queued it (it is queued once)."""
    ends = datetime.fromtimestamp((period + 1) * every.total_seconds(), UTC).replace(tzinfo=None)
    return outbox.enqueue_once("digest", {"site_id": site.id, "base": base_url, "period": period,
                                          "minutes": round(every.total_seconds() / 60)},
                               _summary_key(site, period), site_id=site.id, run_at=ends, now=now)


def _mark_told(site, now, comment_id=None):
    """Note that the site's moderators are told, in the caller's transaction, of this comment, or of every
    comment of the site that waits and was not told of yet; the ids noted. One statement decides which: a
    comment held meanwhile is either in it, or left for the next summary."""
    waiting = db.select(Thread.id).where(Thread.site_id == site.id).scalar_subquery()
    query = (db.update(Comment).where(Comment.status == "pending", Comment.moderators_told_at.is_(None),
                                      Comment.thread_id.in_(waiting))
             .values(moderators_told_at=now).returning(Comment.id).execution_options(synchronize_session=False))
    if comment_id is not None:
        query = query.where(Comment.id == comment_id)
    return list(db.session.scalars(query))


def fan_out_held(comment_id, base_url, now, every=timedelta(minutes=15)):
    """Tell the moderators of a held comment at once, or leave it to the summary of its period."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status != "pending":
        return "the comment no longer waits"
    if comment.moderators_told_at is not None:
        return "told already, in a summary"
    site, period = comment.thread.site, _period(now, every)
    current, previous = _summary(site, period), _summary(site, period - 1)
    if current is None and (previous is None or previous.result == NOTHING_NEW):
        # Quiet before: told at once. Queuing the period's summary is the claim, won by one of two senders.
        if _queue_summary(site, period, every, base_url, now):
            if not _mark_told(site, now, comment.id):  # a summary counted it meanwhile
                db.session.commit()
                return "told already, in a summary"
            return _to_moderators(site, {"template": "moderation", "comment_id": comment.id, "base": base_url},
                                  f"held:{comment.id}", now)
        current = _summary(site, period)  # the other sender's claim
    while _started(current):
        # That summary may have looked already: the next one that nobody took up tells of this comment.
        period += 1
        current = _summary(site, period)
    _queue_summary(site, period, every, base_url, now)
    db.session.commit()
    return f"{COALESCED}{period}"


def fan_out_digest(site_id, base_url, now, period=None, minutes=None):
    """The daily digest of what waits; or, given a period, its summary, if anything waits that the moderators
    were not told of yet."""
    site = db.session.get(Site, site_id)
    if site is None:
        return "the site is gone"
    untold = _mark_told(site, now)
    if period is not None and not untold:
        db.session.rollback()
        return NOTHING_NEW
    waiting = waiting_comments(site)
    if not waiting:
        db.session.rollback()
        return NOTHING_NEW if period is not None else "nothing waits"
    total = db.session.scalar(db.select(func.count(Comment.id)).join(Thread, Thread.id == Comment.thread_id)
                              .where(Thread.site_id == site.id, Comment.status == "pending"))
    key = f"summary:{site.id}:{period}" if period is not None else f"digest:{site.id}:{now:%Y-%m-%d}"
    return _to_moderators(site, {"template": "digest", "site_id": site.id, "comment_ids": [c.id for c in waiting],
                                 "total": total, "every_minutes": minutes, "base": base_url}, key, now)


def _to_moderators(site, payload, dedupe_prefix, now):
    """One email job per moderator address of the site, each once however often this runs."""
    queued = 0
    for address in moderator_addresses(site):
        queued += outbox.enqueue_once("email", payload | {"to": address}, f"{dedupe_prefix}:{address}",
                                      site_id=site.id, now=now)
    db.session.commit()
    return f"{queued} emails queued"


def waiting_comments(site, limit=DIGEST_LIMIT):
    return list(db.session.scalars(
        db.select(Comment).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id, Comment.status == "pending")
        .order_by(Comment.created_at, Comment.id).limit(limit)))


# Moderation from an email ------------------------------------------------------------------

@dataclass(frozen=True)
class MailActor:
    """Who acted through a link in an email, for the audit log: the staff account of that address, if any."""

    id: int | None
    display_name: str


def moderation_link(secret_key, token):
    """(comment, action, actor, nonce) of a moderation link that is valid and not used yet."""
    data = _load(secret_key, MODERATE_SALT, token, MODERATE_DAYS * 86400)
    comment = db.session.get(Comment, data.get("c")) if isinstance(data.get("c"), int) else None
    action, nonce, to = data.get("a"), data.get("n"), data.get("t")
    if comment is None or action not in ("approve", "spam") or not isinstance(nonce, str) or not isinstance(to, str):
        raise NotFound("the comment this link was for is gone", code="unknown_comment")
    if to not in moderator_addresses(comment.thread.site):
        raise NotFound("this address no longer moderates the site", code="not_moderator")
    if db.session.scalar(db.select(UsedLink.id).where(UsedLink.nonce == nonce)) is not None:
        raise InvalidInput("this link was already used", code="link_used")
    user = db.session.scalar(
        db.select(User).outerjoin(DashboardAccount, DashboardAccount.user_id == User.id)
        .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.site_id == comment.thread.site_id))
        .where(or_(Membership.id.is_not(None), DashboardAccount.is_admin.is_(True)),
               func.lower(func.coalesce(DashboardAccount.email, User.email)) == to).limit(1))
    actor = MailActor(user.id, user.display_name) if user else MailActor(None, f"{to} (email link)")
    return comment, action, actor, nonce


def use_link(nonce, now=None):
    """Spend a single-use link in the caller's transaction; False when a concurrent request spent it first."""
    try:
        with db.session.begin_nested():
            db.session.add(UsedLink(nonce=nonce, used_at=now or utcnow()))
    except IntegrityError:
        return False
    return True
