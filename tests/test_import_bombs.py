"""Import files made to cost hours of CPU or gigabytes of memory: each ends in seconds, refused with its reason
or imported, through the command line and through the dashboard's upload."""
import gzip
import time
import tracemalloc

import pytest
from dashboard_helpers import accept_invitation, invitation_link
from test_dashboard_import import queued, status, upload
from test_import import run, stored

from widget import worker

# The bound for every bomb; a loaded CI machine takes well under it, the code before took 10 to 200 s.
SECONDS = 5
# Python memory that a bomb may make the import hold (the code before held 230 MB for the deepest).
MEMORY = 50 * 2**20
HEADERS = {"remark42": b'{"version": 1, "users": [], "posts": []}',
           "json": b'{"format": "parley-export", "version": 1, "exported_at": "2024-01-01T00:00:00Z", "site": {}}'}


def blank_lines(path, kind):
    """A header, then 20 MiB of blank lines: 20 KB of gzip."""
    with gzip.open(path, "wb", compresslevel=9) as packed:
        packed.write(HEADERS[kind] + b"\n")
        for _ in range(20):
            packed.write(b"\n" * 2**20)
    return path


def child_first(path, count):
    """A WordPress export whose comment i answers comment i + 1: every reply listed before its parent."""
    comments = "".join(
        f"<wp:comment><wp:comment_id>{n}</wp:comment_id><wp:comment_author>Reader {n}</wp:comment_author>"
        f"<wp:comment_date_gmt>2024-01-01 10:00:00</wp:comment_date_gmt>"
        f"<wp:comment_content>Comment {n}, answering the next one</wp:comment_content>"
        f"<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>{n + 1 if n < count else 0}"
        "</wp:comment_parent></wp:comment>\n" for n in range(1, count + 1))
    path.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>'
                    "<title>Chain</title><link>https://blog.example.com/chain/</link><wp:post_id>1</wp:post_id>"
                    f"{comments}</item></channel></rss>", encoding="utf-8")
    return path


def nested(path, kind, depth=400_000):
    """1.2 MB of elements opened inside one record, never closed."""
    start = {"wordpress": '<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>Deep</title>'
                          "<link>https://blog.example.com/deep/</link>",
             "disqus": '<disqus xmlns="http://disqus.com"><post><message>'}[kind]
    path.write_text(f'<?xml version="1.0"?>{start}' + "<a>" * depth, encoding="utf-8")
    return path


def giant_comment(path):
    """A WordPress export with a 20 MB XML comment in it: the parser must hold markup whole."""
    path.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><!--'
                    + "x" * 20 * 2**20 + "--></channel></rss>", encoding="utf-8")
    return path


def measured(call, memory=True):
    """(what call() returned, seconds it took, the most Python memory it held meanwhile).

    Tracing memory slows Python down several times: where the time is what counts, it is left off."""
    if memory:
        tracemalloc.start()
    started = time.monotonic()
    try:
        result = call()
        return result, time.monotonic() - started, tracemalloc.get_traced_memory()[1] if memory else None
    finally:
        tracemalloc.stop()


# Through the command line ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["remark42", "json"])
def test_a_gzip_of_blank_lines_is_refused_in_seconds(app, runner, site, tmp_path, kind):
    bomb = blank_lines(tmp_path / "backup.gz", kind)
    assert bomb.stat().st_size < 30_000
    result, seconds, _memory = measured(lambda: run(runner, kind, bomb))
    assert result.exit_code != 0
    assert "the compressed file unpacks to more than 100 times its size, which no export does" in result.output
    assert seconds < SECONDS


def test_blank_lines_cost_no_more_than_their_bytes(app, runner, site, tmp_path):
    # Not compressed, so not refused: 20 MiB of blank lines around two comments is read in a blink.
    source = tmp_path / "backup.jsonl"
    line = (b'{"id": "c%d", "pid": "", "text": "<p>Hi</p>", "user": {"name": "Ann"}, '
            b'"locator": {"url": "https://blog.example.com/a/"}, "time": "2024-01-01T10:00:00Z"}')
    source.write_bytes(HEADERS["remark42"] + b"\n" * 2**20 * 10 + line % 1 + b"\n" * 2**20 * 10 + line % 2 + b"\n")
    result, seconds, _memory = measured(lambda: run(runner, "remark42", source))
    assert result.exit_code == 0, result.output
    assert "Imported 2 comments" in result.output
    assert seconds < SECONDS


