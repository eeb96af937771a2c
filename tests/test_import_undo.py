"""Running an import again with a corrected --map-url, listing imports and taking one back: what an owner who
got the mapping wrong the first time sees."""
import re

import pytest
from test_dashboard_import import IMPORT, owner, queued, status, upload  # noqa: F401  (owner: a fixture)
from test_import import MOVE, SOURDOUGH, WXR, imported, page, stored, table_sizes

from widget import worker

WRONG = "http://old.example.com/→https://blog.example.com/wrong/"
WRONG_SOURDOUGH = "https://blog.example.com/wrong/2023/05/sourdough/"


def batch_number(output):
    return int(re.search(r"This is import (\d+): to take back what it added, run import undo \1\.", output)[1])


def counts(client, *urls):
    answer = client.get("/api/v1/counts", query_string={"site": "blog", "url": list(urls)})
    assert answer.status_code == 200
    return answer.get_json()["counts"]


def test_a_second_run_with_a_corrected_mapping_moves_the_comments_and_adds_none(app, runner, site, read, client):
    imported(runner, "wordpress", WXR, "--map-url", WRONG)
    first = stored(app)
    assert page(read, WRONG_SOURDOUGH)["thread"]["comment_count"] == 5
    again = imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert "Imported 0 comments." in again and "already imported: 10" in again
    assert "Moved 10 comments, with the replies to them, from the pages an earlier import put them on" in again
    now = stored(app)
    # One copy of each, the same rows (ids, tree), now on the pages the corrected mapping names.
    assert len(now) == len(first) == 10
    assert {key: (c["id"], c["parent_id"], c["root_id"], c["depth"]) for key, c in now.items()} == {
        key: (c["id"], c["parent_id"], c["root_id"], c["depth"]) for key, c in first.items()}
    assert {c["url"] for c in now.values()} == {SOURDOUGH, "https://blog.example.com/about/"}
    # Readers see them there, and the old pages are empty: counts and stored pages follow at once.
    assert page(read, SOURDOUGH)["thread"]["comment_count"] == 5
    assert page(read, WRONG_SOURDOUGH)["thread"]["comment_count"] == 0
    assert counts(client, SOURDOUGH, WRONG_SOURDOUGH) == {SOURDOUGH: 5, WRONG_SOURDOUGH: 0}
    # A third run finds everything where it belongs.
    third = imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert "Moved" not in third and "already imported: 10" in third


def test_readers_replies_move_with_the_imported_comment_they_answer(app, runner, site, read, post):
    imported(runner, "wordpress", WXR, "--map-url", WRONG)
    zoe = page(read, WRONG_SOURDOUGH)["comments"][0]
    reply = post(url=WRONG_SOURDOUGH, parent_id=zoe["id"], body="A reader's answer, posted after the import")
    assert reply.status_code == 201, reply.get_json()
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    moved = page(read, SOURDOUGH)["comments"][0]
    assert moved["id"] == zoe["id"]
    assert reply.get_json()["comment"]["id"] in [r["id"] for r in moved["replies"]]
    assert page(read, WRONG_SOURDOUGH)["comments"] == []


def test_a_dry_run_says_what_a_corrected_mapping_would_move_and_moves_nothing(app, runner, site):
    imported(runner, "wordpress", WXR, "--map-url", WRONG)
    before = stored(app)
    dry = imported(runner, "wordpress", WXR, "--map-url", MOVE, "--dry-run")
    assert "would import 0 comments" in dry and "Would move 10 comments" in dry
    assert stored(app) == before


