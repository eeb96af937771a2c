"""Readers' privacy rights: everything stored about one reader as JSON, and its erasure or anonymisation.

A reader is named by an email address, by their account (a provider login), or both. An address finds
the comments posted with it as a guest, and the notifications sent to it; it never finds an account,
since accounts are never tied to an email address (anyone can type one). An account finds what it did
while logged in, and its notifications when the provider vouched for its address.
"""
import copy
from collections import Counter, defaultdict

from sqlalchemy import and_, case, func, or_, update
from sqlalchemy.orm import joinedload

from . import audit, bans
from .comments import bump_thread, remove_comment
from .errors import InvalidInput, NotAllowed, NotFound
from .extensions import db
from .models import (
    MAX_ID,
    AuditEntry,
    AuthToken,
    Ban,
    Comment,
    DashboardAccount,
    Identity,
    Job,
    LoginCode,
    Membership,
    Recipient,
    Site,
    Subscription,
    Thread,
    User,
    Vote,
    utcnow,
)
from .staff import normalise_email

FORMAT = "parley-reader-data"
VERSION = 1
MODES = ("erase", "anonymise")
# The name an anonymised comment shows when the caller gives none in the reader's language.
ANONYMOUS = "Anonymous"
# What an erasure leaves where a copy of an erased comment's text was kept (a moderator's edit in the audit log).
ERASED = "[erased]"
NOTES = [
    "IP addresses are never stored. A comment keeps a keyed hash of the address it was sent from "
    "(ip_address says where), for bans; the hash cannot be turned back into the address.",
    "Likes given without logging in are stored under an anonymous token of the browser that gave them, "
    "not under a name or an email address, so they cannot be found from an address.",
    "sent_to_akismet is what was sent to Akismet's spam check on sites that use it, as it was sent "
    "(the IP address at the time included), kept so that a moderator's correction can be reported to it.",
    "Each site's spam filter counts the words it has seen across many comments; those counts name nobody.",
]


def _iso(moment):
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def find_user(user_id):
    """The reader account with this id, or NotFound."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound(f"there is no reader account {user_id}", code="unknown_reader")
    return user


def _who(email, user):
    if email is None and user is None:
        raise InvalidInput("name the reader by an email address, an account, or both", code="missing_reader")
    return (normalise_email(email) if email is not None else None), user


def _comments(email, user):
    """Their comments, oldest first: written while logged in to the account, or as a guest with the address."""
    matches = []
    if user is not None:
        matches.append(Comment.user_id == user.id)
    if email is not None:
        matches.append(and_(Comment.user_id.is_(None), func.lower(func.trim(Comment.author_email)) == email))
    return list(db.session.scalars(
        db.select(Comment).options(joinedload(Comment.thread).joinedload(Thread.site))
        .where(or_(*matches)).order_by(Comment.created_at, Comment.id)).unique())


def _addresses(email, user):
    """Their notification addresses: the one given, and the account's where its provider vouched for it."""
    found = {email} if email else set()
    if user is not None and user.email and user.email_verified:
        found.add(user.email.strip().lower())
    return found


def _recipients(addresses):
    if not addresses:
        return []
    return list(db.session.scalars(db.select(Recipient).where(Recipient.email.in_(addresses)).order_by(Recipient.id)))


def _subscriptions(recipients, comment_ids):
    """Their subscriptions: the addresses', and any wish to hear of replies to their comments."""
    matches = []
    if recipients:
        matches.append(Subscription.recipient_id.in_([r.id for r in recipients]))
    if comment_ids:
        matches.append(Subscription.comment_id.in_(comment_ids))
    if not matches:
        return []
    return list(db.session.scalars(
        db.select(Subscription).options(joinedload(Subscription.thread).joinedload(Thread.site),
                                        joinedload(Subscription.recipient))
        .where(or_(*matches)).order_by(Subscription.created_at, Subscription.id)).unique())


def _voter(user):
    return f"u:{user.id}"


