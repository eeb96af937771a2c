"""Safe defaults and what a production server says: refusals at start, the settings it logs, JSON logs with
request ids, the front door, the favicon and the caching of static files."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from processes import free_port, start, stop, wait_for_health

from widget import create_app
from widget.startup import UnsafeConfiguration

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "a-long-production-secret-that-nobody-guesses"


def _gunicorn(tmp_path, **env):
    """`gunicorn` in the checkout, as the README's production section runs it."""
    port = free_port()
    variables = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    variables |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'parley.sqlite3'}", "PARLEY_BIND": f"127.0.0.1:{port}",
                  "PARLEY_WORKERS": "1", "PARLEY_INSTANCE_PATH": str(tmp_path / "instance"),
                  "PARLEY_BACKGROUND_SENDER": "false"} | env
    return start([sys.executable, "-m", "gunicorn"], tmp_path / "gunicorn.log", cwd=ROOT, env=variables), port


@pytest.mark.parametrize(("secret", "words"), [
    (None, "PARLEY_SECRET_KEY is not set"),
    ("change-me", "PARLEY_SECRET_KEY is a placeholder"),
    ("short", "PARLEY_SECRET_KEY is a placeholder or shorter than 24 characters"),
])
def test_gunicorn_refuses_to_start_without_a_real_secret(tmp_path, secret, words):
    server, _ = _gunicorn(tmp_path, **({"PARLEY_SECRET_KEY": secret} if secret else {}))
    try:
        server.wait(timeout=90)
    finally:
        log = stop(server)
    assert server.returncode != 0
    assert "Parley will not start" in log and words in log and "(PARLEY_ENV=production)" in log


@pytest.mark.parametrize("threads", [{"PARLEY_THREADS": "40"}, {"GUNICORN_CMD_ARGS": "--threads 40"}])
def test_gunicorn_refuses_fewer_threads_than_live_streams(tmp_path, threads):
    server, _ = _gunicorn(tmp_path, PARLEY_SECRET_KEY=GOOD_SECRET, **threads)
    try:
        server.wait(timeout=90)
    finally:
        log = stop(server)
    assert server.returncode != 0
    assert "PARLEY_THREADS (or --threads: 40) must be above PARLEY_LIVE_MAX_CONNECTIONS (50)" in log


@pytest.mark.parametrize(("minutes", "said"), [("0", "0"), ("-5", "-5"), ("soon", "'soon'")])
def test_gunicorn_refuses_a_moderator_alert_period_that_is_not_some_minutes(tmp_path, minutes, said):
    # Taken as it is, a period of 0 minutes divides by zero in every held comment's alert: none would be sent.
    server, _ = _gunicorn(tmp_path, PARLEY_SECRET_KEY=GOOD_SECRET, PARLEY_MODERATOR_ALERT_MINUTES=minutes)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass  # it started, and the assertions below say so
    finally:
        log = stop(server)
    assert "Parley will not start" in log
    assert f"PARLEY_MODERATOR_ALERT_MINUTES must be a number above 0, not {said}" in log


@pytest.mark.parametrize(("name", "value"), [
    ("MODERATOR_ALERT_MINUTES", "0"), ("MODERATOR_ALERT_MINUTES", "NaN"), ("MODERATOR_ALERT_MINUTES", "true"),
    ("OUTBOX_FETCH_THREADS", "0"), ("OUTBOX_WEBHOOK_THREADS", "1.5"), ("OUTBOX_WEBHOOK_THREADS", "many"),
])
def test_numbers_that_would_fail_later_are_refused_at_start(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv("PARLEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(f"PARLEY_{name}", value)
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": GOOD_SECRET,
              "BACKGROUND_SENDER": False}
    with pytest.raises(UnsafeConfiguration, match=f"PARLEY_{name} must be a (whole )?number above 0"):
        create_app(config)
    monkeypatch.setenv(f"PARLEY_{name}", "3")
    assert create_app(config).config[name] == 3


def test_a_misspelt_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(UnsafeConfiguration, match="PARLEY_ENV must be production or development, not 'prod'"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "ENV": "prod",
                    "SECRET_KEY": GOOD_SECRET})


