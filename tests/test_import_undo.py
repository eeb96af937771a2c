"""Running an import again with a corrected --map-url, listing imports and taking one back: what an owner who
got the mapping wrong the first time sees, and one who imports a second blog whose comments are numbered alike."""
import json
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from test_dashboard_import import IMPORT, owner, queued, status, upload  # noqa: F401  (owner: a fixture)
from test_import import MOVE, SOURDOUGH, WXR, imported, page, stored, table_sizes
from test_migrations import _insert, _upgrade

from widget import worker
from widget.comments import thread_key
from widget.tokens import digest

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


def test_undo_leaves_nothing_of_the_imported_author_in_the_placeholder_and_it_goes_with_its_last_reply(
        app, runner, site, read, post, client, admin):
    """The placeholder kept for a reader's reply used to keep the imported comment's text, name, email, website and
    address hash: the export handed them on, the dashboard offered to restore them, and the placeholder stayed even
    after the reply was deleted."""
    from conftest import ORIGIN

    number = batch_number(imported(runner, "wordpress", WXR, "--map-url", MOVE))
    ola = page(read, "https://blog.example.com/about/")["comments"][1]
    assert ola["author"]["name"] == "Ola"
    reply = post(url="https://blog.example.com/about/", parent_id=ola["id"], body="Posted here, after the import")
    assert reply.status_code == 201
    assert runner.invoke(args=["import", "undo", str(number), "--site", "blog"]).exit_code == 0

    exported = runner.invoke(args=["export", "--site", "blog"]).stdout
    [kept] = [json.loads(line) for line in exported.splitlines() if f'"id":{ola["id"]},' in line]
    assert (kept["status"], kept["body"], kept["html"], kept["author_name"], kept["author_email"],
            kept["author_website"]) == ("deleted", "", "", None, None, None)
    assert "Ola" not in exported and "ola@" not in exported
    assert stored(app)[f"native:{ola['id']}"]["ip_hash"] is None
    listed = admin.get("/dashboard/sites/blog/comments?status=deleted").get_data(as_text=True)
    assert 'value="restore">Restore</button>' not in listed and "Ola" not in listed

    # Its reader deletes the reply: nothing is left to hold in place, so the placeholder goes too.
    gone = client.delete(f"/api/v1/comments/{reply.get_json()['comment']['id']}",
                         headers={"Origin": ORIGIN, "X-Edit-Token": reply.get_json()["edit_token"]})
    assert gone.status_code in (200, 204), gone.get_data(as_text=True)
    assert page(read, "https://blog.example.com/about/")["comments"] == []
    assert table_sizes(app)[1] == 0


def test_undo_from_the_command_line_is_in_the_audit_log(app, runner, site):
    from dashboard_helpers import audit_rows

    number = batch_number(imported(runner, "wordpress", WXR, "--map-url", MOVE))
    assert runner.invoke(args=["import", "undo", str(number), "--site", "blog", "--dry-run"]).exit_code == 0
    assert [row for row in audit_rows(app) if row[0] == "site.import_undo"] == []
    assert runner.invoke(args=["import", "undo", str(number), "--site", "blog"]).exit_code == 0
    [(action, actor, _target, _before, after)] = [row for row in audit_rows(app) if row[0] == "site.import_undo"]
    assert (actor, after) == ("command line", {"import": number, "removed": 10, "kept": 0, "threads_removed": 2})


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


def test_an_undo_whose_audit_entry_cannot_be_written_takes_nothing_back(app, owner, read, monkeypatch):  # noqa: F811
    """The dashboard committed the undo, then wrote its audit entry in a second transaction: one that failed left
    an undo that nobody could see in the log. Both are one transaction now."""
    from dashboard_helpers import audit_rows, csrf_token, submit

    from widget import audit

    job_id = queued(upload(owner, map_from="http://old.example.com/", map_to="https://blog.example.com/"))
    worker.run_pending(app)
    number = int(re.search(r"This is import (\d+):", status(owner, job_id)["lines"][-1])[1])
    undo = f"/dashboard/sites/blog/import/batches/{number}/undo"
    token = csrf_token(owner, "/dashboard/account")  # read before the audit log refuses to be written

    def refuse(*_args, **_kwargs):
        raise RuntimeError("the audit log could not be written")

    monkeypatch.setattr(audit, "record", refuse)
    assert submit(owner, undo, {}, token=token).status_code == 500
    assert read(url=SOURDOUGH).get_json()["thread"]["comment_count"] == 5
    assert table_sizes(app)[1] == 10
    monkeypatch.undo()
    done = submit(owner, undo, {}, token=token, follow_redirects=True)
    assert f"Removed 10 comments of import {number}" in done.get_data(as_text=True)
    [(_action, actor, *_rest)] = [row for row in audit_rows(app) if row[0] == "site.import_undo"]
    assert actor == "Olive"