def test_replies_listed_before_their_parents_import_in_linear_time(app, runner, site, tmp_path):
    bomb = child_first(tmp_path / "chain.xml", 3000)
    result, seconds, _memory = measured(lambda: run(runner, "wordpress", bomb), memory=False)
    assert result.exit_code == 0, result.output
    assert "Imported 3000 comments" in result.output
    assert seconds < SECONDS
    # And the chain is whole: comment 3000 at the top, comment 1 at the bottom, 3000 deep.
    comments = stored(app)
    top, bottom = comments["wordpress:3000"], comments["wordpress:1"]
    assert (top["parent_id"], top["root_id"], top["depth"]) == (None, top["id"], 1)
    assert (bottom["parent_id"], bottom["root_id"], bottom["depth"]) == (
        comments["wordpress:2"]["id"], top["id"], 3000)
    assert {comment["root_id"] for comment in comments.values()} == {top["id"]}


@pytest.mark.parametrize("kind, depth", [("wordpress", 8), ("disqus", 6)])
def test_elements_nested_deeper_than_the_format_are_refused_at_once(app, runner, site, tmp_path, kind, depth):
    bomb = nested(tmp_path / "deep.xml", kind)
    result, seconds, memory = measured(lambda: run(runner, kind, bomb))
    assert result.exit_code != 0
    assert f"line 1: elements nested {depth + 1} deep; a {'WordPress' if kind == 'wordpress' else 'Disqus'} " \
           f"export has at most {depth}" in result.output
    assert seconds < SECONDS
    assert memory < MEMORY


def test_markup_larger_than_any_export_writes_is_refused(app, runner, site, tmp_path):
    bomb = giant_comment(tmp_path / "comment.xml")
    result, seconds, memory = measured(lambda: run(runner, "wordpress", bomb))
    assert result.exit_code != 0
    assert "line 1: one tag or comment longer than 1 MB, which no export has" in result.output
    assert seconds < SECONDS
    assert memory < MEMORY


def test_a_wide_record_keeps_only_the_fields_it_needs(app, runner, site, tmp_path):
    # 50,000 elements WordPress never writes, and as many repeats of a field, inside one comment: one value kept.
    wide = tmp_path / "wide.xml"
    wide.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>'
                    "<title>Wide</title><link>https://blog.example.com/wide/</link><wp:post_id>1</wp:post_id>"
                    "<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Ann</wp:comment_author>"
                    "<wp:comment_date_gmt>2024-01-01 10:00:00</wp:comment_date_gmt>"
                    "<wp:comment_content>Hello</wp:comment_content>"
                    + "<x>some text</x><wp:comment_author_url>https://a.example</wp:comment_author_url>" * 50_000
                    + "</wp:comment></item></channel></rss>", encoding="utf-8")
    result, _seconds, memory = measured(lambda: run(runner, "wordpress", wide))
    assert result.exit_code == 0, result.output
    assert "Imported 1 comments" in result.output
    assert stored(app)["wordpress:1"]["website"] == "https://a.example"
    assert memory < MEMORY


def test_more_names_than_any_export_uses_are_refused(app, runner, site, tmp_path):
    # The parser keeps each name it meets until the end: a million different ones would stay in memory.
    names = tmp_path / "names.xml"
    names.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
                     + "".join(f"<x{n}/>" for n in range(200_000)) + "</channel></rss>", encoding="utf-8")
    result, seconds, memory = measured(lambda: run(runner, "wordpress", names))
    assert result.exit_code != 0
    assert "more than 10,000 different element and attribute names; a WordPress export uses a few dozen" \
        in result.output
    assert seconds < SECONDS
    assert memory < MEMORY


# Through the dashboard ------------------------------------------------------------------------

@pytest.fixture
def app(make_app, tmp_path):
    return make_app(IMPORT_FOLDER=str(tmp_path / "uploads"))


