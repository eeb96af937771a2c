"""Signed tokens: edit tokens for guest authors and reader tokens for anonymous likes."""
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

EDIT_SALT = "parley.edit"
READER_SALT = "parley.reader"
FORM_SALT = "parley.form"


def make_edit_token(secret_key, comment_id):
    return URLSafeTimedSerializer(secret_key, salt=EDIT_SALT).dumps({"c": comment_id})


def edit_token_allows(secret_key, token, comment_id, max_age_seconds):
    """True when `token` was issued for this comment and is younger than `max_age_seconds`."""
    if not isinstance(token, str) or not token:
        return False
    try:
        data = URLSafeTimedSerializer(secret_key, salt=EDIT_SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, SignatureExpired):
        return False
    return isinstance(data, dict) and data.get("c") == comment_id


def new_reader_token(secret_key):
    """A fresh anonymous reader identity and its signed token."""
    key = secrets.token_hex(16)
    return key, URLSafeTimedSerializer(secret_key, salt=READER_SALT).dumps(key)


def reader_key_from_token(secret_key, token):
    """The reader key inside a valid reader token, else None."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    try:
        key = URLSafeTimedSerializer(secret_key, salt=READER_SALT).loads(token)
    except BadSignature:
        return None
    return key if isinstance(key, str) else None


def make_form_token(secret_key):
    """A signed note of when the comment form was shown, which the frame sends back with the comment."""
    return URLSafeTimedSerializer(secret_key, salt=FORM_SALT).dumps(0)


def form_token_age(secret_key, token, now):
    """Seconds since the form token was made; None for a missing, forged or garbled one."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    try:
        _, made = URLSafeTimedSerializer(secret_key, salt=FORM_SALT).loads(token, return_timestamp=True)
    except BadSignature:
        return None
    return (now - made.replace(tzinfo=None)).total_seconds()


def digest(value):
    """SHA-256 of a value, in hex: how random tokens and long keys are stored and looked up."""
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_hash(secret_key, value):
    """A stable, non-reversible digest of a private value (an email, say)."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