def _likes(user):
    """[(vote, comment, thread, site)] of the likes the account gave."""
    if user is None:
        return []
    return list(db.session.execute(
        db.select(Vote, Comment, Thread, Site).join(Comment, Comment.id == Vote.comment_id)
        .join(Thread, Thread.id == Comment.thread_id).join(Site, Site.id == Thread.site_id)
        .where(Vote.voter == _voter(user)).order_by(Vote.created_at, Vote.id)).all())


def _bans(email, user, secret_key):
    matches = []
    if user is not None:
        matches.append(and_(Ban.kind == "user", Ban.user_id == user.id))
    if email is not None and secret_key:
        matches.append(and_(Ban.kind == "email", Ban.value_hash == bans.email_hash(secret_key, email)))
    if not matches:
        return []
    return list(db.session.execute(
        db.select(Ban, Site).join(Site, Site.id == Ban.site_id).where(or_(*matches)).order_by(Ban.id)).all())


def refuse_staff(user):
    """Raise unless the account is a reader's only: staff accounts (dashboard, roles) are not erased as readers."""
    staff = db.session.scalar(db.select(DashboardAccount.id).where(DashboardAccount.user_id == user.id)) is not None \
        or db.session.scalar(db.select(Membership.id).where(Membership.user_id == user.id).limit(1)) is not None
    if staff:
        raise NotAllowed(f"account {user.id} also opens the dashboard (an administrator, owner or moderator): "
                         "staff accounts are not erased as readers; remove its dashboard access first",
                         code="reader_is_staff")


# Export ---------------------------------------------------------------------------------------

def _account_json(user):
    identity = user.identity
    return {
        "id": user.id,
        "display_name": user.display_name,
        "email": user.email,
        "email_verified": user.email_verified,
        "avatar_url": user.avatar_url,
        "profile_url": user.profile_url,
        "provider": identity.provider if identity else None,
        "identity": {"realm": identity.realm, "subject": identity.subject} if identity else None,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
    }


def _comment_json(comment):
    thread = comment.thread
    return {
        "id": comment.id,
        "site": thread.site.public_id,
        "site_name": thread.site.name,
        "page_url": thread.url,
        "page_title": thread.title or comment.page_title,
        "parent_id": comment.parent_id,
        "kind": comment.kind,
        "status": comment.status,
        "body": comment.body,
        "author_name": comment.author_name,
        "author_email": comment.author_email,
        "author_website": comment.author_website,
        "avatar_url": comment.author_avatar_url,
        "logged_in": comment.user_id is not None,
        "created_at": _iso(comment.created_at),
        "edited_at": _iso(comment.edited_at),
        "likes": comment.likes,
        "notify": comment.notify,
        "held_reasons": comment.held_reasons,
        "ip_address": "kept only as a keyed hash" if comment.ip_hash else None,
        "sent_to_akismet": comment.akismet_sent,
    }


def _subscription_json(subscription):
    thread = subscription.thread
    return {
        "email": subscription.recipient.email,
        "site": thread.site.public_id,
        "page_url": thread.url,
        "page_title": thread.title,
        "kind": subscription.kind,
        "comment_id": subscription.comment_id,
        "confirmed": subscription.recipient.confirmed_at is not None,
        "created_at": _iso(subscription.created_at),
    }


def reader_data(email=None, user=None, *, secret_key=None, now=None):
    """Everything stored about one reader, as a JSON-able dict (format FORMAT, version VERSION).

    `secret_key` lets it find the bans of the address (stored as keyed hashes only).
    """
    email, user = _who(email, user)
    comments = _comments(email, user)
    recipients = _recipients(_addresses(email, user))
    others = []
    if email is not None:
        # Accounts whose provider gave this address: not theirs by the address alone, but named so that an
        # administrator who knows they are can export them by account too.
        others = list(db.session.scalars(
            db.select(User.id).where(func.lower(User.email) == email, User.id != (user.id if user else 0))
            .order_by(User.id)))
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": _iso(now or utcnow()),
        "reader": {"email": email, "account_id": user.id if user else None},
        "account": _account_json(user) if user is not None else None,
        "comments": [_comment_json(c) for c in comments],
        "likes_given": [
            {"comment_id": c.id, "site": s.public_id, "page_url": t.url, "created_at": _iso(v.created_at)}
            for v, c, t, s in _likes(user)],
        "notification_addresses": [
            {"email": r.email, "language": r.language, "confirmed_at": _iso(r.confirmed_at),
             "created_at": _iso(r.created_at)} for r in recipients],
        "subscriptions": [_subscription_json(s) for s in _subscriptions(recipients, [c.id for c in comments])],
        "bans": [
            {"site": s.public_id, "kind": b.kind, "reason": b.reason, "label": b.label,
             "created_at": _iso(b.created_at), "expires_at": _iso(b.expires_at), "lifted_at": _iso(b.lifted_at)}
            for b, s in _bans(email, user, secret_key)],
        "accounts_with_this_email": others,
        "notes": NOTES,
    }