@pytest.fixture
def owner(app, admin):
    return accept_invitation(app, invitation_link(admin, "blog", role="owner"), "owner@example.com", name="Olive")


@pytest.mark.parametrize("kind, make, reason", [
    ("remark42", lambda path: blank_lines(path / "backup.gz", "remark42"), "unpacks to more than 100 times its size"),
    ("json", lambda path: blank_lines(path / "export.gz", "json"), "unpacks to more than 100 times its size"),
    ("wordpress", lambda path: nested(path / "deep.xml", "wordpress"), "elements nested 9 deep"),
    ("disqus", lambda path: nested(path / "deep.xml", "disqus"), "elements nested 7 deep"),
    ("wordpress", lambda path: giant_comment(path / "comment.xml"), "one tag or comment longer than 1 MB"),
], ids=["remark42-blank-lines", "json-blank-lines", "wordpress-nested", "disqus-nested", "wordpress-giant-comment"])
def test_an_uploaded_bomb_fails_in_seconds_with_its_reason(app, owner, tmp_path, kind, make, reason):
    job_id = queued(upload(owner, kind=kind, source=make(tmp_path)))
    taken, seconds, memory = measured(lambda: worker.run_pending(app))
    assert taken == 1
    failed = status(owner, job_id)
    assert failed["state"] == "failed" and reason in failed["text"] and "Nothing was imported." in failed["text"]
    assert seconds < SECONDS
    assert memory < MEMORY


def test_an_uploaded_export_listing_replies_first_imports_in_seconds(app, owner, tmp_path):
    job_id = queued(upload(owner, source=child_first(tmp_path / "chain.xml", 2000)))
    _taken, seconds, _memory = measured(lambda: worker.run_pending(app), memory=False)
    assert status(owner, job_id)["lines"][0] == "Imported 2000 comments (2000 approved)."
    assert seconds < SECONDS


def test_a_long_read_without_records_still_shows_progress_and_renews_the_lease(app, owner, tmp_path, monkeypatch):
    """Progress (and with it the job's lease) moves on with the time spent, not with the records found."""
    from flask import g

    from widget import imports
    from widget.extensions import db
    from widget.models import Job

    # 4 MB of a post's text, which nothing keeps, before the only comment.
    source = tmp_path / "long.xml"
    source.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/" '
                      'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><item><title>Long</title>'
                      "<link>https://blog.example.com/long/</link><wp:post_id>1</wp:post_id><content:encoded>"
                      + "A long post. " * 320_000 + "</content:encoded><wp:comment><wp:comment_id>1</wp:comment_id>"
                      "<wp:comment_author>Ann</wp:comment_author><wp:comment_date_gmt>2024-01-01 10:00:00"
                      "</wp:comment_date_gmt><wp:comment_content>Hi</wp:comment_content></wp:comment></item>"
                      "</channel></rss>", encoding="utf-8")
    job_id = queued(upload(owner, source=source))
    monkeypatch.setattr(imports, "PROGRESS_SECONDS", 0)  # every read tells it
    seen = []
    real = imports.run_import

    def watched(kind, path, site, options, progress=None):
        def report(done, total):
            # What other requests see, read on a connection of its own as a page's request reads (on SQLite,
            # beside the import's transaction): what was committed with the report before.
            g.parley_writes = False
            try:
                with db.engine.connect() as other:
                    seen.append((done, other.execute(db.select(Job.locked_until, Job.payload)
                                                     .where(Job.id == job_id)).one()))
            finally:
                g.parley_writes = True
            progress(done, total)
        return real(kind, path, site, options, progress=report)

    monkeypatch.setattr(imports, "run_import", watched)
    worker.run_pending(app)
    assert status(owner, job_id)["lines"][0] == "Imported 1 comments (1 approved)."
    before_the_comment = [(done, row) for done, row in seen if done < source.stat().st_size - 1000]
    assert len(before_the_comment) >= 5
    committed = [row.payload["progress"]["done"] for _done, row in before_the_comment[1:]]
    assert committed == [done for done, _row in before_the_comment[:-1]]  # each report reached the others
    leases = [row.locked_until for _done, row in before_the_comment[1:]]
    assert leases == sorted(leases) and leases[-1] > leases[0]