def test_import_list_shows_each_run_and_undo_takes_one_back(app, runner, site, read, client):
    first = batch_number(imported(runner, "wordpress", WXR, "--map-url", MOVE))
    listing = runner.invoke(args=["import", "list", "--site", "blog"])
    assert listing.exit_code == 0
    assert re.search(rf"^\s*{first}\s+\S+ \S+\s+WordPress export: wordpress.xml \(by command line\)\s+10 comments$",
                     listing.output, re.M), listing.output

    dry = runner.invoke(args=["import", "undo", str(first), "--site", "blog", "--dry-run"])
    assert dry.exit_code == 0
    assert f"Dry run, nothing was changed: would remove 10 comments of import {first}, and 2 pages" in dry.output
    assert table_sizes(app)[:2] == (2, 10)

    undone = runner.invoke(args=["import", "undo", str(first), "--site", "blog"])
    assert undone.exit_code == 0, undone.output
    assert f"Removed 10 comments of import {first}, and 2 pages it had made." in undone.output
    assert table_sizes(app)[:2] == (0, 0)
    assert read(url=SOURDOUGH).get_json()["comments"] == []
    assert counts(client, SOURDOUGH) == {SOURDOUGH: 0}
    assert "undone" in runner.invoke(args=["import", "list", "--site", "blog"]).output
    again = runner.invoke(args=["import", "undo", str(first), "--site", "blog"])
    assert again.exit_code != 0 and f"import {first} was undone already" in again.output
    # And the file imports again from scratch.
    assert "Imported 10 comments" in imported(runner, "wordpress", WXR, "--map-url", MOVE)


def test_undo_keeps_readers_replies_under_a_placeholder(app, runner, site, read, post):
    number = batch_number(imported(runner, "wordpress", WXR, "--map-url", MOVE))
    zoe = page(read, SOURDOUGH)["comments"][0]
    anna = zoe["replies"][0]
    reply = post(url=SOURDOUGH, parent_id=anna["id"], body="Posted here, after the import")
    assert reply.status_code == 201
    reply_id = reply.get_json()["comment"]["id"]
    before = page(read, SOURDOUGH)["thread"]["comment_count"]

    undone = runner.invoke(args=["import", "undo", str(number), "--site", "blog"])
    assert undone.exit_code == 0, undone.output
    assert "Removed 8 comments" in undone.output
    assert "2 imported comments have replies posted here since: they stay as deleted placeholders" in undone.output
    thread = page(read, SOURDOUGH)
    [placeholder] = thread["comments"]
    assert (placeholder["id"], placeholder["status"], placeholder["html"]) == (zoe["id"], "deleted", "")
    [middle] = placeholder["replies"]
    assert (middle["id"], middle["status"]) == (anna["id"], "deleted")
    assert [r["id"] for r in middle["replies"]] == [reply_id]
    assert thread["thread"]["comment_count"] == 1 < before
    assert read(url="https://blog.example.com/about/").get_json()["comments"] == []
    # The placeholders are no longer imported comments: a new run adds the file's comments again.
    assert "Imported 10 comments" in imported(runner, "wordpress", WXR, "--map-url", MOVE)


def test_undo_of_another_sites_import_is_refused(app, runner, site):
    number = batch_number(imported(runner, "wordpress", WXR, "--map-url", MOVE))
    assert runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin",
                               "https://other.example.org"]).exit_code == 0
    result = runner.invoke(args=["import", "undo", str(number), "--site", "other"])
    assert result.exit_code != 0 and f"site other has no import {number}" in result.output
    assert table_sizes(app)[1] == 10


# In the dashboard ----------------------------------------------------------------------------

@pytest.fixture
def app(make_app, tmp_path):
    return make_app(IMPORT_FOLDER=str(tmp_path / "uploads"))


