"""What is wrong with this server's setup, as an owner would want to be told (`parley check`)."""
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .emails import SmtpConnection, SmtpSettings, SmtpUnavailable
from .extensions import db, sqlite_file
from .models import DashboardAccount, Site
from .startup import ENVIRONMENTS, masked, missing_extras, number_problems, production_problems

TIMEOUT_SECONDS = 5
# /healthz names its server by this keyed hash of the secret key: the check knows PARLEY_PUBLIC_URL reaches
# a server of this install without the key ever leaving it.
SERVER_HEADER = "X-Parley-Server"


@dataclass(frozen=True)
class Finding:
    topic: str
    ok: bool
    message: str


def server_fingerprint(secret_key):
    return hmac.new(str(secret_key).encode(), b"parley public url check", hashlib.sha256).hexdigest()[:16]


def check_all(config, environment, secret_key_given):
    """Every check, in the order an owner would fix them; the database's failure skips what needs it.

    `environment` is what the server will run as (startup.deployed_environment): settings a production
    server refuses, or a public URL it would serve logins over in the clear, are problems then.
    """
    findings = check_settings(config, environment, secret_key_given)
    database = check_database()
    findings.append(database)
    if database.ok:
        findings += [check_administrator(), check_site_origins()]
    findings += [check_smtp(config), check_redis(config), check_public_url(config, environment)]
    return [finding for finding in findings if finding is not None]


def check_settings(config, environment, secret_key_given):
    """What would stop the server from starting, judged as the server it will be."""
    if environment not in ENVIRONMENTS:
        return [Finding("settings", False, f"PARLEY_ENV must be production or development, not {environment!r}")]
    problems = missing_extras(config) + number_problems(config)
    if environment == "production":
        problems += production_problems(config, secret_key_given)
        said = "checked as a production server, as gunicorn runs it" + (
            "" if config.get("ENV") == "production" else " (PARLEY_ENV=development checks a development server)")
    else:
        said = "checked as a development server (PARLEY_ENV=development): not for a public server"
    return [Finding("settings", False, problem) for problem in problems] or [Finding("settings", True, said)]


def check_database():
    url = db.engine.url
    path = sqlite_file(url)
    where = f"SQLite file {path}" if path else url.render_as_string(hide_password=True)
    if path is not None and not path.exists():
        # Connecting would create it empty; the server makes it, with its schema, when it first starts.
        return Finding("database", False, f"no database yet: {path} does not exist (wrong PARLEY_INSTANCE_PATH "
                                          "or DATABASE_URL? The server makes it when it first starts)")
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return Finding("database", False, f"cannot reach the database {where}: {_first_line(error)}")
    return Finding("database", True, f"reachable ({where})")


def check_administrator():
    count = db.session.scalar(db.select(db.func.count()).select_from(DashboardAccount)
                              .where(DashboardAccount.is_admin.is_(True)))
    if not count:
        return Finding("administrator", False, "no administrator can log in to the dashboard: "
                                               "parley user create-admin EMAIL")
    return Finding("administrator", True, f"{count} administrator{'s' if count != 1 else ''}")


def check_site_origins():
    sites = db.session.scalars(db.select(Site).order_by(Site.public_id)).all()
    bare = [site.public_id for site in sites if not site.origins]
    if bare:
        return Finding("sites", False, f"no allowed origin, so no page can show their comments: {', '.join(bare)} "
                                       "(parley site set ID origins https://blog.example.com)")
    return Finding("sites", True, f"{len(sites)} site{'s' if len(sites) != 1 else ''}, each with its origins")


def check_smtp(config):
    settings = SmtpSettings.from_config(config)
    if not settings.host:
        return Finding("smtp", True, "not configured: emails wait in the outbox until PARLEY_SMTP_HOST is set")
    settings = SmtpSettings(**{**settings.__dict__, "timeout": min(settings.timeout, TIMEOUT_SECONDS)})
    try:
        SmtpConnection(settings).check()
    except SmtpUnavailable as error:
        return Finding("smtp", False, str(error))
    return Finding("smtp", True, f"{settings.host}:{settings.port} takes a session"
                                 + (f" and the login of {settings.user}" if settings.user else ""))


def check_redis(config):
    url = config.get("REDIS_URL")
    if not url:
        return Finding("redis", True, "not configured: rate limits and live updates stay within each process")
    where = masked("REDIS_URL", url)
    try:
        import redis  # the redis extra

        redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS).ping()
    except ImportError:
        return Finding("redis", False, "REDIS_URL is set but the redis package is missing: pip install 'parley[redis]'")
    except Exception as error:  # every way a Redis can be away: refused, timed out, wrong password, not Redis
        return Finding("redis", False, f"cannot reach Redis at {where}: {_first_line(error)}")
    return Finding("redis", True, f"reachable ({where})")


def check_public_url(config, environment):
    public = config.get("PUBLIC_URL")
    if not public:
        return Finding("public url", False, "PARLEY_PUBLIC_URL is not set: links in emails, feed ids and login "
                                            "callbacks are then built from whatever Host each request names")
    parts = urlsplit(str(public))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        return Finding("public url", False, f"PARLEY_PUBLIC_URL {public!r} is not an origin such as "
                                            "https://comments.example.com")
    if parts.scheme != "https" and environment == "production":
        return Finding("public url", False, f"PARLEY_PUBLIC_URL {public} is not https: browsers will send logins "
                                            "and tokens in the clear")
    health = str(public).rstrip("/") + "/healthz"
    try:
        response = httpx.get(health, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as error:
        return Finding("public url", False, f"{health} does not answer: {_first_line(error) or type(error).__name__}")
    if response.headers.get(SERVER_HEADER) != server_fingerprint(config["SECRET_KEY"]):
        return Finding("public url", False, f"{health} answers {response.status_code}, but not as this server "
                                            "(another server, or one with another PARLEY_SECRET_KEY)")
    return Finding("public url", True, f"{public} reaches this server")


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else ""