# Two sources that number their comments alike ----------------------------------------------------

BREAD, ROME = "https://blog.example.com/cooking/bread/", "https://blog.example.com/travel/rome/"
# (id in the file, author, day of May 2023, id of the parent or None)
ON_BREAD = [(1, "Alice", 1, None), (2, "Bob", 2, 1)]
ON_ROME = [(1, "Carol", 3, None), (2, "Dave", 4, 1), (3, "Erin", 5, None)]


def wordpress_export(path, source, url, comments, network=None):
    """A WXR of one post; `source` the blog's address (None: a file that names none), `network` a multisite's."""
    channel = "" if source is None else (f"<link>{source}</link><wp:base_site_url>{network or source}"
                                         f"</wp:base_site_url><wp:base_blog_url>{source}</wp:base_blog_url>")
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">'
        f"<channel><title>A blog</title>{channel}<wp:wxr_version>1.2</wp:wxr_version>"
        f"<item><title>A post</title><link>{url}</link><wp:post_id>7</wp:post_id>" + "".join(
            f"<wp:comment><wp:comment_id>{ref}</wp:comment_id><wp:comment_author>{name}</wp:comment_author>"
            f"<wp:comment_date_gmt>2023-05-0{day} 08:00:00</wp:comment_date_gmt><wp:comment_content>{name} on "
            f"{url}</wp:comment_content><wp:comment_approved>1</wp:comment_approved><wp:comment_type>"
            f"</wp:comment_type><wp:comment_parent>{parent or 0}</wp:comment_parent></wp:comment>"
            for ref, name, day, parent in comments) + "</item></channel></rss>", encoding="utf-8")
    return path


def disqus_export(path, source, url, comments):
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><disqus xmlns="http://disqus.com" '
        'xmlns:dsq="http://disqus.com/disqus-internals">'
        f'<thread dsq:id="70"><forum>{source}</forum><link>{url}</link><title>A post</title></thread>' + "".join(
            f'<post dsq:id="{ref}"><message><![CDATA[<p>{name} on {url}</p>]]></message>'
            f"<createdAt>2023-05-0{day}T08:00:00Z</createdAt><author><name>{name}</name></author>"
            f'<thread dsq:id="70"/>' + (f'<parent dsq:id="{parent}"/>' if parent else "") + "</post>"
            for ref, name, day, parent in comments) + "</disqus>", encoding="utf-8")
    return path


def remark42_export(path, source, url, comments):
    lines = [{"version": 1, "users": [], "posts": []}] + [
        {"id": f"c{ref}", "pid": f"c{parent}" if parent else "", "text": f"<p>{name} on {url}</p>",
         "user": {"name": name, "id": f"u{ref}"}, "locator": {"site": source, "url": url},
         "time": f"2023-05-0{day}T08:00:00Z"} for ref, name, day, parent in comments]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def parley_export(path, source, url, comments):
    """A Parley export of a site `source` (its id; two servers' sites of one id were made at other moments)."""
    key, normalised = thread_key(url)
    made = "2024-01-01T00:00:00.000000Z" if source == "A" else "2024-06-01T00:00:00.000000Z"
    lines = [{"format": "parley-export", "version": 1, "exported_at": "2025-01-01T00:00:00Z",
              "site": {"id": "blog", "created_at": made}},
             {"type": "thread", "id": 1, "key": key, "url": normalised, "title": "A post", "locked": False,
              "created_at": "2023-05-01T00:00:00Z"}] + [
        {"type": "comment", "id": ref, "thread": 1, "parent": parent, "status": "approved", "kind": "comment",
         "body": f"{name} on {url}", "html": f"<p>{name} on {url}</p>", "author_name": name,
         "created_at": f"2023-05-0{day}T08:00:00Z", "likes": 0, "pinned": False} for ref, name, day, parent in comments]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def isso_export(path, source, url, comments, keyless=False):
    """An Isso database made by Isso's own code (with its random session key; `keyless`: without its preferences)."""
    import sqlite3
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from isso import config
    from isso.db import SQLite3

    db = SQLite3(str(path), config.load(config.default_file()))
    uri = urlsplit(url).path
    db.threads.new(uri, "A post")
    for _ref, name, day, parent in comments:
        db.comments.add(uri, {"text": f"{name} on {url}", "author": name, "email": None, "website": None,
                              "remote_addr": "203.0.113.0", "mode": 1, "parent": parent,
                              "created": datetime(2023, 5, day, 8, tzinfo=UTC).timestamp()})
    if keyless:
        with sqlite3.connect(path) as connection:
            connection.execute("DROP TABLE preferences")
    return path


