"""Readers' accounts: provider identities, one-time login codes and bearer tokens."""
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from .errors import InvalidInput, ParleyError
from .extensions import db
from .models import AuthToken, Identity, LoginCode, User, utcnow
from .tokens import digest

# Long enough for a reader to type the pairing code from the login window into the comment form.
LOGIN_CODE_LIFETIME = timedelta(minutes=5)
# RFC 8628 section 6.1: consonants only (no words, no 0/O or 1/I look-alikes), 8 of them: 34 bits,
# and a login is spent after a few wrong guesses, so guessing it is hopeless.
PAIRING_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
PAIRING_LENGTH = 8
PAIRING_ATTEMPTS = 5
# Why a login did not complete, in the words the popup and the widget show.
LOGIN_ERRORS = {
    "cancelled": "You cancelled the login.",
    "state": "This login could not be verified (it may have been started in another window). Please try again.",
    "provider_down": "The login provider could not be reached. Please try again later.",
    "provider_error": "The login provider answered with something Parley could not understand.",
}


def sign_in(profile, now=None):
    """The user of this (realm, subject), made on first login and refreshed from the profile."""
    now = now or utcnow()
    identity = db.session.scalar(
        db.select(Identity).where(Identity.realm == profile.realm, Identity.subject == profile.subject)
    )
    if identity is None:
        user = User(display_name=profile.name, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(user)
                db.session.add(Identity(user=user, realm=profile.realm, subject=profile.subject,
                                        provider=profile.provider))
        except IntegrityError:  # the same person finished two logins at once
            identity = db.session.scalar(
                db.select(Identity).where(Identity.realm == profile.realm, Identity.subject == profile.subject))
            user = identity.user
    else:
        user = identity.user
    user.display_name = profile.name
    user.avatar_url = profile.avatar_url
    user.profile_url = profile.profile_url
    user.email = profile.email
    user.email_verified = bool(profile.email and profile.email_verified)
    user.last_login_at = now
    db.session.commit()
    return user


@dataclass(frozen=True)
class IssuedLogin:
    """What the popup shows or hands over: the one-time code, and the pairing code a reader types."""

    code: str
    pairing_code: str | None


def new_pairing_code():
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_LENGTH))


def format_pairing_code(code):
    """BCDF-GHJK: two halves are easier to read out and type."""
    return f"{code[:4]}-{code[4:]}"


def normalise_pairing_code(value):
    """What the reader typed, upper-cased, with spaces and dashes dropped."""
    return re.sub(r"[\s-]", "", value).upper()


def issue_login_code(secret_hash, user=None, error=None, now=None):
    """Bind the outcome of a login popup to the hash of the frame's secret.

    A finished login is released only to whoever shows the one-time `code` (which the popup hands
    to its opener alone) or, where the popup lost its opener, the `pairing_code` the popup shows
    and the reader types into their comment form. The secret alone never releases a login: the
    hash in a login link can be chosen by an attacker who knows the secret behind it.
    """
    code = secrets.token_urlsafe(32)
    pairing_code = new_pairing_code() if user is not None else None
    db.session.add(LoginCode(code_hash=digest(code), secret_hash=secret_hash, user_id=user.id if user else None,
                             pairing_hash=pairing_code and digest(pairing_code), error=error,
                             expires_at=(now or utcnow()) + LOGIN_CODE_LIFETIME))
    db.session.commit()
    return IssuedLogin(code, pairing_code)


class LoginPending(Exception):
    """No login has finished yet for this secret."""


class PairingNeeded(Exception):
    """The login finished, but its popup could not hand over the code: the reader must type the pairing code."""


def _spend(login, now):
    """Mark the login used, once: of two concurrent redemptions only one wins."""
    spent = db.session.execute(
        update(LoginCode).where(LoginCode.id == login.id, LoginCode.used_at.is_(None)).values(used_at=now))
    db.session.commit()
    # An UPDATE's result is a CursorResult, which counts the rows it changed.
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput("this login code was used already; please log in again", code="code_used")


def _check_pairing(login, pairing_code, now):
    typed = normalise_pairing_code(pairing_code)
    if login.pairing_hash and secrets.compare_digest(digest(typed), login.pairing_hash):
        return
    db.session.execute(update(LoginCode).where(LoginCode.id == login.id)
                       .values(pairing_attempts=LoginCode.pairing_attempts + 1))
    db.session.commit()
    db.session.refresh(login)
    if login.pairing_attempts >= PAIRING_ATTEMPTS:
        _spend(login, now)
        raise InvalidInput("too many wrong codes: this login is void; please log in again", code="pairing_failed")
    raise InvalidInput("this is not the code the login window shows", code="wrong_pairing_code")


def redeem_login(secret, code=None, pairing_code=None, now=None):
    """Trade the frame's secret and the popup's code (or the pairing code the reader typed) for the user, once."""
    now = now or utcnow()
    secret_hash = digest(secret)
    if code is not None:
        login = db.session.scalar(db.select(LoginCode).where(LoginCode.code_hash == digest(code)))
        if login is None or not secrets.compare_digest(login.secret_hash, secret_hash):
            raise InvalidInput("this login code is not valid", code="invalid_code")
    else:
        login = db.session.scalar(
            db.select(LoginCode).where(LoginCode.secret_hash == secret_hash)
            .order_by(LoginCode.id.desc()).limit(1)
        )
        if login is None:
            raise LoginPending()
    if login.used_at is not None:
        raise InvalidInput("this login code was used already; please log in again", code="code_used")
    if login.expires_at < now:
        raise InvalidInput("this login code has expired; please log in again", code="code_expired")
    if login.error:
        # Only why it failed is released on the secret alone: there is nobody to log in.
        _spend(login, now)
        raise ParleyError(LOGIN_ERRORS[login.error], code=f"login_{login.error}", status=400)
    if code is None:
        if pairing_code is None:
            raise PairingNeeded()
        _check_pairing(login, pairing_code, now)
    _spend(login, now)
    return db.session.get(User, login.user_id)


def bearer_token(authorization):
    """The token in an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def issue_token(user, lifetime, now=None):
    """A new random bearer token for the user; only its hash is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    record = AuthToken(token_hash=digest(token), user_id=user.id, created_at=now, expires_at=now + lifetime)
    db.session.add(record)
    db.session.commit()
    return token, record


def user_for_token(token, now=None):
    """The user a live (unexpired, unrevoked) bearer token belongs to, else None."""
    if not token or len(token) > 200:
        return None
    record = db.session.scalar(db.select(AuthToken).where(AuthToken.token_hash == digest(token)))
    if record is None or record.revoked_at is not None or record.expires_at < (now or utcnow()):
        return None
    return record.user


def revoke_token(token, now=None):
    record = db.session.scalar(db.select(AuthToken).where(AuthToken.token_hash == digest(token)))
    if record is not None and record.revoked_at is None:
        record.revoked_at = now or utcnow()
        db.session.commit()
