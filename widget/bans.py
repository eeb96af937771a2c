"""Bans of a user, an email address or an IP address on one site; addresses are only ever stored hashed."""
import ipaddress
from datetime import timedelta

from sqlalchemy import and_, bindparam, or_

from . import audit
from .emails import mask_email
from .errors import InvalidInput, NotFound
from .extensions import db
from .models import BAN_KINDS, Ban, utcnow
from .staff import normalise_email
from .tokens import keyed_hash

MAX_REASON = 500
# Offered expiries, in days; None is "until lifted".
DURATIONS = {"1": 1, "7": 7, "30": 30, "365": 365, "never": None}


def email_hash(secret_key, email):
    """The keyed hash an email ban is stored and matched under."""
    return keyed_hash(secret_key, "email:" + email.strip().lower()) if email else None


def ip_hash(secret_key, address):
    """The keyed hash an IP ban is stored and matched under (and that comments remember)."""
    if not address:
        return None
    try:
        address = ipaddress.ip_address(address.strip()).compressed
    except ValueError:
        return None
    return keyed_hash(secret_key, "ip:" + address)


def active_clause(now):
    return and_(Ban.lifted_at.is_(None), or_(Ban.expires_at.is_(None), Ban.expires_at > now))


# Built once: on every post's path, building a statement costs SQLAlchemy more than the database's run of it.
# A key the author lacks is bound as NULL, which equals nothing.
_ACTIVE_BAN = (db.select(Ban)
               .where(Ban.site_id == bindparam("site_id"), active_clause(bindparam("now")),
                      or_(and_(Ban.kind == "user", Ban.user_id == bindparam("user_id")),
                          and_(Ban.kind == "email", Ban.value_hash == bindparam("email_hash")),
                          and_(Ban.kind == "ip", Ban.value_hash == bindparam("ip_hash"))))
               .order_by(Ban.id).limit(1))


def find_active(site, *, user_id=None, email_hash=None, ip_hash=None, now=None):
    """The first live ban matching any of the author's keys, else None."""
    if user_id is None and not email_hash and not ip_hash:
        return None
    return db.session.scalar(_ACTIVE_BAN, {"site_id": site.id, "now": now or utcnow(), "user_id": user_id,
                                           "email_hash": email_hash or None, "ip_hash": ip_hash or None})


def _snapshot(ban):
    return {"kind": ban.kind, "label": ban.label, "reason": ban.reason,
            "expires_at": ban.expires_at.isoformat(" ", "minutes") if ban.expires_at else "never"}


def parse_duration(value):
    if value not in DURATIONS:
        raise InvalidInput(f"a ban lasts one of: {', '.join(DURATIONS)} (days)", code="invalid_duration")
    return DURATIONS[value]


def ban(actor, site, kind, *, reason, days=None, user_id=None, value_hash=None, label=None, email_hint=None,
        now=None):
    """Record a ban; the caller gives the user id (kind "user") or the keyed hash (email, ip)."""
    now = now or utcnow()
    if kind not in BAN_KINDS:
        raise InvalidInput(f"a ban is by {', '.join(BAN_KINDS)}", code="invalid_ban_kind")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give a reason for the ban: it is kept in the audit log", code="missing_reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is at most {MAX_REASON} characters", code="reason_too_long")
    if (kind == "user") != (user_id is not None) or (kind != "user" and not value_hash):
        raise InvalidInput(f"nothing to ban by {kind}", code="nothing_to_ban")
    existing = find_active(site, user_id=user_id if kind == "user" else None,
                           email_hash=value_hash if kind == "email" else None,
                           ip_hash=value_hash if kind == "ip" else None, now=now)
    record = Ban(site_id=site.id, kind=kind, user_id=user_id, value_hash=value_hash,
                 label=(label or "").strip()[:200] or None, email_hint=email_hint, reason=reason,
                 created_by_id=actor.id,
                 created_at=now, expires_at=now + timedelta(days=days) if days else None)
    before = None
    if existing is not None:
        # A new ban of the same author replaces the old one, so one author has one live ban.
        before = _snapshot(existing)
        existing.lifted_at, existing.lifted_by_id = now, actor.id
    db.session.add(record)
    db.session.flush()
    audit.record(actor, site, "ban.create", "ban", record.id, before=before, after=_snapshot(record), now=now)
    db.session.commit()
    return record


def ban_email(actor, site, email, secret_key, **options):
    email = normalise_email(email)
    return ban(actor, site, "email", value_hash=email_hash(secret_key, email), email_hint=mask_email(email),
               **options)


def ban_address(actor, site, address, secret_key, **options):
    try:
        ipaddress.ip_address(str(address).strip())
    except ValueError:
        raise InvalidInput(f"not an IP address: {str(address)[:60]!r}", code="invalid_ip") from None
    return ban(actor, site, "ip", value_hash=ip_hash(secret_key, address), **options)


def ban_author_of(actor, site, comment, kind, secret_key, **options):
    """Ban the author of a comment by their login, their email or the address they posted from."""
    label = options.pop("label", None) or comment.author_name
    # Who it was, kept now: the comment and its address may be gone when the ban is read.
    options["email_hint"] = mask_email(comment.author_email)
    if kind == "user":
        if comment.user_id is None:
            raise InvalidInput("this author did not log in: ban their email or address instead",
                               code="nothing_to_ban")
        return ban(actor, site, "user", user_id=comment.user_id, label=label, **options)
    if kind == "email":
        if not comment.author_email:
            raise InvalidInput("this comment has no email address to ban", code="nothing_to_ban")
        return ban(actor, site, "email", value_hash=email_hash(secret_key, comment.author_email), label=label,
                   **options)
    if kind == "ip":
        if not comment.ip_hash:
            raise InvalidInput("the address this comment came from was not recorded", code="nothing_to_ban")
        return ban(actor, site, "ip", value_hash=comment.ip_hash, label=label, **options)
    raise InvalidInput(f"a ban is by {', '.join(BAN_KINDS)}", code="invalid_ban_kind")


def lift(actor, site, ban_id, now=None):
    now = now or utcnow()
    record = db.session.get(Ban, ban_id) if 0 < ban_id < 2**31 else None
    if record is None or record.site_id != site.id:
        raise NotFound("no such ban", code="unknown_ban")
    if record.lifted_at is not None:
        return record
    before = _snapshot(record)
    record.lifted_at, record.lifted_by_id = now, actor.id
    audit.record(actor, site, "ban.lift", "ban", record.id, before=before, after={"lifted": True}, now=now)
    db.session.commit()
    return record


def site_bans(site, now=None, include_past=False):
    query = db.select(Ban).where(Ban.site_id == site.id)
    if not include_past:
        query = query.where(active_clause(now or utcnow()))
    return list(db.session.scalars(query.order_by(Ban.id.desc()).limit(500)))


def bans_of_author(site, comment, secret_key, now=None):
    """Live bans that match the author of a comment, by any of their keys."""
    now = now or utcnow()
    matches = []
    if comment.user_id is not None:
        matches.append(and_(Ban.kind == "user", Ban.user_id == comment.user_id))
    if comment.author_email:
        matches.append(and_(Ban.kind == "email", Ban.value_hash == email_hash(secret_key, comment.author_email)))
    if comment.ip_hash:
        matches.append(and_(Ban.kind == "ip", Ban.value_hash == comment.ip_hash))
    if not matches:
        return []
    return list(db.session.scalars(db.select(Ban).where(Ban.site_id == site.id, active_clause(now), or_(*matches))))