def test_a_production_server_logs_its_settings_with_secrets_masked(tmp_path):
    server, port = _gunicorn(tmp_path, PARLEY_SECRET_KEY=GOOD_SECRET, PARLEY_SMTP_HOST="mail.example.com",
                             PARLEY_PUBLIC_URL="https://comments.example.com",
                             PARLEY_SMTP_USER="parley", PARLEY_SMTP_PASSWORD="smtp-password-1234",
                             PARLEY_GITHUB_CLIENT_ID="Ov23li-public-id",
                             PARLEY_GITHUB_CLIENT_SECRET="github-secret-9876")
    try:
        wait_for_health(server, f"http://127.0.0.1:{port}/healthz")
    finally:
        log = stop(server)
    [settings] = [line for line in log.splitlines() if "starting with" in line][:1]
    assert "ENV='production'" in settings and "DEMO=False" in settings
    assert "SMTP_HOST='mail.example.com'" in settings and "GITHUB_CLIENT_ID='Ov23li-public-id'" in settings
    for secret in (GOOD_SECRET, "smtp-password-1234", "github-secret-9876"):
        assert secret not in log
    assert "SECRET_KEY='********'" in settings and "SMTP_PASSWORD='********'" in settings


def test_a_database_password_is_never_logged(make_app, capsys):
    with pytest.raises(Exception):  # noqa: B017 - nothing listens there; only what was logged matters here
        create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://parley:db-password-5555@127.0.0.1:{free_port()}/x",
                    "SECRET_KEY": GOOD_SECRET})
    logged = capsys.readouterr().err
    assert "starting with" in logged and "db-password-5555" not in logged and "parley:***@127.0.0.1" in logged


def test_development_and_tests_need_no_secret_but_production_does(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_INSTANCE_PATH", str(tmp_path))
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "AUTO_MIGRATE": False}
    assert create_app(config).config["SECRET_KEY"]  # made once and kept in the instance folder
    with pytest.raises(UnsafeConfiguration, match="PARLEY_SECRET_KEY is not set"):
        create_app(config | {"ENV": "production"})
    assert create_app(config | {"ENV": "production", "SECRET_KEY": GOOD_SECRET}).config["ENV"] == "production"


def test_a_production_server_that_sends_email_needs_its_public_url(tmp_path, monkeypatch):
    # Else the links in emails, a moderator's approve link among them, come from the Host header of the
    # request that caused them: a commenter's "Host: attacker.example" would send the token there.
    monkeypatch.setenv("PARLEY_INSTANCE_PATH", str(tmp_path))
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "AUTO_MIGRATE": False,
              "ENV": "production", "SECRET_KEY": GOOD_SECRET, "SMTP_HOST": "mail.example.com"}
    with pytest.raises(UnsafeConfiguration, match="PARLEY_SMTP_HOST is set without PARLEY_PUBLIC_URL"):
        create_app(config)
    assert create_app(config | {"PUBLIC_URL": "https://comments.example.com"}).config["ENV"] == "production"


def test_the_demo_is_off_unless_asked_for(tmp_path, monkeypatch):
    monkeypatch.delenv("PARLEY_DEMO", raising=False)
    monkeypatch.setenv("PARLEY_INSTANCE_PATH", str(tmp_path))
    # No background sender: one started by these requests would outlive the test.
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": GOOD_SECRET,
              "BACKGROUND_SENDER": False}
    assert create_app(config).test_client().get("/demo").status_code == 404
    monkeypatch.setenv("PARLEY_DEMO", "true")
    assert create_app(config).test_client().get("/demo").status_code == 200


# Logs and request ids ------------------------------------------------------------------------------------

