"""One settings object: safe defaults here, PARLEY_* and DATABASE_URL from the environment."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


class Config:
    # A SQLite file in the instance folder unless DATABASE_URL says otherwise.
    SQLALCHEMY_DATABASE_URI = "sqlite:///parley.sqlite3"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Whole-request cap, checked by Werkzeug before the body is read.
    MAX_CONTENT_LENGTH = 64 * 1024
    # Upgrade the database schema on start, so a fresh install needs no `flask db upgrade`.
    AUTO_MIGRATE = True
    # Public origin of this server (for example https://comments.example.com) when it sits
    # behind a proxy that rewrites Host; by default each request's own origin is used.
    PUBLIC_URL = None
    # How many reverse proxies in front of Parley set X-Forwarded-For/-Proto/-Host. Only then are
    # those headers believed: the client address feeds IP bans and login limits, so an
    # untrusted header must never choose it.
    PROXY_COUNT = 0
    # The addresses or networks of those proxies ("127.0.0.1 10.0.0.0/8"): when set, forwarded headers are
    # believed only from them (PROXY_COUNT then defaults to 1), and dropped from anyone else.
    TRUSTED_PROXIES = ""
    # How long a reader stays logged in to the widget (bearer token lifetime).
    AUTH_TOKEN_DAYS = 30
    # The login popup's session cookie: first-party on this server, never sent cross-site.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # "production" (PARLEY_ENV, set by gunicorn.conf.py) refuses to start without a real PARLEY_SECRET_KEY;
    # anything else is a development server.
    ENV = "development"
    # Serve /demo, a sample blog post with the widget, on a server that has no sites of its own: only when
    # asked for (PARLEY_DEMO=true), since it makes a site for whatever origin its first visitor used.
    DEMO = False
    # Log lines as text, or "json": one object a line, for a log collector.
    LOG_FORMAT = "text"
    # Top-level comments per page of a thread, by default and at most.
    PAGE_SIZE = 50
    MAX_PAGE_SIZE = 200
    # Comments on one page in all, replies included: a long reply chain comes in pieces of this size.
    MAX_PAGE_COMMENTS = 500
    # The dashboard's login lasts this long; the session cookie is also Secure whenever the
    # request came over HTTPS or PUBLIC_URL is https (see widget/sessions.py).
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    # CSRF tokens are checked by the dashboard blueprint alone: the API authenticates with
    # bearer and edit tokens, never with a cookie, so it has nothing to forge.
    WTF_CSRF_CHECK_DEFAULT = False
    # A token lives as long as the session: a moderation tab left open all day still works.
    WTF_CSRF_TIME_LIMIT = None
    # Failed dashboard logins allowed in the window: for one account from one address (or from one
    # browser that logged in to it before), from one address, and for one account from all unknown
    # browsers together. A known browser is never held back by failures made elsewhere.
    LOGIN_FAILURES_PER_ACCOUNT = 5
    LOGIN_FAILURES_PER_ADDRESS = 20
    LOGIN_FAILURES_ACCOUNT_WIDE = 100
    LOGIN_WINDOW_MINUTES = 15
    # How long a browser that logged in to the dashboard is remembered as a known device.
    LOGIN_DEVICE_DAYS = 365
    # How dashboard passwords are hashed, as Werkzeug names the method: scrypt, slow to guess. The
    # tests set a cheap one so that hundreds of logins run fast; never lower it on a real server.
    PASSWORD_HASH_METHOD = "scrypt"
    # Rate limits, per address and per reader (Flask-Limiter's notation: "5 per minute;30 per hour").
    # Counted in Redis when REDIS_URL is set, so they hold across workers and machines; else in
    # each process's memory. A site can tighten comments further (its comments_per_hour setting).
    RATELIMIT_ENABLED = True
    REDIS_URL = None
    # Keeps this server's counters apart from other apps' in a shared Redis.
    RATELIMIT_KEY_PREFIX = "parley"
    RATELIMIT_COMMENTS = "5 per minute;30 per hour"
    RATELIMIT_EDITS = "20 per minute;200 per hour"
    RATELIMIT_LIKES = "30 per minute;300 per hour"
    # Starting a login, and dashboard password attempts; the widget's exchange polls while the popup is open.
    RATELIMIT_LOGINS = "10 per minute;100 per hour"
    RATELIMIT_EXCHANGES = "60 per minute;600 per hour"
    # Anonymous reader identities handed out to browsers that have none (each can like once).
    RATELIMIT_NEW_READERS = "10 per minute;30 per hour"
    # Form tokens (one per comment, asked for as a reader starts writing): plenty for a reader on many pages.
    RATELIMIT_FORM_TOKENS = "60 per minute;600 per hour"
    # Webmentions one address may send: each makes this server fetch a page.
    RATELIMIT_WEBMENTIONS = "10 per minute;100 per hour"
    # How often one address's refused page views are noted for the site's dashboard (it is told why either way).
    RATELIMIT_REFUSED_ORIGINS = "10 per minute;60 per hour"
    # Confirmation requests one address may cause, to whatever mailboxes (each mailbox gets one a day at most).
    RATELIMIT_CONFIRMATIONS = "10 per hour;30 per day"
    # A comment sent back sooner than this after its form appeared is held: people take longer.
    SPAM_MIN_FORM_SECONDS = 3
    # A comment without a valid, unspent form token is held, unless its author shows otherwise that they are a
    # person (see spam.form_token). The widget asks for one when its reader starts writing; API clients too.
    SPAM_FORM_TOKENS = True
    # Another server that speaks Akismet's protocol in place of rest.akismet.com (a test double, a proxy).
    AKISMET_ENDPOINT = None
    # Outgoing email (notifications, confirmations, moderator alerts). Without SMTP_HOST nothing is sent:
    # emails wait in the outbox until a server is configured. SMTP_SECURITY is none, starttls or tls;
    # the port defaults to 25, 587 or 465 to match.
    SMTP_HOST = None
    SMTP_PORT = None
    SMTP_SECURITY = "none"
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_FROM = "Parley <parley@localhost>"
    SMTP_TIMEOUT = 20
    # Moderators are told of a held comment at once, but of a flood (a spam run, a burst of Webmentions) in one
    # summary per this many minutes per site, for as long as it lasts.
    MODERATOR_ALERT_MINUTES = 15
    # The outbox's sender runs in each server process by default; set this to false where
    # `flask --app app worker` runs it apart. Several senders at once never send a job twice.
    BACKGROUND_SENDER = True
    # A sender looks for due jobs this often (at once, for jobs queued in its own process).
    OUTBOX_POLL_SECONDS = 5
    # A claimed job is another sender's to retry once this long has passed without its sender finishing it.
    OUTBOX_LEASE_SECONDS = 300
    # Failed deliveries are retried after 30 s, 1 min, 2 min, ... at most 6 h apart, 12 times in all (one that ran
    # out of time, twice).
    OUTBOX_RETRY_FIRST_SECONDS = 30
    OUTBOX_ATTEMPTS = 12
    # Threads of each process's sender that fetch Webmention sources, and that deliver webhooks: each waits on
    # another server, up to its deadline. (Emails and imports have one each.)
    OUTBOX_FETCH_THREADS = 2
    OUTBOX_WEBHOOK_THREADS = 2
    # Webhook targets and Webmention sources on private, loopback or link-local addresses are refused
    # unless this is true (an intranet install, a test); checked after DNS resolution.
    ALLOW_PRIVATE_TARGETS = False
    # Where guests' pictures come from on sites that opt into a picture service (the site setting
    # "avatars"); this server fetches them, keeps up to AVATAR_CACHE_MAX for AVATAR_CACHE_SECONDS.
    GRAVATAR_URL = "https://www.gravatar.com/avatar/"
    LIBRAVATAR_URL = "https://seccdn.libravatar.org/avatar/"
    AVATAR_CACHE_SECONDS = 86_400
    AVATAR_CACHE_MAX = 5_000
    # The deadline of one exchange with another server, whole: DNS, connecting, TLS, the headers, the body and
    # every redirect. A webhook delivery and a Webmention's fetch of its source may each have their own
    # (None: this one); the sender keeps each kind of job in its own lane, so no deadline holds up another kind.
    OUTBOUND_TIMEOUT_SECONDS = 10
    WEBHOOK_TIMEOUT_SECONDS = None
    WEBMENTION_TIMEOUT_SECONDS = None
    # Imports uploaded in the dashboard: the largest file taken, and the folder where each waits for its job
    # (by default "imports" in the instance folder; a `flask worker` on another machine must see the same
    # folder). A file is deleted when its import ends.
    IMPORT_MAX_BYTES = 256 * 1024 * 1024
    IMPORT_FOLDER = None
    # Where `flask backup` writes (by default "backups" in the instance folder) and how many it keeps there:
    # after each backup all but the newest BACKUP_KEEP files named like Parley's backups are deleted (0: none).
    BACKUP_FOLDER = None
    BACKUP_KEEP = 14
    # Public reads (a thread page, comment counts) kept per worker as ready-to-send bytes, checked
    # against the database on each use; 0 turns the read cache off.
    READ_CACHE_MB = 64
    # How long a CDN or shared proxy in front may serve a public read without asking (s-maxage), and
    # serve it stale while it asks (stale-while-revalidate). Browsers always ask (max-age=0).
    PUBLIC_CACHE_SECONDS = 10
    PUBLIC_CACHE_STALE_SECONDS = 60
    # How long an invitation link to become a site's owner or moderator stays valid.
    INVITATION_DAYS = 7
    # Live updates: open widgets hear of new and moderated comments through a stream of Server-Sent Events,
    # told across workers and machines through Redis (REDIS_URL) on this channel (default: the
    # RATELIMIT_KEY_PREFIX and ":live"), within the process without it. Each stream also looks at its thread
    # every LIVE_POLL_SECONDS, so a missed announcement (Redis restarting, workers without Redis) only comes late.
    # A stream holds a worker thread: at most LIVE_MAX_CONNECTIONS per process (keep it below the server's
    # thread count), each sends a heartbeat comment and ends after LIVE_MAX_SECONDS, and the browser comes
    # back about LIVE_RETRY_SECONDS later. One address holds at most LIVE_MAX_PER_ADDRESS of a process's
    # streams, so that one client cannot take them all (a reader's tabs, or a household behind one address,
    # stay well within it).
    LIVE_CHANNEL = None
    LIVE_POLL_SECONDS = 15
    LIVE_HEARTBEAT_SECONDS = 20
    LIVE_MAX_SECONDS = 300
    LIVE_MAX_CONNECTIONS = 50
    LIVE_MAX_PER_ADDRESS = 10
    LIVE_RETRY_SECONDS = 5


def redis_url_from_env():
    """REDIS_URL, the name hosting platforms give it, as well as PARLEY_REDIS_URL."""
    return os.environ.get("REDIS_URL") or None


def database_url_from_env():
    """DATABASE_URL with the driver Parley ships (psycopg 3) filled in, or None."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path, make=True):
    """A secret key kept in the instance folder, made on first start, so tokens survive restarts.

    With `make` false, the one kept there or None: a command that only reads makes nothing.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        if not make:
            return None
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        # Several workers may start at once: link a complete file into place, first one wins.
        tmp = path.with_name(f"secret_key.{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
