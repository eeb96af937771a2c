"""Guests' pictures from Gravatar or Libravatar, for sites that opt in: fetched and kept by this server.

Readers' browsers only ever ask this server, under a keyed name that no one can turn back into the
email or its MD5 (which is all Gravatar's own URLs hide it behind). A service that has no picture
for an address, or cannot be reached, leaves the generated avatar in place.
"""
import hashlib
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from . import outbound
from .extensions import db, end_reading
from .models import AvatarImage, utcnow
from .tokens import keyed_hash

SERVICES = ("gravatar", "libravatar")
MAX_BYTES = 64 * 1024  # an 80-pixel picture is a few kilobytes
MIMETYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def key_for(secret_key, service, email):
    """The picture's name here: keyed with the server's secret, so it reveals nothing of the email."""
    return keyed_hash(secret_key, f"avatar:{service}:{email.strip().lower()}")[:40]


def service_url(base_url, email, size=80):
    # Gravatar and Libravatar both name a picture by the MD5 of the trimmed, lower-cased address;
    # d=404 asks for nothing rather than their default picture, so ours is shown instead.
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"{base_url.rstrip('/')}/{digest}?s={size}&d=404"


def picture(key, email, base_url, *, ttl_seconds, max_kept, allow_private=False, timeout=3.0, now=None):
    """(body, mimetype) of the service's picture for `email`, or None: from what is kept, else fetched."""
    now = now or utcnow()
    kept = db.session.get(AvatarImage, key)
    if kept is not None and kept.fetched_at > now - timedelta(seconds=ttl_seconds):
        return (kept.body, kept.mimetype) if kept.body is not None else None
    # The fetch may take seconds: no transaction waits on it. On SQLite one that had read before other
    # writers committed could no longer write what it fetched.
    end_reading()
    try:
        answer = outbound.request("GET", service_url(base_url, email), allow_private=allow_private,
                                  timeout=timeout, max_bytes=MAX_BYTES, max_redirects=2)
    except (outbound.Refused, outbound.Unreachable):
        # Not kept: the service may be back for the next reader. The kept copy, if stale, still serves.
        return (kept.body, kept.mimetype) if kept is not None and kept.body is not None else None
    mimetype = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    found = answer.status == 200 and mimetype in MIMETYPES
    if answer.status != 404 and not found:
        return None  # an error page, or something that is not a picture: say nothing, keep nothing
    _keep(key, answer.body if found else None, mimetype if found else None, max_kept, now)
    return (answer.body, mimetype) if found else None


def _keep(key, body, mimetype, max_kept, now):
    kept = db.session.get(AvatarImage, key)
    if kept is None:
        db.session.add(AvatarImage(key=key, body=body, mimetype=mimetype, fetched_at=now))
    else:
        kept.body, kept.mimetype, kept.fetched_at = body, mimetype, now
    db.session.flush()
    # Bounded: past max_kept pictures, the longest kept go first.
    newest = db.select(AvatarImage.key).order_by(AvatarImage.fetched_at.desc()).limit(max_kept)
    db.session.execute(db.delete(AvatarImage).where(AvatarImage.key.not_in(newest.scalar_subquery())))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another request kept the same picture at the same moment
