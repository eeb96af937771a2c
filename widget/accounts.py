"""Readers' accounts: provider identities, one-time login codes and bearer tokens."""
import secrets
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from .errors import InvalidInput, ParleyError
from .extensions import db
from .models import AuthToken, Identity, LoginCode, User, utcnow
from .tokens import digest

LOGIN_CODE_LIFETIME = timedelta(minutes=2)
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
    user.last_login_at = now
    db.session.commit()
    return user


def issue_login_code(secret_hash, user=None, error=None, now=None):
    """Bind the outcome of a login popup to the iframe's secret; returns the one-time code."""
    code = secrets.token_urlsafe(32)
    db.session.add(LoginCode(code_hash=digest(code), secret_hash=secret_hash, user_id=user.id if user else None,
                             error=error, expires_at=(now or utcnow()) + LOGIN_CODE_LIFETIME))
    db.session.commit()
    return code


class LoginPending(Exception):
    """No login has finished yet for this secret."""


def redeem_login(secret, code=None, now=None):
    """Trade the iframe's secret (and the popup's code, when it arrived) for the user, once."""
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
    login.used_at = now
    db.session.commit()
    if login.error:
        raise ParleyError(LOGIN_ERRORS[login.error], code=f"login_{login.error}", status=400)
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
