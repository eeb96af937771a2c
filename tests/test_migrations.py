"""Upgrades: every released schema, with data in it, migrated to the newest, on the suite's database."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ORIGIN, SECRET
from dashboard_helpers import PASSWORD, log_in, submit
from sqlalchemy import create_engine, inspect, text
from werkzeug.security import generate_password_hash

from widget.comments import thread_key
from widget.tokens import digest

ROOT = Path(__file__).resolve().parent.parent
REVISIONS = sorted(path.name.split("_", 1)[0] for path in (ROOT / "migrations" / "versions").glob("[0-9]*.py"))
HEAD = REVISIONS[-1]
PAGE = f"{ORIGIN}/posts/migrated"
WHEN = "2025-01-02 03:04:05"
ADMIN = "owner@example.org"


def _upgrade(make_app, url, revision="head"):
    """`flask db upgrade REVISION`, as an owner runs it, by an app that does not upgrade by itself."""
    runner = make_app(SQLALCHEMY_DATABASE_URI=url, AUTO_MIGRATE=False).test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", revision])
    assert result.exit_code == 0, result.output
    return result


def _insert(connection, table, row):
    columns = ", ".join(f'"{name}"' for name in row)
    values = ", ".join(f":{name}" for name in row)
    return connection.execute(text(f'INSERT INTO "{table}" ({columns}) VALUES ({values}) RETURNING id'), row).scalar()


def _seed(url, revision):
    """Representative rows written with plain SQL, with only the tables and columns `revision` has."""
    def since(first):
        return revision >= first

    def only(first, **columns):
        return columns if since(first) else {}

    key, normalised = thread_key(PAGE)
    engine = create_engine(url)
    with engine.begin() as connection:
        site = _insert(connection, "sites", {
            "public_id": "blog", "name": "Migrated blog", "origins": json.dumps([ORIGIN]), "guests_allowed": True,
            "providers": None, "moderation": "none", "edit_window_minutes": 15, "max_depth": 5,
            "close_after_days": None, "max_body_length": 5000, "max_links": 3, "notify_email": None,
            "privacy_url": "https://blog.example.com/privacy", "created_at": WHEN, "updated_at": WHEN,
            **only("0005", reserved_names=json.dumps(["Editor"])), **only("0006", comments_per_hour=12),
            **only("0008", akismet_key=None)})
        if since("0018"):
            _insert(connection, "site_origins", {"site_id": site, "origin": ORIGIN, "host": "blog.example.com",
                                                 "how": "listed", "created_at": WHEN})
        user = None
        if since("0002"):
            user = _insert(connection, "users", {
                "display_name": "Grace", "avatar_url": None, "profile_url": "https://grace.example.org",
                "email": None, "created_at": WHEN, "last_login_at": WHEN})
            _insert(connection, "identities", {"user_id": user, "realm": "github", "subject": "4242",
                                               "provider": "github"})
        thread = _insert(connection, "threads", {
            "site_id": site, "key": key, "url": normalised, "url_hash": digest(normalised), "title": "Migrated post",
            "locked": False, "version": 4, "created_at": WHEN})

        def comment(body, parent=None, root=None, depth=1, **extra):
            return _insert(connection, "comments", {
                "thread_id": thread, "parent_id": parent, "root_id": root, "depth": depth, "status": "approved",
                "body": body, "html": f"<p>{body}</p>", "author_name": "Ada", "author_email": "ada@example.org",
                "author_website": "https://ada.example.org", "reader_key": "r" * 64, "notify": None,
                "likes": 0, "created_at": WHEN, "edited_at": None,
                **only("0003", pinned=False, edited_by_moderator=False, held_reasons=None, ip_hash=None),
                **only("0007", verdict="ham", spam_score=0.1), **only("0010", kind="comment", source_url=None),
                **only("0011", import_key=None), **extra})

        first = comment("The first comment", likes=1)
        reply = comment("A reply to it", parent=first, root=first, depth=2)
        _insert(connection, "votes", {"comment_id": first, "voter": "v" * 64, "created_at": WHEN})
        if user is not None:
            comment("Logged in with GitHub", author_name="Grace", author_email=None, reader_key=None,
                    user_id=user, author_avatar_url=None, provider="github")
        if since("0003"):
            _insert(connection, "dashboard_accounts", {
                "user_id": user, "email": ADMIN, "is_admin": True,
                "password_hash": generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"),
                "session_epoch": 0, "created_at": WHEN, "last_login_at": None})
            _insert(connection, "site_members", {"site_id": site, "user_id": user, "role": "owner", "created_at": WHEN})
            _insert(connection, "audit_log", {
                "site_id": site, "actor_id": user, "actor_name": "Grace", "action": "site.update",
                "target_type": "site", "target_id": site, "before": json.dumps({}), "after": json.dumps({}),
                "created_at": WHEN})
        if since("0009"):
            _insert(connection, "filter_tokens", {"site_id": site, "token": "hello", "ham": 1, "spam": 0})
        if since("0010"):
            recipient = _insert(connection, "mail_recipients", {
                "email": "ada@example.org", "language": "en", "confirmed_at": WHEN, "confirmation_sent_at": WHEN,
                "created_at": WHEN})
            _insert(connection, "subscriptions", {"recipient_id": recipient, "thread_id": thread, "comment_id": reply,
                                                  "kind": "replies", "target": f"c:{reply}", "created_at": WHEN})
            _insert(connection, "outbox", {
                "kind": "email", "site_id": site, "payload": json.dumps({"to": "ada@example.org"}),
                "dedupe_key": "seeded", "status": "done", "attempts": 1, "run_at": WHEN, "locked_until": None,
                "locked_by": None, "result": "sent", "created_at": WHEN, "finished_at": WHEN})
    engine.dispose()
    return {"first": first, "reply": reply, "users": user is not None, "staff": since("0003")}


def _revision(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_released_schema_with_data_upgrades_to_the_newest(make_app, fresh_database_url, revision):
    _upgrade(make_app, fresh_database_url, revision)
    assert _revision(fresh_database_url) == revision
    seeded = _seed(fresh_database_url, revision)

    _upgrade(make_app, fresh_database_url)
    assert _revision(fresh_database_url) == HEAD

    # The app reads what was there, as readers and moderators see it.
    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    client = app.test_client()
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE})
    assert page.status_code == 200, page.get_data(as_text=True)
    thread = page.get_json()
    assert thread["thread"]["title"] == "Migrated post"
    top = thread["comments"]
    assert [c["id"] for c in top][0] == seeded["first"]
    assert top[0]["html"] == "<p>The first comment</p>" and top[0]["likes"] == 1
    assert top[0]["author"]["name"] == "Ada" and top[0]["author"]["website"] == "https://ada.example.org"
    assert [reply["id"] for reply in top[0]["replies"]] == [seeded["reply"]]
    if seeded["users"]:
        assert top[1]["author"] == top[1]["author"] | {"name": "Grace", "provider": "github"}
    assert thread["thread"]["comment_count"] == 2 + seeded["users"]
    counts = client.get("/api/v1/counts", query_string={"site": "blog", "url": PAGE}).get_json()
    assert counts == {"counts": {PAGE: 2 + seeded["users"]}}

    # And keeps writing to it: new rows get fresh ids, the thread its next version.
    posted = client.post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
        "site": "blog", "url": PAGE, "parent_id": seeded["reply"], "body": "After the upgrade",
        "author": {"name": "Bea", "email": "bea@example.org"}})
    assert posted.status_code == 201, posted.get_data(as_text=True)
    assert posted.get_json()["comment"]["id"] > seeded["reply"]
    assert client.post(f"/api/v1/comments/{seeded['reply']}/like").status_code in (200, 201)

    listing = app.test_cli_runner().invoke(args=["site", "list"])
    assert "Migrated blog" in listing.output
    # Its origin is known to be its own: another site asking for it waits for proof.
    copied = app.test_cli_runner().invoke(args=["site", "add", "copy", "--name", "Copy", "--origin", ORIGIN])
    assert f"{ORIGIN} is on a host already used by blog" in copied.output, copied.output
    if seeded["staff"]:
        assert log_in(app.test_client(), ADMIN, PASSWORD).status_code == 302


def test_a_page_only_waiting_comments_named_before_the_upgrade_is_unknown_to_readers_after_it(
        make_app, fresh_database_url):
    # Before 0018 a held or spam comment made its page's thread, visible to readers, and named it.
    _upgrade(make_app, fresh_database_url, "0017")
    _seed(fresh_database_url, "0017")
    fresh = f"{ORIGIN}/posts/fresh"
    key, normalised = thread_key(fresh)
    engine = create_engine(fresh_database_url)
    with engine.begin() as connection:
        site = connection.execute(text("SELECT id FROM sites")).scalar()
        thread = _insert(connection, "threads", {
            "site_id": site, "key": key, "url": normalised, "url_hash": digest(normalised),
            "title": "Fresh post", "locked": False, "version": 1, "created_at": WHEN})
        held = _insert(connection, "comments", {
            "thread_id": thread, "depth": 1, "status": "pending", "body": "Waiting", "html": "<p>Waiting</p>",
            "author_name": "Bea", "author_email": "bea@example.org", "likes": 0, "created_at": WHEN, "pinned": False,
            "edited_by_moderator": False, "kind": "comment"})
    engine.dispose()

    _upgrade(make_app, fresh_database_url)
    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    client = app.test_client()
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": fresh}).get_json()
    assert page["thread"] == {"id": None, "url": fresh, "title": None, "locked": False, "comment_count": 0}
    feed = client.get("/feeds/blog/thread.atom", query_string={"url": fresh}).get_data(as_text=True)
    assert "Fresh post" not in feed
    # The title waits with the comment that gave it: a moderator who publishes it publishes its title too.
    moderator = app.test_client()
    assert log_in(moderator, ADMIN, PASSWORD).status_code == 302
    assert submit(moderator, f"/dashboard/sites/blog/comments/{held}/moderate",
                  {"action": "approve"}).status_code in (200, 302)
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": fresh}).get_json()
    assert page["thread"]["title"] == "Fresh post" and page["thread"]["comment_count"] == 1


def _schema(url):
    """Every table's columns, indexes, unique and foreign keys, and how many rows it holds."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            return {table: (found.get_columns(table), found.get_indexes(table), found.get_unique_constraints(table),
                            found.get_foreign_keys(table),
                            connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar())
                    for table in found.get_table_names()}
    finally:
        engine.dispose()