def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_every_answer_carries_a_request_id_and_keeps_a_sane_one(client, site):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/healthz").headers["X-Request-ID"] != made
    given = "edge-4bf92f3577b34da6a3ce929d0e0e4736"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    for hostile in ("short", "x" * 200, "two words here", "<script>alert(1)</script>"):
        answered = client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert answered != hostile and re.fullmatch(r"[0-9a-f]{32}", answered)
    # Answers the read cache gives without the app carry one too.
    read = f"/api/v1/threads?site={site}&url=https://blog.example.com/post"
    client.get(read)
    assert re.fullmatch(r"[0-9a-f]{32}", client.get(read).headers["X-Request-ID"])


def test_a_500_is_logged_as_json_with_its_traceback_and_the_reader_sees_its_id(make_app, capsys):
    app = make_app(LOG_FORMAT="json")

    def explode():
        raise RuntimeError("the disk caught fire")

    # A view that fails as a bug would: the app-wide handler answers for every surface.
    app.add_url_rule("/explode", view_func=explode)
    app.add_url_rule("/api/v1/explode", view_func=explode, endpoint="api_explode")
    client = app.test_client()
    capsys.readouterr()

    page = client.get("/explode", headers={"Accept": "text/html"})
    assert page.status_code == 500
    request_id = page.headers["X-Request-ID"]
    assert f"Request id: {request_id}" in page.get_data(as_text=True)

    answer = client.get("/api/v1/explode", headers={"X-Request-ID": "trace-0123456789abcdef"})
    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "internal_error"
    assert "trace-0123456789abcdef" in answer.get_json()["error"]["message"]

    errors = [line for line in _json_lines(capsys.readouterr().err) if line["level"] == "ERROR"]
    assert [line["request_id"] for line in errors] == [request_id, "trace-0123456789abcdef"]
    for line in errors:
        assert "RuntimeError: the disk caught fire" in line["traceback"] and line["logger"] == "widget"


def test_a_503_for_a_lost_database_is_logged_with_its_traceback_and_id(make_app, capsys, tmp_path):
    app = make_app(LOG_FORMAT="json", AUTO_MIGRATE=False,
                   SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'no-such-folder' / 'parley.sqlite3'}")
    capsys.readouterr()
    answer = app.test_client().get("/api/v1/threads?site=blog&url=https://blog.example.com/post")
    assert answer.status_code == 503
    request_id = answer.headers["X-Request-ID"]
    assert request_id in answer.get_json()["error"]["message"]
    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    logged = [line for line in _json_lines(capsys.readouterr().err) if line["level"] == "ERROR"]
    assert [line["request_id"] for line in logged] == [request_id, health.headers["X-Request-ID"]]
    assert all("OperationalError" in line["traceback"] for line in logged)


def test_an_unknown_log_format_is_refused_at_start(make_app):
    with pytest.raises(ValueError, match="PARLEY_LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")


# The front door, the favicon, static files -----------------------------------------------------------------

def test_the_front_door_says_what_this_is_and_nothing_about_its_sites(client, runner, site):
    assert runner.invoke(args=["site", "add", "secret-blog", "--name", "Hidden Diary",
                               "--origin", "https://diary.example.org"]).exit_code == 0
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Parley comment server" in html
    assert 'href="/dashboard/"' in html and 'href="/api/v1/openapi.json"' in html
    for private in ("blog.example.com", "secret-blog", "Hidden Diary", "diary.example.org", site):
        assert private not in html
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert client.get(re.search(r'href="(/api/v1/openapi.json)"', html).group(1)).status_code == 200
    assert client.get("/dashboard/", follow_redirects=True).status_code == 200


def test_the_favicon_is_an_icon_cached_for_a_day(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert icon.headers["Cache-Control"] == "public, max-age=86400"
    assert client.get("/favicon.ico", headers={"If-None-Match": icon.headers["ETag"]}).status_code == 304


def test_static_files_are_immutable_only_under_their_fingerprint(client):
    html = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/widget/error\.css\?v=[0-9a-f]{16})"', html).group(1)
    assert client.get(url).headers["Cache-Control"] == "public, max-age=31536000, immutable"
    path = url.split("?")[0]
    assert client.get(path).headers["Cache-Control"] == "no-cache"
    assert client.get(path + "?v=0123456789abcdef").headers["Cache-Control"] == "no-cache"

