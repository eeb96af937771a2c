"""`flask backup` and `flask restore`: a live database copied while comments keep arriving, and brought back."""
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ORIGIN
from helpers import serve_in_background
from sqlalchemy import create_engine, text
from werkzeug.serving import WSGIRequestHandler, make_server

from widget.extensions import db

PAGES = [f"{ORIGIN}/posts/{n}" for n in range(3)]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass  # hundreds of posts: their access log would bury a failure's output


class LiveServer:
    """The app on a real loopback server, in a thread, as a reader's browser reaches it."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = serve_in_background(self._server)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


class Writers:
    """Readers posting comments over HTTP, one after another, until stopped; each post noted with its times."""

    def __init__(self, server_url, count=3):
        self.server_url = server_url
        self.posts = []  # (started, acknowledged, comment id), monotonic seconds
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(count)]
        for thread in self._threads:
            thread.start()

    def _write(self, writer):
        n = 0
        while not self._stop.is_set():
            n += 1
            payload = {"site": "blog", "url": PAGES[n % len(PAGES)], "body": f"writer {writer} comment {n}",
                       "author": {"name": f"Writer {writer}", "email": f"w{writer}@example.org"}}
            request = urllib.request.Request(f"{self.server_url}/api/v1/comments", data=json.dumps(payload).encode(),
                                             headers={"Content-Type": "application/json", "Origin": ORIGIN})
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    comment = json.load(response)["comment"]
            except (urllib.error.URLError, OSError) as error:
                with self._lock:
                    self.failures.append(repr(error))
                continue
            with self._lock:
                self.posts.append((started, time.monotonic(), comment["id"], comment["status"]))

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.posts) < count:
            assert time.monotonic() < deadline, f"only {len(self.posts)} posts in {timeout} s: {self.failures[:3]}"
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def _close(app):
    """Let go of every database connection an app holds, as a stopped server would."""
    if read_cache := app.extensions.get("parley.read_cache"):
        read_cache.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _comment_ids(client):
    ids = set()
    for page in PAGES:
        response = client.get("/api/v1/threads", query_string={"site": "blog", "url": page, "limit": 200})
        assert response.status_code in (200, 404), response.get_data(as_text=True)
        if response.status_code == 200:
            thread = response.get_json()
            ids |= {comment["id"] for comment in thread["comments"]}
            assert thread["thread"]["comment_count"] == len(thread["comments"])
            assert thread["next_cursor"] is None
    return ids


def _consistency(url):
    """Per thread: its comments, and its version less its comments (each post bumps the version once)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
            rows = connection.execute(text(
                "SELECT threads.id, threads.version, count(comments.id) FROM threads "
                "LEFT JOIN comments ON comments.thread_id = threads.id GROUP BY threads.id, threads.version")).all()
            orphans = connection.execute(text(
                "SELECT count(*) FROM comments WHERE thread_id NOT IN (SELECT id FROM threads)")).scalar()
    finally:
        engine.dispose()
    assert orphans == 0
    return {thread_id: version - count for thread_id, version, count in rows}