EXPORTS = {"wordpress": wordpress_export, "disqus": disqus_export, "isso": isso_export, "remark42": remark42_export,
           "json": parley_export}


def names_on(read, url):
    """The page's comments as readers see them: [(author, [replies' authors])]."""
    return [(c["author"]["name"], [r["author"]["name"] for r in c["replies"]]) for c in page(read, url)["comments"]]


@pytest.mark.parametrize("kind", EXPORTS)
def test_another_sources_comments_of_the_same_ids_are_added_and_never_moved_onto_its_pages(
        runner, site, read, post, tmp_path, kind):
    """Two blogs (two Disqus forums, Isso databases, Remark42 sites, Parley servers) both have a comment 1: the
    second blog's import used to find "its" comments already there, skip them, and move the first blog's comments
    (with readers' replies to them) onto its own pages."""
    bread = EXPORTS[kind](tmp_path / f"bread.{kind}", "A", BREAD, ON_BREAD)
    rome = EXPORTS[kind](tmp_path / f"rome.{kind}", "B", ROME, ON_ROME)
    assert "Imported 2 comments" in imported(runner, kind, bread)
    alice = page(read, BREAD)["comments"][0]
    assert post(url=BREAD, parent_id=alice["id"], body="A reader's answer to Alice").status_code == 201

    second = imported(runner, kind, rome)
    assert "Imported 3 comments" in second
    assert "Moved" not in second and "already imported" not in second
    assert names_on(read, BREAD) == [("Alice", ["Bob", "Ada"])]
    assert names_on(read, ROME) == [("Carol", ["Dave"]), ("Erin", [])]
    # Each file run again finds its own comments, and only its own.
    for export, count in ((rome, 3), (bread, 2)):
        again = imported(runner, kind, export)
        assert "Imported 0 comments." in again and f"already imported: {count}" in again and "Moved" not in again
    assert names_on(read, BREAD) == [("Alice", ["Bob", "Ada"])]
    assert names_on(read, ROME) == [("Carol", ["Dave"]), ("Erin", [])]


@pytest.mark.parametrize("kind", ["wordpress", "isso"])
def test_sources_that_do_not_name_themselves_are_told_apart_by_when_and_by_whom(runner, site, read, tmp_path, kind):
    """A WordPress file without its blog's address, an Isso database without its key: a comment of the same id is
    the same comment only if it was written at the same moment under the same name."""
    def export(path, url, comments):
        if kind == "wordpress":
            return wordpress_export(path, None, url, comments)
        return isso_export(path, None, url, comments, keyless=True)

    bread = export(tmp_path / "bread", BREAD, ON_BREAD)
    rome = export(tmp_path / "rome", ROME, ON_ROME)
    imported(runner, kind, bread)
    second = imported(runner, kind, rome)
    assert "Imported 3 comments" in second and "Moved" not in second
    assert names_on(read, BREAD) == [("Alice", ["Bob"])]
    assert names_on(read, ROME) == [("Carol", ["Dave"]), ("Erin", [])]
    for export_file, count in ((rome, 3), (bread, 2)):
        again = imported(runner, kind, export_file)
        assert "Imported 0 comments." in again and f"already imported: {count}" in again and "Moved" not in again
    # And the same file with a corrected mapping still moves its own comments, and only those.
    moved = imported(runner, kind, rome, "--map-url", "https://blog.example.com/travel/→https://blog.example.com/trips/")
    assert "Moved 3 comments" in moved and "Imported 0 comments." in moved
    assert names_on(read, "https://blog.example.com/trips/rome/") == [("Carol", ["Dave"]), ("Erin", [])]
    assert names_on(read, BREAD) == [("Alice", ["Bob"])]