def recent_erasures(limit=20):
    """The server-wide audit entries of erasures, newest first."""
    return list(db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.site_id.is_(None), AuditEntry.action.in_([f"reader.{m}" for m in MODES]))
        .order_by(AuditEntry.id.desc()).limit(limit)))


def is_empty(data):
    """True when the export found nothing stored about the reader."""
    return not any(data[key] for key in ("account", "comments", "likes_given", "notification_addresses",
                                         "subscriptions", "bans"))


def per_site(data):
    """{site public id: {"comments", "likes", "subscriptions"}} of an export."""
    sections = {"comments": "comments", "likes": "likes_given", "subscriptions": "subscriptions"}
    sites = sorted({row["site"] for section in sections.values() for row in data[section]})
    return {site: {name: sum(row["site"] == site for row in data[section]) for name, section in sections.items()}
            for site in sites}


# Erasure --------------------------------------------------------------------------------------

def _scrub_webhook_copies(comment_ids, mode, anonymous_name):
    """Webhook deliveries carry a copy of the comment: take their author out (and in an erasure, the text)."""
    if not comment_ids:
        return
    jobs = db.session.scalars(db.select(Job).where(
        Job.kind == "webhook", Job.payload[("message", "data", "id")].as_integer().in_(comment_ids)))
    for job in jobs:
        payload = copy.deepcopy(job.payload)
        data = payload["message"]["data"]
        data["author"] = {"name": None if mode == "erase" else anonymous_name, "website": None}
        if mode == "erase":
            data["body"] = data["html"] = ""
        job.payload = payload  # a new value: the JSON column does not see changes made inside the old one


def _scrub_audit_copies(comment_ids):
    """A moderator's edit logged the text before and after: an erasure takes both out of the log."""
    if not comment_ids:
        return
    for entry in db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.target_type == "comment", AuditEntry.target_id.in_(comment_ids))):
        for side in ("before", "after"):
            value = getattr(entry, side)
            if isinstance(value, dict) and "body" in value:
                setattr(entry, side, {**value, "body": ERASED})


def _remove_likes(user, counts, threads):
    found = _likes(user)
    per_comment = Counter(c.id for _, c, _, _ in found)
    for _, _, thread, site in found:
        counts[site]["likes"] += 1
        threads.add(thread.id)
    if found:
        db.session.execute(db.delete(Vote).where(Vote.voter == _voter(user)))
    for comment_id, n in per_comment.items():
        db.session.execute(update(Comment).where(Comment.id == comment_id)
                           .values(likes=case((Comment.likes >= n, Comment.likes - n), else_=0)))
    return len(found)


def _remove_email_jobs(recipients, addresses):
    """Emails to them, waiting or sent: the job rows keep whom they were for."""
    matches = [func.lower(Job.payload["to"].as_string()).in_(addresses)] if addresses else []
    if recipients:
        matches.append(Job.payload["recipient_id"].as_integer().in_([r.id for r in recipients]))
    if not matches:
        return 0
    ids = list(db.session.scalars(db.select(Job.id).where(Job.kind == "email", or_(*matches))))
    if ids:
        db.session.execute(db.delete(Job).where(Job.id.in_(ids)))
    return len(ids)


def _scrub(comment):
    """Everything in a comment that names or points at its author (not its text)."""
    comment.author_name = comment.author_email = comment.author_website = None
    comment.author_avatar_url = comment.provider = None
    comment.user_id = comment.reader_key = comment.ip_hash = None
    comment.akismet_sent = comment.notify = None


