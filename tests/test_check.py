"""`parley check` (`flask --app app check`): each broken setting it names is found, on real servers and on
real closed ports of this machine; a sound setup passes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ORIGIN, REDIS_URL, require_redis
from dashboard_helpers import create_admin
from helpers import serve_in_background
from processes import free_port
from smtp_server import MailServer
from sqlalchemy import text
from werkzeug.serving import make_server

from widget.extensions import db

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ("settings", "database", "administrator", "sites", "smtp", "redis", "public url")


@pytest.fixture
def mail():
    with MailServer() as server:
        yield server


@pytest.fixture
def serve():
    """Serve an app on loopback in a thread, as its PARLEY_PUBLIC_URL would reach it."""
    servers = []

    def run(app, port):
        server = make_server("127.0.0.1", port, app, threaded=True)
        serve_in_background(server)
        servers.append(server)

    yield run
    for server in servers:
        server.shutdown()


@pytest.fixture
def setup(make_app, mail, serve):
    """A sound setup, changed by `broken` before it is made: an administrator, a site with its origin, a
    real SMTP server, Redis, and a public URL that reaches this very server. It is a development server
    (PARLEY_ENV=development), since the server it checks is served over http on loopback."""
    require_redis()

    def make(broken=None, **overrides):
        port = free_port()
        config = {"ENV": "development", "PUBLIC_URL": f"http://127.0.0.1:{port}", "REDIS_URL": REDIS_URL,
                  **mail.config()} | overrides
        app = make_app(**{key: value for key, value in config.items() if value is not None})
        serve(app, port)
        runner = app.test_cli_runner()
        if broken != "no administrator":
            create_admin(runner)
        assert runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN]).exit_code == 0
        return app, runner

    return make


def _problems(output):
    """The topics of the PROBLEM lines, in order."""
    found = []
    for line in output.splitlines():
        if line.startswith("PROBLEM "):
            rest = line.removeprefix("PROBLEM").lstrip()
            found += [topic for topic in TOPICS if rest.startswith(topic + " ")]
    return found


def test_a_sound_setup_passes(setup):
    _, runner = setup()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "Nothing wrong found." in result.output
    assert _problems(result.output) == []
    for topic in TOPICS:
        assert any(line.startswith("ok") and topic in line for line in result.output.splitlines()), topic


def _closed_port():
    return free_port()  # bound a moment ago and released: nothing listens there


@pytest.mark.parametrize(("broken", "overrides", "topic", "words"), [
    ("smtp", {"SMTP_PORT": "closed"}, "smtp", "cannot reach the SMTP server"),
    ("redis", {"REDIS_URL": "closed"}, "redis", "cannot reach Redis"),
    ("no public url", {"PUBLIC_URL": None}, "public url", "PARLEY_PUBLIC_URL is not set"),
    ("public url with a path", {"PUBLIC_URL": "https://comments.example.com/parley/"}, "public url",
     "is not an origin"),
    ("public url nobody answers", {"PUBLIC_URL": "closed"}, "public url", "does not answer"),
    ("no administrator", {}, "administrator", "parley user create-admin"),
])
def test_each_broken_setting_is_named_and_fails_the_check(setup, broken, overrides, topic, words):
    closed = _closed_port()
    replacements = {"closed": {"SMTP_PORT": closed, "REDIS_URL": f"redis://127.0.0.1:{closed}/0",
                               "PUBLIC_URL": f"http://127.0.0.1:{closed}"}}
    overrides = {key: replacements["closed"][key] if value == "closed" else value for key, value in overrides.items()}
    _, runner = setup(broken, **overrides)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1, result.output
    assert _problems(result.output) == [topic], result.output
    assert words in result.output


def test_a_public_url_that_reaches_another_server_is_found(setup, make_app, serve):
    other = free_port()
    serve(make_app(SECRET_KEY="another-install-with-its-own-secret-key"), other)
    _, runner = setup(PUBLIC_URL=f"http://127.0.0.1:{other}")
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert _problems(result.output) == ["public url"]
    assert "not as this server" in result.output


def test_a_site_without_origins_is_found(setup):
    app, runner = setup()
    with app.app_context():
        db.session.execute(text("UPDATE sites SET origins = '[]' WHERE public_id = 'blog'"))
        db.session.commit()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert _problems(result.output) == ["sites"]
    assert "blog" in result.output


def test_an_unreachable_database_is_reported_not_a_traceback(tmp_path):
    closed = _closed_port()
    env = dict(os.environ, DATABASE_URL=f"postgresql://parley@127.0.0.1:{closed}/parley",
               PARLEY_SECRET_KEY="check-test-secret-not-for-production", PARLEY_INSTANCE_PATH=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert _problems(result.stdout)[0] == "database"
    assert f"127.0.0.1:{closed}" in result.stdout and "problems found" in result.stderr


def _check_as_the_readme_deploys(tmp_path, later=None, **env):
    """`parley check` in its own process, with the environment of the README's production env file (no
    PARLEY_ENV in it) and an administrator made first, as the README does; with the `later` changes to it."""
    env = {key: value for key, value in os.environ.items() if key not in ("PARLEY_ENV", "DATABASE_URL")} | {
        "PARLEY_SECRET_KEY": "readme-secret-0123456789-abcdefghijklmnop", "PARLEY_TRUSTED_PROXIES": "127.0.0.1",
        "PARLEY_INSTANCE_PATH": str(tmp_path / "instance"), "PARLEY_PUBLIC_URL": f"http://127.0.0.1:{_closed_port()}",
    } | env
    command = [sys.executable, "-c", "from widget.command import main; main()"]
    made = subprocess.run([*command, "user", "create-admin", "you@example.com", "--password-stdin"], cwd=ROOT,
                          env=env, input="correct horse battery staple\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    return subprocess.run([*command, "check"], cwd=ROOT, env=env | (later or {}), capture_output=True, text=True,
                          timeout=120)


@pytest.mark.database_independent
def test_an_http_public_url_fails_the_check_of_a_server_gunicorn_runs_in_production(tmp_path):
    result = _check_as_the_readme_deploys(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checked as a production server" in result.stdout
    assert _problems(result.stdout) == ["public url"], result.stdout
    assert "is not https" in result.stdout
    # Checked as a development server when the env file says so, http is not the problem (nothing answers).
    development = _check_as_the_readme_deploys(tmp_path / "dev", PARLEY_ENV="development")
    assert "checked as a development server" in development.stdout
    assert "is not https" not in development.stdout and "does not answer" in development.stdout


@pytest.mark.database_independent
def test_a_placeholder_secret_fails_the_check_before_gunicorn_refuses_it(tmp_path):
    result = _check_as_the_readme_deploys(tmp_path, PARLEY_SECRET_KEY="change-me")
    assert result.returncode == 1
    assert _problems(result.stdout)[0] == "settings"
    assert "PARLEY_SECRET_KEY is a placeholder" in result.stdout


@pytest.mark.database_independent
def test_a_moderator_alert_period_of_no_minutes_fails_the_check(tmp_path):
    result = _check_as_the_readme_deploys(tmp_path, later={"PARLEY_MODERATOR_ALERT_MINUTES": "0"})
    assert result.returncode == 1
    assert _problems(result.stdout)[0] == "settings"
    assert "PARLEY_MODERATOR_ALERT_MINUTES must be a number above 0, not 0" in result.stdout


@pytest.mark.database_independent
def test_the_check_names_the_sqlite_file_itself(tmp_path):
    result = _check_as_the_readme_deploys(tmp_path)
    database = tmp_path / "instance" / "parley.sqlite3"
    assert f"ok       database       reachable (SQLite file {database})" in result.stdout, result.stdout