def test_the_dashboard_lists_imports_and_undoes_one(app, owner, read):  # noqa: F811
    from dashboard_helpers import audit_rows, submit

    job_id = queued(upload(owner, map_from="http://old.example.com/", map_to="https://blog.example.com/wrong/"))
    worker.run_pending(app)
    lines = status(owner, job_id)["lines"]
    number = int(re.search(r"This is import (\d+): Undo, in the list of imports on this page, takes back what it "
                           r"added\.", lines[-1])[1])
    # Uploaded again with the corrected mapping: moved, not doubled.
    job_id = queued(upload(owner, map_from="http://old.example.com/", map_to="https://blog.example.com/"))
    worker.run_pending(app)
    assert any(line.startswith("Moved 10 comments") for line in status(owner, job_id)["lines"])
    assert read(url=SOURDOUGH).get_json()["thread"]["comment_count"] == 5

    html = owner.get(IMPORT).get_data(as_text=True)
    assert f"Import {number}</strong> · WordPress export: wordpress.xml" in html and "by Olive" in html
    undo = f"/dashboard/sites/blog/import/batches/{number}/undo"
    checked = submit(owner, undo, {"dry_run": "yes"}, token=None, follow_redirects=True)
    assert "would remove 10 comments" in checked.get_data(as_text=True)
    assert read(url=SOURDOUGH).get_json()["thread"]["comment_count"] == 5
    done = submit(owner, undo, {}, follow_redirects=True)
    assert f"Removed 10 comments of import {number}" in done.get_data(as_text=True)
    assert read(url=SOURDOUGH).get_json()["comments"] == []
    assert audit_rows(app)[-1][0] == "site.import_undo"


def test_the_upgrade_keeps_one_copy_keyed_and_puts_the_doubles_in_an_import_to_undo(make_app, fresh_database_url):
    """A database doubled by the old per-thread keys: after the upgrade a rerun adds nothing, and the doubles
    are an import of their own that `import undo` takes back."""
    from sqlalchemy import create_engine, text
    from test_migrations import _insert, _upgrade

    from widget.comments import thread_key
    from widget.tokens import digest

    _upgrade(make_app, fresh_database_url, "0014")
    engine = create_engine(fresh_database_url)
    when = "2025-01-02 03:04:05"
    with engine.begin() as connection:
        site = _insert(connection, "sites", {
            "public_id": "blog", "name": "Blog", "origins": '["https://blog.example.com"]', "guests_allowed": True,
            "moderation": "none", "edit_window_minutes": 15, "max_depth": 5, "max_body_length": 5000,
            "max_links": 3, "created_at": when, "updated_at": when, "comments_per_hour": 12})

        def thread(url):
            key, normalised = thread_key(url)
            return _insert(connection, "threads", {"site_id": site, "key": key, "url": normalised,
                                                   "url_hash": digest(normalised), "locked": False, "version": 1,
                                                   "created_at": when})

        def comment(thread_id, key, parent=None):
            return _insert(connection, "comments", {
                "thread_id": thread_id, "parent_id": parent, "root_id": None, "depth": 2 if parent else 1,
                "status": "approved", "body": "Hi", "html": "<p>Hi</p>", "likes": 0, "created_at": when,
                "pinned": False, "edited_by_moderator": False, "kind": "comment", "import_key": key})

        wrong, right = thread("https://blog.example.com/wrong/a/"), thread("https://blog.example.com/a/")
        old = comment(wrong, "wordpress:101")
        answered = comment(wrong, "wordpress:102")
        reader = comment(wrong, None, parent=answered)
        new = comment(right, "wordpress:101")
        newer = comment(right, "wordpress:102")
        for comment_id in (old, answered, reader, new, newer):
            connection.execute(text("UPDATE comments SET root_id = :r WHERE id = :i"),
                               {"r": answered if comment_id == reader else comment_id, "i": comment_id})
    engine.dispose()

    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["import", "list", "--site", "blog"]).output
    doubles = int(re.search(r"^\s*(\d+) .*copies added again by imports run before their keys were kept per site "
                            r"\(by upgrade\)\s+2 comments$", listing, re.M)[1])
    assert re.search(r"imports run before batches were kept \(by upgrade\)\s+2 comments$", listing, re.M), listing
    undone = runner.invoke(args=["import", "undo", str(doubles), "--site", "blog"])
    assert "Removed 1 comments" in undone.output and "1 imported comments have replies" in undone.output
    with app.app_context():
        from widget.extensions import db
        from widget.models import Comment

        left = {c.id: (c.status, c.import_key) for c in db.session.scalars(db.select(Comment))}
    assert left == {answered: ("deleted", None), reader: ("approved", None), new: ("approved", "wordpress:101"),
                    newer: ("approved", "wordpress:102")}