def test_backup_and_restore_round_trip_while_comments_keep_arriving(make_app, fresh_database_url, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN]).exit_code == 0
    server = LiveServer(app)
    writers = Writers(server.url)
    try:
        writers.wait_for(30)
        backup_started = time.monotonic()
        result = runner.invoke(args=["backup", "--dir", str(tmp_path / "backups")])
        backup_ended = time.monotonic()
        assert result.exit_code == 0, result.output
        posted_so_far = len(writers.posts)
        writers.wait_for(posted_so_far + 20)  # and comments keep coming after it

        # While the server holds the database, a restore is refused and changes nothing.
        backup_file = Path(result.output.split("Backed up to ")[1].split(" (")[0])
        refused = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url).test_cli_runner().invoke(
            args=["restore", "--yes", str(backup_file)])
        assert refused.exit_code == 1
        assert "is in use" in refused.output and "stop the server and any workers first" in refused.output
        assert "Traceback" not in refused.output
    finally:
        writers.stop()
        server.stop()
    assert not writers.failures, writers.failures[:3]
    live_ids = _comment_ids(app.test_client())
    assert live_ids == {post[2] for post in writers.posts}
    live_offsets = _consistency(fresh_database_url)
    _close(app)

    assert backup_file.parent == tmp_path / "backups"
    assert backup_file.name.startswith("parley-")
    # The writers were busy while the backup ran: some post was under way when it started or during it.
    assert any(started < backup_ended and acknowledged > backup_started
               for started, acknowledged, _, _ in writers.posts)
    acknowledged_before = {id_ for _, acknowledged, id_, _ in writers.posts if acknowledged < backup_started}
    started_after = {id_ for started, _, id_, _ in writers.posts if started > backup_ended}
    assert len(acknowledged_before) >= 30 and len(started_after) >= 20
    assert all(status == "approved" for *_, status in writers.posts)

    restorer = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    restored = restorer.test_cli_runner().invoke(args=["restore", "--yes", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.output

    # The restored database: everything acknowledged before the backup, nothing begun after it,
    # consistent with itself, and served.
    served = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    restored_ids = _comment_ids(served.test_client())
    assert acknowledged_before <= restored_ids
    assert not started_after & restored_ids
    assert restored_ids < live_ids
    offsets = _consistency(fresh_database_url)
    assert set(offsets.values()) == set(live_offsets.values()) and len(set(offsets.values())) == 1
    posted = served.test_client().post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
        "site": "blog", "url": PAGES[0], "body": "after the restore",
        "author": {"name": "A", "email": "a@example.org"}})
    assert posted.status_code == 201, posted.get_data(as_text=True)
    assert posted.get_json()["comment"]["id"] not in restored_ids


def _backup(runner, directory, *extra):
    result = runner.invoke(args=["backup", "--dir", str(directory), *extra])
    assert result.exit_code == 0, result.output
    return Path(result.output.split("Backed up to ")[1].split(" (")[0])


def test_retention_keeps_the_newest_and_only_deletes_parleys_own_files(app, runner, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "parley-manual-copy.sqlite3").write_text("also mine")
    made = [_backup(runner, folder, "--keep", "2") for _ in range(4)]
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["notes.txt", "parley-manual-copy.sqlite3", made[2].name, made[3].name])
    assert made == sorted(made)  # names sort by time
    _backup(runner, folder, "--keep", "0")
    assert len(list(folder.glob("parley-2*"))) == 3


def test_backup_folder_and_retention_come_from_the_config(make_app, tmp_path):
    app = make_app(BACKUP_FOLDER=str(tmp_path / "configured"), BACKUP_KEEP=1)
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["backup"])
        assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "configured").iterdir())) == 1


def test_backup_into_a_folder_that_cannot_be_made_says_why(runner, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = runner.invoke(args=["backup", "--dir", str(blocker / "backups")])
    assert result.exit_code == 1
    assert "cannot make the backup folder" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"SQLite format 3\x00" + b"\x00" * 200,
                                     b"PGDMP garbage"])
def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path, content, post):
    assert post().status_code == 201
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(content)
    result = runner.invoke(args=["restore", "--yes", str(bogus)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert post(body="still here").status_code == 201  # the database was not touched


def test_restore_refuses_a_missing_file_and_asks_before_replacing(runner, tmp_path):
    missing = runner.invoke(args=["restore", "--yes", str(tmp_path / "nope.sqlite3")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    backup_file = _backup(runner, tmp_path)
    declined = runner.invoke(args=["restore", str(backup_file)], input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output


def test_restore_refuses_a_backup_of_a_newer_schema(make_app, fresh_database_url, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    runner = app.test_cli_runner()
    engine = create_engine(fresh_database_url)
    with engine.begin() as connection:  # as a later version of Parley would leave it
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    backup_file = _backup(runner, tmp_path)
    _close(app)
    result = runner.invoke(args=["restore", "--yes", str(backup_file)])
    assert result.exit_code == 1
    assert "newer than this version of Parley knows" in result.output
