"""One settings object: safe defaults here, PARLEY_* and DATABASE_URL from the environment."""
import os
import secrets
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
    # How long a reader stays logged in to the widget (bearer token lifetime).
    AUTH_TOKEN_DAYS = 30
    # The login popup's session cookie: first-party on this server, never sent cross-site.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Serve /demo: a sample blog post with the widget, on a server that has no sites of its own.
    DEMO = True
    # Top-level comments per page of a thread, by default and at most.
    PAGE_SIZE = 50
    MAX_PAGE_SIZE = 200


def database_url_from_env():
    """DATABASE_URL with the driver Parley ships (psycopg 3) filled in, or None."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path):
    """A secret key kept in the instance folder, made on first start, so tokens survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
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
