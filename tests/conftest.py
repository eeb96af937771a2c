"""Fixtures: an app on a fresh database per test session, emptied after every test."""
import os
import socket
import threading
import uuid

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from werkzeug.routing import Rule

from widget import create_app, worker
from widget.extensions import db

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SECRET = "test-secret-key-not-for-production"
ORIGIN = "https://blog.example.com"

settings.register_profile(
    "parley", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # CI must not fail on an input it never tried before; run locally to explore new inputs.
    derandomize=IN_CI,
)
settings.load_profile("parley")


def _compile_each_url_builder_once():
    """Every test makes its own app, and Werkzeug writes and compiles Python for each of the app's URL rules
    again: about 65 ms an app, a minute and more of each run. A builder depends only on what is keyed here
    (it reaches its rule's converters through the instance it is bound to), so one compile serves every app."""
    compile_builder = Rule._compile_builder
    builders = {}

    def compile_once(self, append_unknown=True):
        defaults = tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items()))
        key = (self.rule, tuple(self._trace), defaults, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = compile_once


_compile_each_url_builder_once()


def require(condition, reason):
    """Skip when a part is missing on a laptop; under CI a missing part is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: required)")
        pytest.skip(reason)


REDIS_URL = "redis://127.0.0.1:6379/0"


def require_redis():
    """The Redis on 127.0.0.1:6379, which tests of several workers or machines share (see require)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        require(False, "Redis is not running on 127.0.0.1:6379")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, leave out the tests that make their own SQLite database: the SQLite pass ran them."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    repeated = [item for item in items if item.get_closest_marker("database_independent")]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if item not in repeated]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """DATABASE_URL when given (CI runs the suite once on PostgreSQL), else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'parley.sqlite3'}"


@pytest.fixture
def make_app(database_url, tmp_path):
    apps = []

    def make(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SERVER_NAME": "comments.test",
            "PREFERRED_URL_SCHEME": "http",
            # A cheap hash: the suite logs in hundreds of times. The server's default stays scrypt.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # Most tests post and like far faster than readers do; tests/test_rate_limits.py turns limits on.
            "RATELIMIT_ENABLED": False,
            # Likewise, a browser test types a comment in well under the 3 s people need; test_spam.py checks it.
            "SPAM_MIN_FORM_SECONDS": 0,
            # And most tests post through the API without asking for a form token first, as the widget does;
            # test_spam.py and the browser tests (tests/browser/conftest.py) require one, as a server does.
            "SPAM_FORM_TOKENS": False,
            # Every test app shares one database: a sender thread of one test's app would take the jobs
            # of the next. Tests that need the outbox run it by hand (worker.run_pending).
            "BACKGROUND_SENDER": False,
            # The demo is off unless asked for; the tests of the widget use its sample blog.
            "DEMO": True,
        } | overrides
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        # A sender's lanes must end before their database is emptied and closed under them.
        assert worker.stop_in_background(app), "a lane of the app's background sender did not stop"
        if read_cache := app.extensions.get("parley.read_cache"):
            read_cache.close()
        with app.app_context():
            if app.config["SQLALCHEMY_DATABASE_URI"] == database_url:
                _empty_tables()
            db.engine.dispose()


def _empty_tables():
    from widget.models import Comment

    db.session.remove()
    with db.engine.begin() as connection:
        # Unlinked first: deleting a long reply chain would cascade one level per reply, and SQLite
        # stops cascades 1,000 deep.
        connection.execute(db.update(Comment).values(parent_id=None))
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(autouse=True)
def no_sender_outlives_its_test():
    """A background sender left running would go on polling a database the next test empties, or one that is
    gone (a PostgreSQL database a fixture dropped), and print its errors after the run: a test that starts one
    stops it (make_app's apps are stopped), or makes its apps with BACKGROUND_SENDER off."""
    before = set(threading.enumerate())
    yield
    left = [thread.name for thread in set(threading.enumerate()) - before if thread.name.startswith("parley-sender")]
    assert not left, f"sender threads still running after the test: {left}"


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def site(app, runner):
    """A site `blog` allowing https://blog.example.com, made through the CLI."""
    result = runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    assert result.exit_code == 0, result.output
    return "blog"


@pytest.fixture
def admin(app, runner, site):
    """An administrator logged in to the dashboard, with the site `blog` made."""
    from dashboard_helpers import create_admin, logged_in  # not at the top: dashboard_helpers imports conftest

    create_admin(runner)
    return logged_in(app)


@pytest.fixture
def set_site(runner):
    def set_(key, value, site_id="blog"):
        result = runner.invoke(args=["site", "set", site_id, key, str(value)])
        assert result.exit_code == 0, result.output
    return set_


PAGE = "https://blog.example.com/posts/hello"
GUEST = {"name": "Ada", "email": "ada@example.org", "website": "https://ada.example.org"}


@pytest.fixture
def post(client, site):
    """POST a comment as the browser on the site's origin would; returns the response."""
    def post_(body="Hello **world**", url=PAGE, author=GUEST, headers=None, **fields):
        payload = {"site": site, "url": url, "body": body, "author": author} | fields
        payload = {k: v for k, v in payload.items() if v is not ...}
        return client.post("/api/v1/comments", json=payload, headers={"Origin": ORIGIN} | (headers or {}))
    return post_


@pytest.fixture
def read(client, site):
    def read_(url=PAGE, headers=None, **params):
        return client.get("/api/v1/threads", query_string={"site": site, "url": url} | params, headers=headers)
    return read_


@pytest.fixture(scope="session")
def postgres_admin_url():
    return os.environ.get("PARLEY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fresh_database_url(database_url, tmp_path, request):
    """An empty database of the suite's kind, for a second server or one in other processes."""
    if database_url.startswith("postgresql"):
        return request.getfixturevalue("fresh_postgres_url")
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


@pytest.fixture
def fresh_postgres_url(postgres_admin_url):
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    try:
        admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "no server here"
        require(False, f"PostgreSQL is not reachable at {postgres_admin_url}: {error}")
    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_admin_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
