"""Signed tokens: edit tokens for guest authors, reader tokens for anonymous likes, form tokens for comment forms."""
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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


# A form token is good for one comment, for this long after it was issued: long enough to write at leisure,
# short enough that the record of spent ones stays small.
FORM_TOKEN_MAX_AGE = timedelta(hours=24)
_NONCE = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class FormToken:
    """A form token this server issued for a site: its single-use nonce, and when the form was shown."""

    nonce: str
    issued_at: datetime  # naive UTC, as the database keeps times


def make_form_token(secret_key, site_id):
    """A signed note that a comment form of the site was shown, and when: the comment sends it back, once."""
    return URLSafeTimedSerializer(secret_key, salt=FORM_SALT).dumps({"s": site_id, "n": secrets.token_hex(16)})


def read_form_token(secret_key, token, site_id):
    """The FormToken inside a token issued for this site within FORM_TOKEN_MAX_AGE; None for a missing,
    forged, garbled, expired or other site's one. (Whether it was spent, only the database knows.)"""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    try:
        data, made = URLSafeTimedSerializer(secret_key, salt=FORM_SALT).loads(
            token, max_age=int(FORM_TOKEN_MAX_AGE.total_seconds()), return_timestamp=True)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or data.get("s") != site_id or not isinstance(data.get("n"), str) \
            or not _NONCE.fullmatch(data["n"]):
        return None
    return FormToken(data["n"], made.replace(tzinfo=None))


def digest(value):
    """SHA-256 of a value, in hex: how random tokens and long keys are stored and looked up."""
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_hash(secret_key, value):
    """A stable, non-reversible digest of a private value (an email, say)."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
