"""Rate limits (Flask-Limiter): how often one address, and one reader, may post, like, edit, log in, send Webmentions.

Each app gets its own Limiter: the extension keeps its storage and settings on the instance, so
a shared one would count every app's requests together. With REDIS_URL the counters live in
Redis and hold across workers and machines; without it, in each process's memory.
"""
import time

from flask import current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from ..addresses import WIDER_BLOCKS, client_key, wider_blocks
from ..readers import bearer_token
from ..tokens import keyed_hash, reader_key_from_token

# Endpoint -> [(config key of the limit, what it counts by)]. Each limit is its own counter.
LIMITS = {
    "api.post_comment": [("RATELIMIT_COMMENTS", "address"), ("RATELIMIT_COMMENTS", "reader")],
    "api.edit_comment": [("RATELIMIT_EDITS", "address"), ("RATELIMIT_EDITS", "reader")],
    "api.delete_comment": [("RATELIMIT_EDITS", "address"), ("RATELIMIT_EDITS", "reader")],
    "api.like": [("RATELIMIT_LIKES", "address"), ("RATELIMIT_LIKES", "reader")],
    "api.unlike": [("RATELIMIT_LIKES", "address"), ("RATELIMIT_LIKES", "reader")],
    "api.erase_me": [("RATELIMIT_EDITS", "address"), ("RATELIMIT_EDITS", "reader")],
    "api.exchange_login_code": [("RATELIMIT_EXCHANGES", "address")],
    "auth.login": [("RATELIMIT_LOGINS", "address")],
    "dashboard.login": [("RATELIMIT_LOGINS", "address")],
    "webmention.receive": [("RATELIMIT_WEBMENTIONS", "address")],
}
# What each limit is called in the message a limited reader sees.
COUNTED = {"RATELIMIT_COMMENTS": "comments", "RATELIMIT_EDITS": "edits", "RATELIMIT_LIKES": "likes",
           "RATELIMIT_LOGINS": "login attempts", "RATELIMIT_EXCHANGES": "login checks",
           "RATELIMIT_NEW_READERS": "new readers", "RATELIMIT_FORM_TOKENS": "form tokens",
           "RATELIMIT_WEBMENTIONS": "Webmentions",
           "RATELIMIT_REFUSED_ORIGINS": "refused origins", "RATELIMIT_CONFIRMATIONS": "confirmation emails"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def client_address():
    """What limits count by: the peer's address, or the one trusted proxies name; for IPv6, its /64.

    One client holds a whole IPv6 /64 (often more) and may take a new address from it for each request:
    counted by address, it would never meet a limit. The blocks around the /64 are counted too, more
    loosely (addresses.WIDER_BLOCKS): every limit per address is also one per /56 and per /48.
    """
    return client_key(request.remote_addr)


def reader_identity():
    """Who is acting, beyond their address: a login's token, else the signed reader token, else the address."""
    token = bearer_token(request.headers.get("Authorization"))
    if token:
        return "login:" + keyed_hash(current_app.secret_key, token)[:32]
    reader = reader_key_from_token(current_app.secret_key, request.headers.get("X-Reader-Token"))
    return f"reader:{reader}" if reader else f"address:{client_address()}"


KEYS = {"address": client_address, "reader": reader_identity}


def scaled(value, factor):
    """A limit in Flask-Limiter's notation, each of its amounts `factor` times as large."""
    return ";".join(f"{item.amount * factor} per {item.multiples} {item.GRANULARITY.name}"
                    for item in parse_many(value))


def _blocks():
    return wider_blocks(client_address())


def _limit_value(config_key, factor=1):
    return lambda: scaled(current_app.config[config_key], factor)


def _block_key(index):
    return lambda: _blocks()[index][1]


def _is_a_read():
    # The dashboard's login page is a GET as well as the form's POST: only attempts count.
    return request.method in SAFE_METHODS


def _is_a_read_or_no_block():
    return _is_a_read() or not _blocks()


def init_app(app):
    """Give the app its own limiter, and put each endpoint's limits on its view."""
    limiter = Limiter(
        key_func=client_address, storage_uri=app.config["REDIS_URL"] or "memory://",
        strategy="moving-window", headers_enabled=True, key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        # A storage that fails (Redis restarting) must not take the comment form down with it.
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions["parley_limiter"] = limiter
    for endpoint, limits in LIMITS.items():
        view = app.view_functions[endpoint]
        for config_key, counted_by in limits:
            view = limiter.limit(_limit_value(config_key), key_func=KEYS[counted_by],
                                 scope=f"{config_key}:{counted_by}", exempt_when=_is_a_read,
                                 error_message=COUNTED[config_key])(view)
            if counted_by == "address":
                for index, (prefix, factor) in enumerate(WIDER_BLOCKS):
                    view = limiter.limit(_limit_value(config_key, factor), key_func=_block_key(index),
                                         scope=f"{config_key}:/{prefix}", exempt_when=_is_a_read_or_no_block,
                                         error_message=COUNTED[config_key])(view)
        app.view_functions[endpoint] = view


def hit(config_key, value=None, scope=None):
    """Count one more of something a view decides on (a new reader, a site's own limit) per address and per
    wider IPv6 block."""
    limiter = current_app.extensions["parley_limiter"]
    if not limiter.enabled:
        return
    value, scope = value or current_app.config[config_key], scope or config_key
    counted = [(value, client_address(), scope)] + [(scaled(value, factor), block, f"{scope}:/{prefix}")
                                                    for prefix, block, factor in _blocks()]
    for limit, key, counter in counted:
        with limiter.limit(limit, key_func=lambda key=key: key, scope=counter, error_message=COUNTED[config_key]):
            pass


def within(config_key):
    """Count one more of something done quietly per address (and wider IPv6 block), and say whether the limits
    still allow it."""
    limiter = current_app.extensions["parley_limiter"]
    if not limiter.enabled:
        return True
    value, prefix = current_app.config[config_key], current_app.config["RATELIMIT_KEY_PREFIX"]
    counted = [(value, client_address())] + [(scaled(value, factor), block) for _, block, factor in _blocks()]
    try:
        return all([limiter.limiter.hit(limit, prefix, config_key, key)
                    for value, key in counted for limit in parse_many(value)])
    except Exception:  # noqa: BLE001  (a failing storage, as in init_app, must not refuse the request)
        return True


def retry_after():
    """Whole seconds until the limit that refused this request lets one more through."""
    limiter = current_app.extensions.get("parley_limiter")
    reset_at = getattr(limiter.current_limit, "reset_at", None) if limiter else None
    return max(1, int(reset_at - time.time())) if reset_at else 60


def describe(error: RateLimitExceeded, seconds):
    """The refusal in words: what was counted and when to try again ("in 57 minutes"; Retry-After has the seconds)."""
    what = error.description if error.description in COUNTED.values() else "requests"
    return f"too many {what} from you in a short time; try again in {_in_words(seconds)}"


def _in_words(seconds):
    """Rounded up, as the widget says it: a client that comes back when told is let in."""
    unit, size = next(((unit, size) for unit, size, up_to in UNITS if seconds <= up_to), ("day", 86400))
    count = max(1, -(-seconds // size))
    return f"{count} {unit}{'s' if count != 1 else ''}"


# (unit, its seconds, the longest wait said in it), as the widget's inWords has them.
UNITS = (("second", 1, 59), ("minute", 60, 90 * 60), ("hour", 3600, 48 * 3600))