def test_a_copy_of_a_blog_that_went_its_own_way_adds_its_own_comments_beside_the_originals(runner, site, read,
                                                                                           tmp_path):
    """A staging copy of the blog (the same address in its export) whose comment 2 is another comment than the
    live blog's comment 2: what they share is found, what differs is added."""
    live = wordpress_export(tmp_path / "live.xml", "https://old.example.com", BREAD, ON_BREAD)
    copy = wordpress_export(tmp_path / "copy.xml", "https://old.example.com", BREAD,
                            [(1, "Alice", 1, None), (2, "Zed", 6, 1), (3, "Yan", 7, None)])
    imported(runner, "wordpress", live)
    output = imported(runner, "wordpress", copy)
    assert "Imported 2 comments" in output and "already imported: 1" in output
    assert names_on(read, BREAD) == [("Alice", ["Bob", "Zed"]), ("Yan", [])]


def test_sub_blogs_of_one_multisite_network_are_two_sources(runner, site, read, tmp_path):
    network = "https://network.example.com"
    bread = wordpress_export(tmp_path / "bread.xml", f"{network}/cooking", BREAD, ON_BREAD, network=network)
    rome = wordpress_export(tmp_path / "rome.xml", f"{network}/travel", ROME, ON_ROME, network=network)
    imported(runner, "wordpress", bread)
    assert "Imported 3 comments" in imported(runner, "wordpress", rome)
    assert names_on(read, BREAD) == [("Alice", ["Bob"])]


# Upgrading from keys kept per page ---------------------------------------------------------------

class Before0015:
    """A database of the schema that keyed imported comments per page, with a site `blog`, written with plain SQL."""

    WHEN = "2025-01-02 03:04:05"

    def __init__(self, connection):
        self.connection = connection
        self.site = _insert(connection, "sites", {
            "public_id": "blog", "name": "Blog", "origins": '["https://blog.example.com"]', "guests_allowed": True,
            "moderation": "none", "edit_window_minutes": 15, "max_depth": 5, "max_body_length": 5000,
            "max_links": 3, "created_at": self.WHEN, "updated_at": self.WHEN, "comments_per_hour": 12})

    def thread(self, url):
        key, normalised = thread_key(url)
        return _insert(self.connection, "threads", {
            "site_id": self.site, "key": key, "url": normalised, "url_hash": digest(normalised), "locked": False,
            "version": 1, "created_at": self.WHEN})

    def comment(self, thread_id, key, parent=None, author=None, body="Hi", when=WHEN):
        comment_id = _insert(self.connection, "comments", {
            "thread_id": thread_id, "parent_id": parent, "root_id": None, "depth": 2 if parent else 1,
            "status": "approved", "body": body, "html": f"<p>{body}</p>", "author_name": author, "likes": 0,
            "created_at": when, "pinned": False, "edited_by_moderator": False, "kind": "comment",
            "import_key": key})
        self.connection.execute(text("UPDATE comments SET root_id = COALESCE((SELECT p.root_id FROM comments p "
                                     "WHERE p.id = :parent), :id) WHERE id = :id"),
                                {"parent": parent, "id": comment_id})
        return comment_id


@contextmanager
def before_0015(make_app, url):
    """A Before0015 to write into; the database is upgraded to the newest schema by the next app made on it."""
    _upgrade(make_app, url, "0014")
    engine = create_engine(url)
    with engine.begin() as connection:
        yield Before0015(connection)
    engine.dispose()


def test_the_upgrade_keeps_one_copy_keyed_and_puts_the_doubles_in_an_import_to_undo(make_app, fresh_database_url):
    """A database doubled by the old per-thread keys: after the upgrade a rerun adds nothing, and the doubles
    are an import of their own that `import undo` takes back."""
    with before_0015(make_app, fresh_database_url) as database:
        wrong = database.thread("https://blog.example.com/wrong/a/")
        right = database.thread("https://blog.example.com/a/")
        database.comment(wrong, "wordpress:101")
        answered = database.comment(wrong, "wordpress:102")
        reader = database.comment(wrong, None, parent=answered)
        new = database.comment(right, "wordpress:101")
        newer = database.comment(right, "wordpress:102")

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