def test_upgrade_on_an_up_to_date_database_changes_nothing(make_app, fresh_database_url):
    _upgrade(make_app, fresh_database_url)
    _seed(fresh_database_url, HEAD)
    before = _schema(fresh_database_url)
    _upgrade(make_app, fresh_database_url)
    assert _revision(fresh_database_url) == HEAD
    assert repr(_schema(fresh_database_url)) == repr(before)
    # And the migrated schema is the one the models describe: nothing left for a new migration.
    checked = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url, AUTO_MIGRATE=False).test_cli_runner().invoke(
        args=["db", "check"])
    assert checked.exit_code == 0, checked.output


def test_downgrade_to_the_first_schema_keeps_the_comments_and_comes_back(make_app, fresh_database_url):
    _upgrade(make_app, fresh_database_url)
    seeded = _seed(fresh_database_url, HEAD)
    runner = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url, AUTO_MIGRATE=False).test_cli_runner()
    down = runner.invoke(args=["db", "downgrade", REVISIONS[0]])
    assert down.exit_code == 0, down.output
    assert _revision(fresh_database_url) == REVISIONS[0]
    engine = create_engine(fresh_database_url)
    with engine.connect() as connection:
        bodies = connection.execute(text("SELECT body FROM comments ORDER BY id")).scalars().all()
        assert "users" not in inspect(connection).get_table_names()
    engine.dispose()
    assert bodies[:2] == ["The first comment", "A reply to it"]
    # Back up again, by the server itself on start this time.
    client = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url).test_client()
    assert _revision(fresh_database_url) == HEAD
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()
    assert page["comments"][0]["id"] == seeded["first"]


def test_a_server_refuses_to_start_on_a_database_newer_than_its_code(make_app, fresh_database_url):
    _upgrade(make_app, fresh_database_url)
    engine = create_engine(fresh_database_url)
    with engine.begin() as connection:  # as a later version of Parley would leave it
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    env = dict(os.environ, DATABASE_URL=fresh_database_url, PARLEY_SECRET_KEY=SECRET)
    started = subprocess.run([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", "127.0.0.1:0", "app:app"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "The database is at schema revision '0099_from_the_future', which this version of Parley does not " \
           "know" in started.stderr
    assert _revision(fresh_database_url) == "0099_from_the_future"  # and nothing was changed
