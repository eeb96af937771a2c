"""Many readers posting at once to the production set-up the README advises (gunicorn -w 4).

Runs on the suite's database kind: a fresh SQLite file, or a fresh PostgreSQL database when the
suite runs on PostgreSQL. Every post must be answered 201 with its own comment, and every one
must be stored.
"""
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from widget import create_app

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
POSTS_EACH = 250
PAGES = [f"https://blog.example.com/posts/{n}" for n in range(5)]
ORIGIN = "https://blog.example.com"
SECRET = "concurrency-test-secret-not-for-production"


def _free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(database_url):
    """Schema and a site, made as an owner would: create the app once, add the site from the CLI."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET})
    result = app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from widget.extensions import db

        db.engine.dispose()


class Gunicorn:
    def __init__(self, database_url, workers=4, options=(), env=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # 2,000 posts from one address are a flood by the rate limits' measure, and posts without form tokens
        # are held as a script's: these tests are about concurrent writes and what readers see, so they turn
        # both off (tests/test_rate_limits.py and tests/test_spam.py test them).
        env = dict(os.environ, DATABASE_URL=database_url, PARLEY_SECRET_KEY=SECRET, PARLEY_RATELIMIT_ENABLED="false",
                   PARLEY_SPAM_FORM_TOKENS="false", **(env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), *options, "-b", f"127.0.0.1:{self.port}", "app:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait_until_healthy(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read()
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not answer /healthz in time")

    def stop(self):
        self.process.terminate()
        try:
            _, stderr = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return stderr


def _poster(server_url, client_number, outcomes):
    session = requests.Session()
    for n in range(POSTS_EACH):
        body = f"client {client_number} comment {n}"
        payload = {"site": "blog", "url": PAGES[(client_number + n) % len(PAGES)], "body": body,
                   "author": {"name": f"Reader {client_number}", "email": f"r{client_number}@example.org"}}
        try:
            response = session.post(f"{server_url}/api/v1/comments", json=payload, headers={"Origin": ORIGIN},
                                    timeout=60)
        except requests.RequestException as error:
            outcomes.append((body, "no answer", str(error)))
            continue
        if response.status_code != 201:
            outcomes.append((body, response.status_code, response.text[:300]))
        elif response.json()["comment"]["html"] != f"<p>{body}</p>":
            outcomes.append((body, "wrong comment", response.text[:300]))
        else:
            outcomes.append((body, 201, response.json()["comment"]["id"]))


def test_2000_concurrent_posts_under_four_workers_all_succeed_and_are_all_stored(fresh_database_url):
    _prepare(fresh_database_url)
    server = Gunicorn(fresh_database_url)
    try:
        server.wait_until_healthy()
        outcomes = []
        threads = [threading.Thread(target=_poster, args=(server.url, c, outcomes)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        log = server.stop()
    failures = [outcome for outcome in outcomes if outcome[1] != 201]
    assert not failures, f"{len(failures)} of {len(outcomes)} posts failed, e.g. {failures[:3]}\n{log[-2000:]}"
    assert len(outcomes) == CLIENTS * POSTS_EACH
    acknowledged = {body for body, _, _ in outcomes}
    assert len({comment_id for _, _, comment_id in outcomes}) == len(outcomes)  # one id each

    engine = create_engine(fresh_database_url)
    with engine.connect() as connection:
        stored = set(connection.execute(text("SELECT body FROM comments")).scalars())
        threads_made = connection.execute(text("SELECT count(*) FROM threads")).scalar()
    engine.dispose()
    assert stored == acknowledged  # nothing lost, nothing extra
    assert threads_made == len(PAGES)  # racing first comments on a page made one thread, not several


def _hold_comment_writes(database_url):
    """A connection from elsewhere that keeps anyone else from writing comments until it is closed."""
    if database_url.startswith("sqlite:///"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, for the whole database
        return holder
    import psycopg

    holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://", 1))
    holder.execute("LOCK TABLE comments IN EXCLUSIVE MODE")  # others may still read the table
    return holder


def test_a_post_checks_without_the_write_lock_and_waits_for_it_only_to_write(app, site, post):
    """Another writer holds the comments (on SQLite, the whole database's one write lock: a long import,
    a backup being restored, another worker). A post's checks run beside it, so a refused post is
    answered at once, and an accepted one waits its turn instead of failing."""
    assert post(body="The first comment").status_code == 201  # the page's thread exists
    holder = _hold_comment_writes(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        refused = post(body="A reply to nothing", parent_id=999_999)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (400, "unknown_parent")
        too_many = post(body=" ".join(f"https://spam.example/{n}" for n in range(50)))
        assert (too_many.status_code, too_many.get_json()["error"]["code"]) == (400, "too_many_links")
        answers = []
        waiting = threading.Thread(target=lambda: answers.append(post(body="Posted while another writes")))
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and not answers  # checked, and now waiting for the lock
    finally:
        holder.commit()
        holder.close()
    waiting.join(10)
    assert answers[0].status_code == 201, answers[0].get_json()
    shown = [c["html"] for c in app.test_client().get(
        "/api/v1/threads", query_string={"site": site, "url": "https://blog.example.com/posts/hello"}).get_json()
        ["comments"]]
    assert shown == ["<p>The first comment</p>", "<p>Posted while another writes</p>"]