def _remove_account(user):
    for model in (Identity, AuthToken, LoginCode):
        db.session.execute(db.delete(model).where(model.user_id == user.id))
    # Bans of the account go with it (their rows cascade): nobody can log in as it any more.
    db.session.execute(db.delete(User).where(User.id == user.id))


def erase_reader(email=None, user=None, mode="erase", actor=None, *, actor_name=None, anonymous_name=ANONYMOUS,
                 now=None):
    """Erase (or anonymise) everything stored about one reader, in one transaction; returns the counts.

    "erase" removes their comments (one that others replied to stays as an empty "deleted" placeholder);
    "anonymise" keeps the text and removes who wrote it, showing `anonymous_name`. Both remove their likes,
    subscriptions, notification addresses, emails to them and their account. The audit log gets one entry
    per site touched and one for the server, with counts only: nothing of what was erased.
    `actor` is the administrator (None for the command line, or `actor_name` such as the reader themselves).
    """
    if mode not in MODES:
        raise InvalidInput(f"mode is one of {', '.join(MODES)}", code="invalid_mode")
    email, user = _who(email, user)
    if user is not None:
        refuse_staff(user)
    now = now or utcnow()
    comments = _comments(email, user)
    ids = [c.id for c in comments]
    addresses = _addresses(email, user)
    recipients = _recipients(addresses)
    counts: dict[Site, Counter] = defaultdict(Counter)
    threads: set[int] = set()

    _scrub_webhook_copies(ids, mode, anonymous_name)
    if mode == "erase":
        _scrub_audit_copies(ids)
    likes = _remove_likes(user, counts, threads) if user is not None else 0
    subscriptions = _subscriptions(recipients, ids)
    for subscription in subscriptions:
        counts[subscription.thread.site]["subscriptions"] += 1
    if subscriptions:
        db.session.execute(db.delete(Subscription).where(Subscription.id.in_([s.id for s in subscriptions])))
    emails = _remove_email_jobs(recipients, addresses)
    if recipients:
        db.session.execute(db.delete(Recipient).where(Recipient.id.in_([r.id for r in recipients])))

    outcomes: Counter = Counter()
    for comment in comments:
        counts[comment.thread.site]["comments"] += 1
        threads.add(comment.thread_id)
    if mode == "erase":
        # Replies first: a comment whose replies were all theirs then goes, rather than staying a placeholder.
        for comment_id in [c.id for c in sorted(comments, key=lambda c: (-c.depth, -c.id))]:
            comment = db.session.get(Comment, comment_id)
            if comment is None:
                continue  # an empty placeholder, removed with its last reply
            _scrub(comment)
            comment.body = comment.html = ""
            comment.held_reasons = None
            outcomes[remove_comment(comment, now)] += 1
    else:
        for comment in comments:
            _scrub(comment)
            if comment.status != "deleted" or comment.body:
                comment.author_name = anonymous_name
            outcomes["anonymised"] += 1
    if user is not None:
        _remove_account(user)

    action = f"reader.{mode}"
    for site, found in sorted(counts.items(), key=lambda item: item[0].id):
        audit.record(actor, site, action, "reader", after={name: found[name] for name in
                                                           ("comments", "likes", "subscriptions")},
                     now=now, actor_name=actor_name)
    result = {
        "mode": mode,
        "comments": len(ids),
        "removed": outcomes["removed"],
        "placeholders": outcomes["placeholder"],
        "anonymised": outcomes["anonymised"],
        "likes": likes,
        "subscriptions": len(subscriptions),
        "notification_addresses": len(recipients),
        "emails": emails,
        "account": 1 if user is not None else 0,
        "sites": len(counts),
    }
    if any(result[key] for key in result if key != "mode"):
        audit.record(actor, None, action, "reader", after={k: v for k, v in result.items() if k != "mode"},
                     now=now, actor_name=actor_name)
    for thread_id in sorted(threads):
        bump_thread(thread_id)
    db.session.commit()
    return result
