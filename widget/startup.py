"""What a server checks and says as it starts: refuse unsafe production settings, log the effective ones."""
import importlib.util
import logging
import math
import re

import click
from sqlalchemy.engine import make_url

log = logging.getLogger("widget.startup")

# Placeholders that example files and tutorials put in SECRET_KEY; a production server refuses them.
PLACEHOLDER_SECRETS = {"change-me", "changeme", "change_me", "secret", "secret-key", "dev", "development", "test",
                       "please-change-me", "replace-me", "your-secret-key", "xxx"}
MIN_SECRET_LENGTH = 24
ENVIRONMENTS = ("development", "production")
# Config keys whose values are never logged: anything that names a secret, password, key or token.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY", re.IGNORECASE)
# Keys worth an owner's glance at start; Flask's and the extensions' own defaults are left out.
LOGGED_PREFIXES = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "PUBLIC_URL", "PROXY_COUNT", "DEMO", "ENV",
                   "AUTO_MIGRATE", "BACKGROUND_SENDER", "SMTP_", "LIVE_", "READ_CACHE_MB", "RATELIMIT_ENABLED",
                   "LOG_FORMAT", "MAX_CONTENT_LENGTH", "IMPORT_FOLDER", "ALLOW_PRIVATE_TARGETS", "SECRET_KEY")


# Settings that must be a number above 0 (True: a whole one).
POSITIVE_NUMBERS = {"MODERATOR_ALERT_MINUTES": False, "OUTBOX_FETCH_THREADS": True, "OUTBOX_WEBHOOK_THREADS": True}


class UnsafeConfiguration(RuntimeError):
    """The server must not start with these settings; the message says what to change."""


def is_production(config):
    return str(config.get("ENV", "")).lower() == "production" and not config.get("TESTING")


def deployed_environment(config, env_given):
    """What a server started with these settings runs as: PARLEY_ENV when it is given, else production, which
    gunicorn's settings (gunicorn_conf) choose for every server they start. `parley check` judges by it, so
    that an env file without PARLEY_ENV is not judged with a development server's leniency."""
    return str(config.get("ENV", "")).lower() if env_given else "production"


def production_problems(config, secret_key_given):
    """What stops a production server from starting: missing or placeholder secrets, and the like."""
    problems = []
    secret = str(config.get("SECRET_KEY") or "")
    if not secret_key_given:
        problems.append("PARLEY_SECRET_KEY is not set: give every instance the same long random value, e.g. "
                        "the output of: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    elif secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        problems.append(f"PARLEY_SECRET_KEY is a placeholder or shorter than {MIN_SECRET_LENGTH} characters: "
                        "set a long random value")
    if config.get("SMTP_USER") and not config.get("SMTP_PASSWORD"):
        problems.append("PARLEY_SMTP_USER is set without PARLEY_SMTP_PASSWORD")
    if config.get("SMTP_HOST") and not config.get("PUBLIC_URL"):
        # Without it the links in emails (a moderator's approve link among them) would come from the Host
        # header of the request that caused the email, which whoever sends a comment chooses.
        problems.append("PARLEY_SMTP_HOST is set without PARLEY_PUBLIC_URL, the origin the links in emails use "
                        "(e.g. https://comments.example.com)")
    return problems


def missing_extras(config):
    """Settings that need an optional part that is not installed."""
    if config.get("REDIS_URL") and importlib.util.find_spec("redis") is None:
        return ["REDIS_URL is set but the redis package is not installed: pip install 'parley[redis]'"]
    return []


def _number(value):
    """The value as a finite number (PARLEY_X=15 arrives as 15, a caller's setting may be "15"), else None:
    true and false are not numbers here, nor NaN or infinity."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number_problems(config):
    """Settings that must be a number above zero and are not: taken as they are, they would fail later, deep in
    the server and on every use (a moderator alert period of 0 minutes divides by zero in every held job)."""
    problems = []
    for key, whole in POSITIVE_NUMBERS.items():
        value = config.get(key)
        number = _number(value)
        if number is None or number <= 0 or (whole and not number.is_integer()):
            kind = "a whole number" if whole else "a number"
            problems.append(f"PARLEY_{key} must be {kind} above 0, not {value!r}")
    return problems


def check(config, secret_key_given):
    """Raise UnsafeConfiguration, naming every problem, when the server must not start."""
    problems = missing_extras(config) + number_problems(config)
    if str(config.get("ENV", "")).lower() not in ENVIRONMENTS:
        # A typo ("prod") must not quietly run a production server with development's leniency.
        problems.append(f"PARLEY_ENV must be production or development, not {config.get('ENV')!r}")
    if is_production(config):
        problems += [f"{problem} (PARLEY_ENV=production)" for problem in
                     production_problems(config, secret_key_given)]
    if problems:
        raise UnsafeConfiguration("Parley will not start:\n  - " + "\n  - ".join(problems))


def masked(key, value):
    """A config value as it may appear in a log: secrets hidden, passwords taken out of URLs."""
    if value is None or value == "":
        return value
    if SECRET_NAME.search(key):
        return "********"
    if isinstance(value, str) and "://" in value:
        try:
            return make_url(value).render_as_string(hide_password=True)
        except Exception:  # not a URL SQLAlchemy reads (a Redis URL with odd parts): hide what follows "//"
            return re.sub(r"//[^@/]*@", "//***@", value)
    return value


def effective_settings(config):
    """The settings that shape this server, secrets masked, for the start-up log."""
    return {key: masked(key, config[key]) for key in sorted(config)
            if key.startswith(LOGGED_PREFIXES) or key.endswith(("_CLIENT_ID", "_CLIENT_SECRET", "_ISSUER"))}


def serving():
    """False when the app was made for a command other than `run` (`site list`, `check`, ...): its output
    is for the person typing, not a log."""
    context = click.get_current_context(silent=True)
    return context is None or context.info_name == "run"


def log_effective_settings(config):
    if not serving():
        return
    log.info("starting with %s", " ".join(f"{key}={value!r}" for key, value in effective_settings(config).items()))