def test_the_upgrade_keeps_two_blogs_comments_that_shared_an_id_and_batches_only_true_copies(
        make_app, fresh_database_url, tmp_path):
    """Comments of two blogs imported before keys were kept per site both had wordpress:1 and wordpress:2 (on their
    own pages). The upgrade used to take the older blog's as copies of the newer one's, for `import undo` to delete;
    only true copies (same moment, author and text: a rerun with another mapping) are, and a later import of
    either blog finds its own comments."""
    def comment(database, thread_id, key, author, day, parent=None):
        return database.comment(thread_id, key, parent=parent, author=author, body=f"{author} says hello",
                                when=f"2023-05-0{day} 08:00:00")

    with before_0015(make_app, fresh_database_url) as database:
        wrong_rome, bread, rome = (database.thread(url) for url in ("https://blog.example.com/wrong/rome/", BREAD,
                                                                      ROME))
        carol_copy = comment(database, wrong_rome, "wordpress:1", "Carol", 3)
        comment(database, wrong_rome, "wordpress:2", "Dave", 4, parent=carol_copy)
        alice = comment(database, bread, "wordpress:1", "Alice", 1)
        comment(database, bread, "wordpress:2", "Bob", 2, parent=alice)
        database.comment(bread, None, parent=alice, author="Rita", body="A reader's answer")
        carol = comment(database, rome, "wordpress:1", "Carol", 3)
        comment(database, rome, "wordpress:2", "Dave", 4, parent=carol)

    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    runner, client = app.test_cli_runner(), app.test_client()

    def read(**params):
        return client.get("/api/v1/threads", query_string={"site": "blog"} | params)

    listing = runner.invoke(args=["import", "list", "--site", "blog"]).output
    copies = re.search(r"^\s*(\d+) .*copies added again by imports run before their keys were kept per site "
                       r"\(by upgrade\)\s+(\d+) comments$", listing, re.M)
    assert copies[2] == "2", listing
    assert re.search(r"imports run before batches were kept \(by upgrade\)\s+4 comments$", listing, re.M), listing
    undone = runner.invoke(args=["import", "undo", copies[1], "--site", "blog"])
    assert "Removed 2 comments" in undone.output, undone.output
    assert names_on(read, BREAD) == [("Alice", ["Bob", "Rita"])]
    assert names_on(read, ROME) == [("Carol", ["Dave"])]

    # Each blog's export, now naming its blog: its own comments are found, whichever kept the bare key.
    rome_export = wordpress_export(tmp_path / "rome.xml", "https://travel.example.com", ROME, ON_ROME)
    bread_export = wordpress_export(tmp_path / "bread.xml", "https://cooking.example.com", BREAD, ON_BREAD)
    output = imported(runner, "wordpress", rome_export)
    assert "Imported 1 comments" in output and "already imported: 2" in output and "Moved" not in output
    output = imported(runner, "wordpress", bread_export, "--map-url",
                      "https://blog.example.com/cooking/→https://blog.example.com/baking/")
    assert "Imported 0 comments." in output and "already imported: 2" in output
    assert "Moved 3 comments" in output  # Alice's branch, the reader's answer with it
    assert names_on(read, "https://blog.example.com/baking/bread/") == [("Alice", ["Bob", "Rita"])]
    assert names_on(read, ROME) == [("Carol", ["Dave"]), ("Erin", [])]


@pytest.mark.database_independent  # SQLite's own count of its steps; PostgreSQL was never slow here
def test_the_upgrade_takes_steps_in_proportion_to_the_imported_comments(make_app, tmp_path):
    """The upgrade looked for each imported comment's doubles by reading every other one: 10,000 comments took
    12 seconds, 100,000 would take 20 minutes, during which the server does not start. Counted in SQLite's
    virtual machine steps, which a busy machine does not change: four times the comments, about four times the
    steps (it was sixteen)."""
    steps = {}
    for size in (1000, 4000):
        url = f"sqlite:///{tmp_path / f'{size}.sqlite3'}"
        with before_0015(make_app, url) as database:
            page_id = database.thread("https://blog.example.com/bulk/")
            database.connection.execute(text(
                "INSERT INTO comments (thread_id, depth, status, body, html, likes, created_at, pinned, "
                "edited_by_moderator, kind, import_key) VALUES (:thread, 1, 'approved', 'x', '', 0, :when, false, "
                "false, 'comment', :key)"),
                [{"thread": page_id, "when": database.WHEN, "key": f"disqus:{n}"} for n in range(size)])
        steps[size] = upgrade_steps(make_app, url)
    assert steps[4000] < 6 * steps[1000], steps


def upgrade_steps(make_app, url):
    """`flask db upgrade` of a SQLite database, and how many thousand steps SQLite's virtual machine took for it."""
    counted = [0]

    def count():
        counted[0] += 1
        return 0  # go on

    def install(connection, _record):
        connection.set_progress_handler(count, 1000)

    event.listen(Engine, "connect", install)
    try:
        _upgrade(make_app, url)
    finally:
        event.remove(Engine, "connect", install)
    return counted[0]
