"""First start: zero set-up on SQLite, the same on an empty PostgreSQL, health and the API description."""
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from widget import create_app

ROOT = Path(__file__).resolve().parent.parent


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.database_independent
def test_readme_run_command_starts_a_healthy_server_on_a_fresh_sqlite_file(tmp_path):
    """`flask --app app run` on an empty database: schema made, WAL on, /healthz answers."""
    database = tmp_path / "first.sqlite3"
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", PARLEY_SECRET_KEY="x")
    server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert json.load(response) == {"status": "ok", "database": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not answer /healthz within 60 s"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sites", "threads", "comments", "votes", "alembic_version"} <= tables


def test_default_database_lives_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "AUTO_MIGRATE": False})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///parley.sqlite3"
    with app.app_context():
        from widget.extensions import db
        assert str(db.engine.url.database).startswith(app.instance_path)


def test_database_url_selects_postgresql_with_psycopg(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example:5432/parley")
    from widget.config import database_url_from_env
    assert database_url_from_env() == "postgresql+psycopg://user@db.example:5432/parley"


def test_empty_postgresql_database_is_upgraded_on_first_start(fresh_postgres_url):
    # No background sender: it would go on polling this database after the fixture drops it, and print why.
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_postgres_url,
                      "BACKGROUND_SENDER": False})
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    runner = app.test_cli_runner()
    assert runner.invoke(args=["site", "add", "pg", "--name", "PG", "--origin", "https://pg.example"]).exit_code == 0
    response = client.post("/api/v1/comments", json={
        "site": "pg", "url": "https://pg.example/a", "body": "on postgres",
        "author": {"name": "P", "email": "p@example.org"}})
    assert response.status_code == 201
    with app.app_context():
        from widget.extensions import db
        assert db.engine.dialect.name == "postgresql"
        db.engine.dispose()


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_health_reports_an_unreachable_database(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.sqlite3", AUTO_MIGRATE=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_openapi_document_is_valid_and_covers_every_route(client, app):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    described = {path for path in document["paths"]}
    routed = {
        rule.rule.removeprefix("/api/v1").replace("<int:comment_id>", "{comment_id}").replace("<seed>", "{seed}")
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
    }
    assert routed == described


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "comments.example.com",
             "X-Forwarded-For": "203.0.113.9"}


def _avatar_url(app):
    app.test_cli_runner().invoke(args=["site", "add", "proxied", "--name", "P", "--origin", "https://p.example"])
    response = app.test_client().post("/api/v1/comments", headers=FORWARDED, json={
        "site": "proxied", "url": "https://p.example/a", "body": "x", "author": {"name": "A", "email": "a@p.example"}})
    return response.get_json()["comment"]["author"]["avatar_url"]


def test_forwarded_headers_are_ignored_unless_a_proxy_is_declared(make_app):
    assert _avatar_url(make_app()).startswith("http://comments.test/")


def test_declared_proxy_supplies_scheme_and_host(make_app):
    assert _avatar_url(make_app(PROXY_COUNT=1, SERVER_NAME=None)).startswith("https://comments.example.com/")


def test_postgresql_outage_answers_503_and_recovers_at_once(make_app, fresh_postgres_url):
    """The database goes away mid-service and comes back: 503s with Retry-After, never 500s, nothing half-written."""
    from dashboard_helpers import create_admin, logged_in
    from helpers import row_counts
    from sqlalchemy.engine import make_url
    from tcp_proxy import TcpProxy

    real = make_url(fresh_postgres_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    app = make_app(SQLALCHEMY_DATABASE_URI=real.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    runner, client = app.test_cli_runner(), app.test_client()
    assert runner.invoke(args=["site", "add", "pg", "--name", "PG", "--origin", "https://pg.example"]).exit_code == 0
    comment = {"site": "pg", "url": "https://pg.example/a", "body": "before the outage",
               "author": {"name": "P", "email": "p@example.org"}}
    assert client.post("/api/v1/comments", json=comment).status_code == 201
    create_admin(runner)
    moderator = logged_in(app)
    try:
        proxy.cut()
        posted = client.post("/api/v1/comments", json=comment | {"body": "during the outage"})
        assert posted.status_code == 503, posted.get_data(as_text=True)
        assert posted.headers["Retry-After"] == "5"
        assert posted.get_json()["error"]["code"] == "service_unavailable"
        read = client.get("/api/v1/threads", query_string={"site": "pg", "url": "https://pg.example/a"})
        assert read.status_code == 503 and read.get_json()["error"]["code"] == "service_unavailable"
        frame = client.get("/embed/thread", query_string={"site": "pg", "url": "https://pg.example/a",
                                                          "origin": "https://pg.example"})
        assert frame.status_code == 503 and "try again in a few seconds" in frame.get_data(as_text=True)
        assert frame.headers["Retry-After"] == "5"
        queue = moderator.get("/dashboard/sites/pg/queue")
        assert queue.status_code == 503 and queue.headers["Retry-After"] == "5"
        assert client.get("/healthz").status_code == 503
    finally:
        proxy.restore()
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/v1/comments", json=comment | {"body": "after the outage"}).status_code == 201
    bodies = [c["html"] for c in client.get("/api/v1/threads", query_string={
        "site": "pg", "url": "https://pg.example/a"}).get_json()["comments"]]
    assert bodies == ["<p>before the outage</p>", "<p>after the outage</p>"]
    assert row_counts(app)["comments"] == 2
    proxy.cut()
