"""Dashboard accounts: the administrator's password login, provider logins linked to it, login rate limits."""
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import update
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, names
from .addresses import wider_blocks
from .emails import is_email
from .errors import Conflict, InvalidInput, NotAllowed, NotFound, TooManyAttempts
from .extensions import db
from .models import AuditEntry, Ban, DashboardAccount, Identity, Invitation, LoginFailure, Membership, User, utcnow
from .tokens import keyed_hash

MIN_PASSWORD = 10
MAX_PASSWORD = 1024


# Werkzeug's scrypt with a random salt: slow to guess, fine to verify once per login. The method
# is the PASSWORD_HASH_METHOD setting, so the tests can choose a fast one.
DEFAULT_HASH_METHOD = "scrypt"


@cache
def _dummy_hash(method):
    """Checked when no account matches, so a wrong address costs as long as a wrong password."""
    return generate_password_hash("parley-timing-equaliser", method=method)


def normalise_email(value):
    value = str(value or "").strip().lower()
    if not is_email(value):
        raise InvalidInput(f"not an email address: {value[:100]!r}", code="invalid_email")
    return value


def check_new_password(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", code="weak_password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters", code="invalid_password")
    if not password.strip():
        raise InvalidInput("a password cannot be only spaces", code="weak_password")
    return password


def hash_password(password, method=DEFAULT_HASH_METHOD):
    return generate_password_hash(check_new_password(password), method=method)


def account_of(user):
    if user is None:
        return None
    return db.session.scalar(db.select(DashboardAccount).where(DashboardAccount.user_id == user.id))


def account_by_email(email):
    return db.session.scalar(db.select(DashboardAccount).where(DashboardAccount.email == email.strip().lower()))


def create_account(email, password, *, name=None, is_admin=False, hash_method=DEFAULT_HASH_METHOD, now=None):
    """A new user with a password login (the CLI's administrator, or an invitee choosing a password)."""
    email = normalise_email(email)
    password_hash = hash_password(password, hash_method)
    if account_by_email(email) is not None:
        raise Conflict(f"an account for {email} exists already", code="account_exists")
    now = now or utcnow()
    display = names.clean(names.refuse_piled_marks(str(name), "name")) if name else email.split("@", 1)[0]
    if not display or len(display) > 100:
        raise InvalidInput("a name is 1 to 100 visible characters", code="invalid_name")
    user = User(display_name=display, email=email, created_at=now, last_login_at=now)
    account = DashboardAccount(user=user, email=email, password_hash=password_hash, is_admin=is_admin,
                               created_at=now)
    db.session.add_all([user, account])
    db.session.commit()
    return account


def make_admin(account):
    account.is_admin = True
    db.session.commit()
    return account


def set_password(account, password, hash_method=DEFAULT_HASH_METHOD):
    """A new password; every session of the account ends (someone may have known the old one)."""
    account.password_hash = hash_password(password, hash_method)
    account.session_epoch += 1
    db.session.commit()


def end_sessions(account):
    account.session_epoch += 1
    db.session.commit()


# Rate limiting, after OWASP's "device cookies": failed logins are counted in the database (so every
# worker shares them) per account and address, and per address. A browser that logged in to the
# account before carries a signed device cookie and is counted on its own, so failures made
# elsewhere never lock the owner out; only unknown browsers share the account-wide limit.

DEVICE_SALT = "parley.login-device"


@dataclass(frozen=True)
class LoginLimits:
    # Failures for one account from one address, or from one known device.
    per_account: int
    # Failures from one address, whatever the accounts tried.
    per_address: int
    # Failures for one account from every unknown browser together: slows a spread-out attack.
    account_wide: int
    window: timedelta


@dataclass(frozen=True)
class Device:
    """A browser that logged in to an account before, as its signed device cookie says."""

    account_id: int
    nonce: str


def device_token(secret_key, account):
    """A new signed device cookie value for a browser that just logged in to `account`."""
    return URLSafeTimedSerializer(secret_key, salt=DEVICE_SALT).dumps([account.id, secrets.token_urlsafe(16)])


def device_from_token(secret_key, token, max_age):
    """The Device a cookie value names, or None when it is missing, forged or too old."""
    if not isinstance(token, str) or not token or len(token) > 300:
        return None
    try:
        account_id, nonce = URLSafeTimedSerializer(secret_key, salt=DEVICE_SALT).loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(account_id, int) or not isinstance(nonce, str):
        return None
    return Device(account_id, nonce)


def _failures(key_hash, since):
    return db.session.scalar(db.select(db.func.count(LoginFailure.id))
                             .where(LoginFailure.key_hash == key_hash, LoginFailure.created_at >= since))


def _limited_keys(secret_key, email, address, account, device, limits):
    """{failure key: its limit} that this attempt is counted against."""
    if device is not None and account is not None and device.account_id == account.id:
        return {keyed_hash(secret_key, f"login-device:{device.nonce}"): limits.per_account}
    address = address or "unknown"
    keys = {
        keyed_hash(secret_key, f"login-email-ip:{email}|{address}"): limits.per_account,
        keyed_hash(secret_key, f"login-ip:{address}"): limits.per_address,
        keyed_hash(secret_key, f"login-email:{email}"): limits.account_wide,
    }
    # An IPv6 address is its /64 (see addresses.client_key); the /56 and /48 around it are counted more loosely.
    for _, block, factor in wider_blocks(address):
        keys[keyed_hash(secret_key, f"login-email-ip:{email}|{block}")] = limits.per_account * factor
        keys[keyed_hash(secret_key, f"login-ip:{block}")] = limits.per_address * factor
    return keys


def password_login(email, password, *, address, secret_key, limits, device=None, hash_method=DEFAULT_HASH_METHOD,
                   now=None):
    """The account for this email and password, or an error; failures count toward the limits.

    `device` is the Device of the browser's signed cookie, if it has one.
    """
    now = now or utcnow()
    email = str(email or "").strip().lower()[:254]
    account = account_by_email(email) if email else None
    keys = _limited_keys(secret_key, email, address, account, device, limits)
    since = now - limits.window
    if any(_failures(key, since) >= limit for key, limit in keys.items()):
        minutes = int(limits.window.total_seconds() // 60)
        raise TooManyAttempts(f"Too many failed logins. Wait {minutes} minutes and try again.")
    stored = account.password_hash if account is not None else None
    matches = check_password_hash(stored or _dummy_hash(hash_method), str(password or "")[:MAX_PASSWORD])
    if account is None or not stored or not matches:
        db.session.execute(db.delete(LoginFailure).where(LoginFailure.created_at < since))
        db.session.add_all([LoginFailure(key_hash=key, created_at=now) for key in keys])
        db.session.commit()
        raise NotAllowed("That email and password do not match an account.", code="bad_login")
    # The account-wide count stays: the owner's success does not open the door to the attacker.
    first = next(iter(keys))
    db.session.execute(db.delete(LoginFailure).where(LoginFailure.key_hash == first))
    account.last_login_at = now
    db.session.commit()
    return account


def dashboard_allowed(account):
    """True when the dashboard account may use the dashboard at all: an administrator or a member of some site."""
    if account is None:
        return False
    if account.is_admin:
        return True
    return db.session.scalar(db.select(Membership.id).where(Membership.user_id == account.user_id).limit(1)) is not None


def ensure_account(user, now=None):
    """The user's dashboard account, made (without a password) when they accept an invitation by provider."""
    account = account_of(user)
    if account is None:
        account = DashboardAccount(user=user, created_at=now or utcnow())
        db.session.add(account)
    return account


# Linking a provider identity to a password account ------------------------------------------

# Every column that names a user and should follow them when two of their users become one.
_USER_COLUMNS = [
    (Membership, Membership.user_id), (AuditEntry, AuditEntry.actor_id), (Ban, Ban.created_by_id),
    (Ban, Ban.lifted_by_id), (Invitation, Invitation.created_by_id), (Invitation, Invitation.accepted_by_id),
]


def link_identity(account, provider_user, now=None):
    """Let `account` also log in as the provider identity of `provider_user`; returns the account's user now.

    The provider's user keeps its identity and its comments; the password account moves onto it
    and the account's former, identity-less user is folded in. Refused when that would merge two
    dashboard accounts or give one user a second identity.
    """
    old_user = account.user
    if provider_user.id == old_user.id:
        raise Conflict("this login is linked to your account already", code="already_linked")
    if db.session.scalar(db.select(Identity.id).where(Identity.user_id == old_user.id)) is not None:
        raise Conflict("your account is linked to another provider login already", code="has_identity")
    if account_of(provider_user) is not None:
        raise Conflict("this provider login belongs to another dashboard account", code="other_account")
    for model, column in _USER_COLUMNS:
        db.session.execute(update(model).where(column == old_user.id).values({column.key: provider_user.id}))
    account.user = provider_user
    audit.record(provider_user, None, "account.link", "user", provider_user.id,
                 before={"user": old_user.display_name}, after={"user": provider_user.display_name}, now=now)
    db.session.flush()
    db.session.delete(old_user)
    db.session.commit()
    return provider_user


def get_account(email):
    account = account_by_email(email)
    if account is None:
        raise NotFound(f"no dashboard account for {email}", code="unknown_account")
    return account


def check_password(account, password):
    return bool(account.password_hash) and check_password_hash(account.password_hash, str(password)[:MAX_PASSWORD])
