"""Importing from WordPress, Disqus, Isso and Remark42: what a site owner sees once their old comments arrive."""
import gzip
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ORIGIN

DATA = Path(__file__).resolve().parent / "data" / "import"
WXR = DATA / "wordpress.xml"
DISQUS = DATA / "disqus.xml"
REMARK42 = DATA / "remark42.jsonl"
MOVE = "http://old.example.com/→https://blog.example.com/"
SOURDOUGH = "https://blog.example.com/2023/05/sourdough/"
ABOUT = "https://blog.example.com/about/"


def run(runner, kind, path, *args, site="blog"):
    return runner.invoke(args=["import", kind, str(path), "--site", site, *args])


def imported(runner, kind, path, *args):
    result = run(runner, kind, path, *args)
    assert result.exit_code == 0, result.output
    return result.stdout  # the summary; the progress bar went to standard error


def stored(app):
    """{import key: comment} of every stored comment, with its thread's url and title; the key without the digest of
    the file's source ("wordpress:101" for "wordpress@3f2a9c1e0b44:101")."""
    from widget.extensions import db
    from widget.models import Comment, Thread

    with app.app_context():
        rows = db.session.execute(db.select(Comment, Thread).join(Thread, Thread.id == Comment.thread_id)).all()
        return {re.sub(r"@[0-9a-f]{12}:", ":", comment.import_key or f"native:{comment.id}"): {
            "id": comment.id, "parent_id": comment.parent_id, "root_id": comment.root_id, "depth": comment.depth,
            "status": comment.status, "body": comment.body, "html": comment.html, "name": comment.author_name,
            "email": comment.author_email, "website": comment.author_website, "created_at": comment.created_at,
            "edited_at": comment.edited_at, "likes": comment.likes, "pinned": comment.pinned, "kind": comment.kind,
            "source_url": comment.source_url, "ip_hash": comment.ip_hash, "url": thread.url, "title": thread.title,
            "locked": thread.locked, "thread_created_at": thread.created_at,
        } for comment, thread in rows}


def table_sizes(app):
    from widget.extensions import db
    from widget.models import Comment, Job, Thread

    with app.app_context():
        return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                     for model in (Thread, Comment, Job))


def page(read, url):
    answer = read(url=url)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def flat(nodes):
    for node in nodes:
        yield node
        yield from flat(node["replies"])


# WordPress ---------------------------------------------------------------------------------------

def test_wordpress_threads_replies_dates_and_names_arrive_as_they_were(runner, site, read):
    output = imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert "Imported 10 comments (7 approved, 1 deleted, 1 pending, 1 spam), 1 of them mentions." in output
    assert "Threads: 2 created, 0 found." in output
    assert "empty body: 1" in output
    assert "kept at the top level: 1" in output

    thread = page(read, SOURDOUGH)
    assert thread["thread"]["title"] == "Sourdough & patience: don’t rush it"  # &amp; and &#8217; decoded once
    assert thread["thread"]["url"] == SOURDOUGH
    top = thread["comments"]
    # Oldest first; the pending, spam and binned comments are not shown to readers.
    assert [c["author"]["name"] for c in top] == ["Zoë Łukasz 山田", "O'Brien & Sons", "bakingweekly.example"]
    zoe = top[0]
    assert zoe["created_at"] == "2023-05-01T10:30:00Z"  # comment_date_gmt, not the local comment_date
    assert zoe["author"]["website"] == "https://zoe.example.org"
    assert "rye &amp; spelt – it’s great" in zoe["html"]
    assert "<p>Second paragraph,<br>" in zoe["html"]  # WordPress's line breaks, as its readers saw them
    # Three levels, although the file lists the third before the second.
    [anna] = zoe["replies"]
    assert (anna["author"]["name"], anna["depth"], anna["parent_id"]) == ("Anna", 2, zoe["id"])
    [third] = anna["replies"]
    assert (third["depth"], third["parent_id"], third["html"]) == (
        3, anna["id"], "<p>Third level: thanks, <strong>both</strong> of you.</p>")
    assert thread["thread"]["comment_count"] == 5

    about = page(read, ABOUT)["comments"]
    assert [(c["author"]["name"], c["parent_id"]) for c in about] == [("Zoë Łukasz 山田", None), ("Ola", None)]


def test_wordpress_statuses_are_mapped(app, runner, site):
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    comments = stored(app)
    assert comments["wordpress:106"]["status"] == "spam"
    assert comments["wordpress:107"]["status"] == "pending"
    binned = comments["wordpress:109"]
    # Binned in WordPress: deleted here, its text kept for a moderator to restore, nothing shown.
    assert (binned["status"], binned["html"], binned["body"]) == ("deleted", "", "Posted twice by mistake, sorry.")
    assert comments["wordpress:101"]["email"] == "zoe@example.org"  # kept for moderation and notifications
    assert comments["wordpress:101"]["thread_created_at"] == datetime(2023, 5, 1, 8, 0)  # the post's own date
    assert "wordpress:112" not in comments  # its only content was a script


def test_addresses_are_kept_only_as_keyed_hashes(app, runner, site):
    from conftest import SECRET

    from widget import bans

    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    comments = stored(app)
    assert comments["wordpress:101"]["ip_hash"] == bans.ip_hash(SECRET, "203.0.113.7")
    assert comments["wordpress:105"]["ip_hash"] == bans.ip_hash(SECRET, "2001:db8::42")
    with app.app_context():
        from widget.extensions import db

        dump = "\n".join(str(row) for row in db.session.execute(db.text("SELECT * FROM comments")))
    assert "203.0.113.7" not in dump and "2001:db8::42" not in dump


def test_hostile_html_comes_out_inert(runner, site, read):
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    hostile = next(c for c in page(read, SOURDOUGH)["comments"] if c["author"]["name"] == "O'Brien & Sons")
    html = hostile["html"]
    for attack in ("<script", "alert(", "onerror", "onclick", "javascript:", "<img", "<iframe", "<svg", "onload"):
        assert attack not in html
    assert '<a href="https://good.example.org/flour" rel="nofollow ugc noopener">flour</a>' in html
    assert hostile["author"]["website"] is None  # a javascript: website is dropped, not linked


def test_pingbacks_become_mentions_or_are_left_out(app, runner, site):
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    mention = stored(app)["wordpress:108"]
    assert (mention["kind"], mention["source_url"], mention["parent_id"]) == (
        "mention", "https://bakingweekly.example/five-breads/", None)
    assert mention["body"] == "Baking Weekly » Five breads to try"
    assert mention["html"] == ('<p><a href="https://bakingweekly.example/five-breads/" rel="nofollow ugc noopener">'
                               "Baking Weekly » Five breads to try</a></p>")
    assert mention["email"] is None


def test_pingbacks_skipped_when_the_owner_asks(app, runner, site):
    output = imported(runner, "wordpress", WXR, "--map-url", MOVE, "--pingbacks", "skip")
    assert "pingback or trackback (--pingbacks skip): 1" in output
    assert "wordpress:108" not in stored(app)


def test_wxr_1_1_reads_the_same(app, runner, site, tmp_path):
    older = tmp_path / "wxr-1.1.xml"
    older.write_text(WXR.read_text(encoding="utf-8").replace("export/1.2/", "export/1.1/"), encoding="utf-8")
    assert "Imported 10 comments" in imported(runner, "wordpress", older, "--map-url", MOVE)


def test_running_twice_adds_nothing(app, runner, site):
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    before = stored(app)
    again = imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert "Imported 0 comments." in again
    assert "Threads: 0 created, 2 found." in again
    assert "already imported: 10" in again
    assert stored(app) == before


def test_dry_run_writes_nothing_and_says_the_same(app, runner, site):
    dry = imported(runner, "wordpress", WXR, "--map-url", MOVE, "--dry-run")
    assert table_sizes(app) == (0, 0, 0)
    assert dry.startswith("Dry run, nothing was written: would import 10 comments")
    real = imported(runner, "wordpress", WXR, "--map-url", MOVE)
    # The same, but for the number a real run gets to undo it by.
    assert dry.split("would import ")[1] == real.split("Imported ")[1].split("This is import ")[0]


@pytest.mark.parametrize("rule", [MOVE, "http://old.example.com -> https://blog.example.com",
                                  "http://OLD.example.com:80/->https://blog.example.com/"])
def test_map_url_moves_pages_to_the_new_address(app, runner, site, rule):
    output = imported(runner, "wordpress", WXR, "--map-url", rule)
    assert "origins this site does not list" not in output
    assert {c["url"] for c in stored(app).values()} == {SOURDOUGH, ABOUT}


def test_without_map_url_pages_keep_their_old_address_and_the_summary_says_so(app, runner, site):
    output = imported(runner, "wordpress", WXR)
    assert "Pages on origins this site does not list (add them, or use --map-url): http://old.example.com" in output
    assert stored(app)["wordpress:101"]["url"] == "http://old.example.com/2023/05/sourdough/"


def test_a_bad_map_url_is_refused(runner, site):
    result = run(runner, "wordpress", WXR, "--map-url", "old.example.com=new.example.com")
    assert result.exit_code != 0 and "OLD→NEW" in result.output


def test_an_existing_thread_is_found_and_keeps_its_title(app, runner, site, post, read):
    assert post(url=SOURDOUGH, title="Sourdough (new site)").status_code == 201
    output = imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert "Threads: 1 created, 1 found." in output
    thread = page(read, SOURDOUGH)
    assert thread["thread"]["title"] == "Sourdough (new site)"
    assert thread["thread"]["comment_count"] == 6


def test_imported_comments_send_no_email_and_no_webhook(app, runner, site, set_site):
    from widget.extensions import db
    from widget.models import Site, Webhook

    set_site("notify_email", "owner@example.org")
    set_site("moderation", "all")
    with app.app_context():
        blog = db.session.scalar(db.select(Site).where(Site.public_id == "blog"))
        db.session.add(Webhook(site_id=blog.id, url="https://hooks.example.org/parley",
                               events=["comment.created", "comment.approved"]))
        db.session.commit()
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert table_sizes(app)[2] == 0  # nothing in the outbox


def test_nested_replies_keep_their_true_depth_beyond_the_sites_deepest_level(app, runner, site, set_site, read):
    set_site("max_depth", "2")
    imported(runner, "wordpress", WXR, "--map-url", MOVE)
    assert stored(app)["wordpress:104"]["depth"] == 3
    zoe = page(read, SOURDOUGH)["comments"][0]
    # Shown at the deepest level, saying whom it answers, as replies posted here are.
    assert [(c["depth"], c["in_reply_to"] and c["in_reply_to"]["author"]) for c in flat(zoe["replies"])] == [
        (2, None), (3, "Anna")]


def small_wxr(path, comments, link="https://blog.example.com/small/"):
    """A WXR 1.2 file with one post and these (id, parent, text) comments, in this order."""
    items = "".join(
        f"<wp:comment><wp:comment_id>{number}</wp:comment_id><wp:comment_author>Reader {number}</wp:comment_author>"
        f"<wp:comment_date_gmt>2024-01-0{number} 10:00:00</wp:comment_date_gmt>"
        f"<wp:comment_content>{text}</wp:comment_content><wp:comment_approved>1</wp:comment_approved>"
        f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>" for number, parent, text in comments)
    path.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>'
                    f"<title>Small</title><link>{link}</link><wp:post_id>1</wp:post_id>{items}</item>"
                    "</channel></rss>", encoding="utf-8")
    return path


def test_replies_listed_before_their_parents_still_nest(app, runner, site, tmp_path):
    # Newest first, as some plugins write them: every reply comes before the comment it answers.
    path = small_wxr(tmp_path / "reversed.xml", [(4, 3, "four"), (3, 2, "three"), (2, 1, "two"), (1, 0, "one")])
    assert "Imported 4 comments" in imported(runner, "wordpress", path)
    comments = stored(app)
    ids = {key: comment["id"] for key, comment in comments.items()}
    assert [(comments[f"wordpress:{n}"]["parent_id"], comments[f"wordpress:{n}"]["root_id"],
             comments[f"wordpress:{n}"]["depth"]) for n in (1, 2, 3, 4)] == [
        (None, ids["wordpress:1"], 1), (ids["wordpress:1"], ids["wordpress:1"], 2),
        (ids["wordpress:2"], ids["wordpress:1"], 3), (ids["wordpress:3"], ids["wordpress:1"], 4)]


def test_a_loop_of_replies_is_broken_not_followed(app, runner, site, tmp_path):
    path = small_wxr(tmp_path / "loop.xml", [(1, 2, "one answers two"), (2, 1, "two answers one")])
    output = imported(runner, "wordpress", path)
    assert "kept at the top level: 1" in output
    comments = stored(app)
    assert comments["wordpress:1"]["parent_id"] is None
    assert comments["wordpress:2"]["parent_id"] == comments["wordpress:1"]["id"]


def test_imported_html_is_cleaned_by_the_same_allow_list():
    from widget import markup

    assert markup.from_html('<b>bold</b> <I>it</I> <a href="https://a.example" target="_blank">a</a>') == (
        '<strong>bold</strong> <em>it</em> <a href="https://a.example" rel="nofollow ugc noopener">a</a>')
    assert markup.from_html("<p onmouseover=alert(1)>x</p><style>*{}</style><form><input></form>") == "<p>x</p>"
    assert markup.from_html('<a href="data:text/html,<script>alert(1)</script>">d</a>') == (
        '<a rel="nofollow ugc noopener">d</a>')


def test_imported_html_keeps_a_markdown_body_for_edits_and_feeds():
    from widget import markup

    html = ('<p>Tom &amp; Jerry&#8217;s <strong>best</strong> <a href="https://a.example/x">link</a>'
            '<script>bad()</script><a href="javascript:x()">no</a></p><blockquote><p>quoted</p><p>two</p>'
            "</blockquote><ul><li>one</li><li>two</li></ul><p>line<br>break</p>")
    assert markup.text_of(markup.from_html(html)) == ("Tom & Jerry’s **best** [link](https://a.example/x)no\n\n"
                                         "> quoted\n>\n> two\n\n- one\n- two\n\nline\nbreak")


# Malformed files change nothing --------------------------------------------------------------

def test_a_truncated_export_is_refused_naming_where_and_nothing_is_written(app, runner, site, tmp_path):
    cut = tmp_path / "cut.xml"
    text = WXR.read_text(encoding="utf-8")
    kept = text[:text.index("<title><![CDATA[About]]>")]  # cut after a whole post and its comments
    cut.write_text(kept, encoding="utf-8")
    result = run(runner, "wordpress", cut, "--map-url", MOVE)
    assert result.exit_code != 0
    assert f"not well-formed XML: no element found: line {kept.count(chr(10)) + 1}, column 2" in result.output
    assert "Nothing was imported" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_a_file_of_another_kind_is_refused_by_its_root_element(app, runner, site):
    result = run(runner, "wordpress", DISQUS)
    assert result.exit_code != 0
    assert "not a WordPress export: the root element is <disqus>, expected <rss>" in result.output
    result = run(runner, "disqus", WXR)
    assert result.exit_code != 0 and "not a Disqus export: the root element is <rss>" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_a_plain_rss_feed_is_not_a_wordpress_export(runner, site, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><item><title>A post'
                    "</title><link>https://blog.example.com/a</link></item></channel></rss>")
    result = run(runner, "wordpress", feed)
    assert result.exit_code != 0 and "no element in the WXR namespace" in result.output


def test_a_comment_without_an_id_is_named(app, runner, site, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text(WXR.read_text(encoding="utf-8").replace("<wp:comment_id>105</wp:comment_id>",
                                                             "<wp:comment_id>one-oh-five</wp:comment_id>"),
                      encoding="utf-8")
    result = run(runner, "wordpress", broken, "--map-url", MOVE)
    assert result.exit_code != 0
    assert "<item> 1 (post 12, 'Sourdough" in result.output and "'one-oh-five'" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_entity_declarations_are_refused(runner, site, tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'
                    "<rss><channel><title>&b;</title></channel></rss>")
    result = run(runner, "wordpress", bomb)
    assert result.exit_code != 0 and "DOCTYPE or entities" in result.output


@pytest.mark.parametrize("byte_order", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("kind, document", [
    ("wordpress", "<rss><channel><title>&b;</title></channel></rss>"),
    ("disqus", '<disqus xmlns="http://disqus.com"><post><message>&b;</message></post></disqus>'),
], ids=["wordpress", "disqus"])
def test_entity_declarations_are_refused_in_utf_16_too(app, runner, site, tmp_path, kind, document, byte_order):
    # In UTF-16 "<!DOCTYPE" is not those bytes: the declaration must be refused where it is parsed.
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(("\ufeff" + f'<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE x [<!ENTITY a "{"A" * 1000}">'
                      '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n' + document).encode(byte_order))
    result = run(runner, kind, bomb)
    assert result.exit_code != 0 and "DOCTYPE or entities" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_an_export_written_in_utf_16_imports_as_in_utf_8(app, runner, site, tmp_path):
    utf16 = tmp_path / "disqus-utf16.xml"
    utf16.write_text(DISQUS.read_text(encoding="utf-8").replace('encoding="utf-8"', 'encoding="utf-16"', 1),
                     encoding="utf-16")
    imported(runner, "disqus", utf16, "--map-url", MOVE)
    from_utf16 = {key: comment["body"] for key, comment in stored(app).items()}
    assert len(from_utf16) > 3 and any("é" in body or "ü" in body or "—" in body for body in from_utf16.values())


@pytest.mark.parametrize("label, outcome", [
    ("punycode", "imported"),  # no WHATWG label, and Python's punycode decoder is quadratic: read as UTF-8
    ("latin1", "imported"),  # the Standard reads it as windows-1252
    ("iso-2022-kr", "refused"),  # a label the Standard decodes to nothing but U+FFFD
])
def test_an_export_names_its_encoding_only_by_a_web_label(app, runner, site, tmp_path, label, outcome):
    named = tmp_path / f"{label}.xml"
    named.write_text(DISQUS.read_text(encoding="utf-8").replace('encoding="utf-8"', f'encoding="{label}"', 1),
                     encoding="utf-8" if label != "latin1" else "cp1252", errors="replace")
    result = run(runner, "disqus", named, "--map-url", MOVE)
    if outcome == "imported":
        assert result.exit_code == 0, result.output
        assert len(stored(app)) > 3
    else:
        assert result.exit_code != 0 and "iso-2022-kr encoding, which no export uses" in result.output


def test_resumable_batches_keep_what_they_committed_and_a_rerun_completes(app, runner, site, tmp_path):
    cut = tmp_path / "cut.xml"
    text = WXR.read_text(encoding="utf-8")
    cut.write_text(text[:text.index("<title><![CDATA[About]]>")], encoding="utf-8")
    result = run(runner, "wordpress", cut, "--map-url", MOVE, "--batch-size", "2")
    assert result.exit_code != 0 and "batches committed before it stay" in result.output
    assert table_sizes(app)[1] == 8  # the first post's comments, in batches of two
    output = imported(runner, "wordpress", WXR, "--map-url", MOVE, "--batch-size", "2")
    assert "Imported 2 comments" in output and "already imported: 8" in output
    comments = stored(app)
    # The tree came out whole although the third level was committed before its parent arrived.
    assert comments["wordpress:104"]["parent_id"] == comments["wordpress:102"]["id"]
    assert comments["wordpress:104"]["root_id"] == comments["wordpress:101"]["id"]


def test_a_rerun_in_batches_commits_as_it_goes_though_it_adds_nothing(app, site):
    # Skipped comments count toward a batch: a long rerun lets other writers in, and a background job renews
    # its lease with each commit.
    from conftest import SECRET

    from widget import imports, sites

    with app.app_context():
        options = imports.ImportOptions(secret_key=SECRET, map_urls=(imports.parse_url_rule(MOVE),))
        imports.run_import("wordpress", WXR, sites.get_site("blog"), options)
        again = imports.run_import("wordpress", WXR, sites.get_site("blog"),
                                   imports.ImportOptions(**{**vars(options), "batch_size": 2}))
    assert again.comments == 0 and again.skipped["already imported"] == 10
    assert again.batches >= 5


# Disqus --------------------------------------------------------------------------------------

def test_disqus_threads_replies_deleted_and_spam(app, runner, site, read):
    output = imported(runner, "disqus", DISQUS, "--map-url", MOVE)
    assert "Imported 7 comments (5 approved, 1 deleted, 1 spam)." in output
    assert "its thread was deleted in Disqus: 1" in output
    thread = page(read, SOURDOUGH)
    assert thread["thread"]["title"] == "Sourdough & patience"
    jonas, deleted = thread["comments"]
    assert jonas["author"]["name"] == "Jonas Müller"
    assert jonas["html"] == "<p>Finally a recipe that works at altitude.</p><p>Thanks from Zürich!</p>"
    assert jonas["created_at"] == "2023-05-02T07:15:00Z"
    # The guest's reply comes before Anna's in the file; it still hangs under hers.
    [anna] = jonas["replies"]
    [guest] = anna["replies"]
    assert (anna["author"]["name"], guest["author"]["name"], guest["depth"]) == ("Anna", "Guest Baker", 3)
    # A deleted post with a reply stays as a placeholder holding it.
    assert (deleted["status"], deleted["author"]["name"], deleted["html"]) == ("deleted", None, "")
    assert [r["author"]["name"] for r in deleted["replies"]] == ["김민지"]
    comments = stored(app)
    spam = comments["disqus:9990006"]
    assert spam["status"] == "spam"
    assert "<script" not in spam["html"] and "javascript:" not in spam["html"]
    assert comments["disqus:9990003"]["email"] is None  # an anonymous guest gave none
    stollen = page(read, "https://blog.example.com/2022/12/stollen/")
    assert stollen["thread"]["locked"] is True  # closed in Disqus
    assert stollen["thread"]["title"] == "Christmas stollen"


def test_disqus_twice_adds_nothing(app, runner, site):
    imported(runner, "disqus", DISQUS, "--map-url", MOVE)
    before = stored(app)
    assert "already imported: 7" in imported(runner, "disqus", DISQUS, "--map-url", MOVE)
    assert stored(app) == before


def test_a_truncated_disqus_export_is_refused(app, runner, site, tmp_path):
    cut = tmp_path / "cut.xml"
    cut.write_text(DISQUS.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    result = run(runner, "disqus", cut, "--map-url", MOVE)
    assert result.exit_code != 0 and "not well-formed XML" in result.output and "line " in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_a_disqus_post_with_a_bad_date_is_named(runner, site, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text(DISQUS.read_text(encoding="utf-8").replace("2023-05-02T19:00:00Z", "yesterday"),
                      encoding="utf-8")
    result = run(runner, "disqus", broken)
    assert result.exit_code != 0 and "<post> 2 (dsq:id 9990003): <createdAt> is 'yesterday'" in result.output


# Isso ----------------------------------------------------------------------------------------

def _epoch(*when):
    return datetime(*when, tzinfo=UTC).timestamp()


@pytest.fixture
def isso_db(tmp_path):
    """An Isso database written by Isso's own code, as its server would have left it."""
    from isso import config
    from isso.db import SQLite3
    from isso.utils import anonymize

    path = tmp_path / "comments.db"
    db = SQLite3(str(path), config.load(config.default_file()))
    db.threads.new("/posts/hello/", "Hello, Isso")
    db.threads.new("/posts/second/", "Second post")

    def add(uri, text, author, created, mode=1, parent=None, email=None, website=None, address="203.0.113.7"):
        return db.comments.add(uri, {"text": text, "author": author, "email": email, "website": website,
                                     "remote_addr": anonymize(address), "mode": mode, "parent": parent,
                                     "created": created})["id"]

    first = add("/posts/hello/", "First! *Markdown* works, <script>alert(1)</script> does not.", "Zoë Łukasz 山田",
                _epoch(2020, 3, 1, 12, 0), email="zoe@example.org", website="https://zoe.example.org")
    add("/posts/hello/", "Welcome, Zoë.", "Anna", _epoch(2020, 3, 1, 13, 0), parent=first)
    add("/posts/hello/", "Waiting for the moderator.", "Priya", _epoch(2020, 3, 2, 9, 0), mode=2)
    add("/posts/hello/", "No name given.", None, _epoch(2020, 3, 3, 9, 0))
    doomed = add("/posts/second/", "I will delete this.", "Mark", _epoch(2020, 4, 1, 9, 0))
    add("/posts/second/", "Replying before it goes.", "Ola", _epoch(2020, 4, 1, 10, 0), parent=doomed)
    db.comments.delete(doomed)
    db.comments.vote(True, first, "198.51.100.2")
    db.comments.vote(True, first, "198.51.100.3")
    return path


def test_isso_threads_comments_and_likes(app, runner, site, read, isso_db):
    output = imported(runner, "isso", isso_db, "--base-url", "https://blog.example.com")
    assert "Imported 6 comments (4 approved, 1 deleted, 1 pending)." in output
    hello = page(read, "https://blog.example.com/posts/hello/")
    assert hello["thread"]["title"] == "Hello, Isso"
    zoe, nameless = hello["comments"]
    assert zoe["author"]["name"] == "Zoë Łukasz 山田"
    assert zoe["html"] == ("<p>First! <em>Markdown</em> works, &lt;script&gt;alert(1)&lt;/script&gt; does not.</p>")
    assert zoe["created_at"] == "2020-03-01T12:00:00Z"
    assert zoe["likes"] == 2
    assert [r["author"]["name"] for r in zoe["replies"]] == ["Anna"]
    assert nameless["author"]["name"] == "Anonymous"
    second = page(read, "https://blog.example.com/posts/second/")["comments"]
    assert second[0]["status"] == "deleted" and [r["author"]["name"] for r in second[0]["replies"]] == ["Ola"]
    statuses = {c["body"]: c["status"] for c in stored(app).values()}
    assert statuses["Waiting for the moderator."] == "pending"


def test_isso_paths_default_to_the_sites_first_origin(app, runner, site, isso_db):
    imported(runner, "isso", isso_db)
    assert {c["url"] for c in stored(app).values()} == {f"{ORIGIN}/posts/hello/", f"{ORIGIN}/posts/second/"}


def test_isso_twice_adds_nothing_and_leaves_its_database_alone(app, runner, site, isso_db):
    before = isso_db.read_bytes()
    imported(runner, "isso", isso_db)
    assert "already imported: 6" in imported(runner, "isso", isso_db)
    assert isso_db.read_bytes() == before


def test_a_database_that_is_not_issos_is_refused(app, runner, site, tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT)")
    result = run(runner, "isso", other)
    assert result.exit_code != 0 and "not an Isso database: no table 'threads'" in result.output
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n" * 100)
    result = run(runner, "isso", text)
    assert result.exit_code != 0 and "not an Isso database: notes.db is not a SQLite database" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_an_isso_database_of_another_shape_names_what_it_lacks(runner, site, tmp_path):
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as connection:
        connection.execute("CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR, title VARCHAR)")
        connection.execute("CREATE TABLE comments (tid INTEGER, id INTEGER PRIMARY KEY, text VARCHAR)")
    result = run(runner, "isso", old)
    assert result.exit_code != 0 and "table 'comments' lacks author, created" in result.output


def test_an_isso_database_whose_comments_are_a_view_is_refused(runner, site, tmp_path):
    # A view runs a query of the file's author's choosing on every read (one that never ends, say).
    trap = tmp_path / "trap.db"
    with sqlite3.connect(trap) as connection:
        connection.execute("CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR, title VARCHAR)")
        connection.execute("CREATE VIEW comments AS SELECT id AS tid, id, NULL AS parent, 0 AS created, "
                           "NULL AS modified, 1 AS mode, '' AS remote_addr, title AS text, NULL AS author, "
                           "NULL AS email, NULL AS website, 0 AS likes FROM threads")
    result = run(runner, "isso", trap)
    assert result.exit_code != 0 and "not an Isso database: 'comments' is a view, not a table" in result.output


# Remark42 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_remark42_backup_with_a_reply_pins_edits_and_votes(app, runner, site, read, tmp_path, compressed):
    source = REMARK42
    if compressed:
        source = tmp_path / "backup-oldblog-20240201.gz"
        with open(REMARK42, "rb") as plain, gzip.open(source, "wb") as packed:
            shutil.copyfileobj(plain, packed)
    output = imported(runner, "remark42", source, "--map-url", "https://old.example.com/→https://blog.example.com/")
    assert "Imported 4 comments (3 approved, 1 deleted)." in output
    thread = page(read, SOURDOUGH)
    assert thread["thread"]["title"] == "Sourdough & patience"
    [lucja] = thread["comments"]  # the deleted one had no replies: nothing to hold in place
    assert (lucja["author"]["name"], lucja["pinned"], lucja["likes"]) == ("Łucja", True, 2)
    assert lucja["created_at"] == "2023-05-02T08:00:00Z"  # +02:00 in the file
    assert lucja["html"] == "<p>Is the starter <strong>really</strong> that important?</p>"
    [anna] = lucja["replies"]
    assert anna["author"]["name"] == "Anna" and anna["edited_at"] == "2023-05-02T12:45:00Z"
    assert 'href="https://old.example.com/starter/" rel="nofollow ugc noopener"' in anna["html"]
    comments = stored(app)
    assert comments["remark42:6f9a0a1e-1c0b-4c5e-9b8a-000000000002"]["body"].endswith(
        "[my starter guide](https://old.example.com/starter/).")  # the author's own Markdown, for edits
    rye = page(read, "https://blog.example.com/2021/03/rye/")
    assert rye["thread"]["locked"] is True  # read-only in Remark42


def test_remark42_twice_adds_nothing(app, runner, site):
    imported(runner, "remark42", REMARK42)
    assert "already imported: 4" in imported(runner, "remark42", REMARK42)


def test_a_bad_json_line_is_named_and_nothing_is_written(app, runner, site, tmp_path):
    broken = tmp_path / "backup.jsonl"
    lines = REMARK42.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3][:40]
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(runner, "remark42", broken)
    assert result.exit_code != 0 and "Remark42 backup: line 4: not JSON" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_a_file_that_is_not_a_remark42_backup_is_refused(runner, site, tmp_path):
    other = tmp_path / "comments.jsonl"
    other.write_text('{"id": "1", "text": "no header"}\n')
    result = run(runner, "remark42", other)
    assert result.exit_code != 0 and "line 1: not a Remark42 backup" in result.output


def test_a_truncated_gzip_backup_is_refused(app, runner, site, tmp_path):
    source = tmp_path / "backup.gz"
    source.write_bytes(gzip.compress(REMARK42.read_bytes())[:300])
    result = run(runner, "remark42", source)
    assert result.exit_code != 0 and "cut short or damaged" in result.output
    assert table_sizes(app) == (0, 0, 0)


def test_a_compressed_line_too_long_to_hold_is_refused_before_it_fills_the_memory(runner, site, tmp_path):
    bomb = tmp_path / "backup.gz"
    with gzip.open(bomb, "wb") as packed:
        packed.write(b'{"version": 1, "padding": "')
        for _ in range(17):
            packed.write(b"a" * 2**20)
    assert bomb.stat().st_size < 100_000
    result = run(runner, "remark42", bomb)
    assert result.exit_code != 0
    assert "the compressed file unpacks to more than 100 times its size, which no export does" in result.output


def test_a_line_too_long_to_hold_is_refused(runner, site, tmp_path):
    long = tmp_path / "backup.jsonl"
    long.write_bytes(b'{"version": 1, "padding": "' + b"a" * (16 * 2**20 + 1) + b'"}\n')
    result = run(runner, "remark42", long)
    assert result.exit_code != 0 and "line 1: longer than 16 MB, which no export has" in result.output


# The service the dashboard runs --------------------------------------------------------------

def test_run_import_reports_progress_and_returns_a_summary(app, site):
    from conftest import SECRET

    from widget import imports, sites

    seen = []
    with app.app_context():
        options = imports.ImportOptions(secret_key=SECRET, map_urls=(imports.parse_url_rule(MOVE),))
        summary = imports.run_import("wordpress", WXR, sites.get_site("blog"), options,
                                     progress=lambda done, total: seen.append((done, total)))
    size = WXR.stat().st_size
    assert seen[-1] == (size, size)
    assert summary.as_dict() == {
        "kind": "wordpress", "dry_run": False, "threads_created": 2, "threads_found": 0, "comments": 10,
        "statuses": {"approved": 7, "pending": 1, "spam": 1, "deleted": 1}, "mentions": 1,
        "skipped": {"empty body": 1}, "orphans": 1, "foreign_origins": [], "moved": 0, "batch": summary.batch}
    assert summary.batch is not None


def test_import_help_lists_every_source(runner):
    output = runner.invoke(args=["import", "--help"]).output
    for kind in ("wordpress", "disqus", "isso", "remark42", "json"):
        assert kind in output


def test_import_into_an_unknown_site(runner):
    result = run(runner, "wordpress", WXR, site="ghost")
    assert result.exit_code != 0 and "no site" in result.output


# WordPress's own test export, in its shape ----------------------------------------------------

PANTRY = DATA / "wordpress-https-1.1.xml"
FLOUR = "https://blog.example.com/2019/04/weighing-flour/"
PANTRY_MOVE = "https://pantry.example.net/→https://blog.example.com/"


def test_an_export_declaring_the_wxr_namespace_with_https_imports(app, runner, site, read):
    # As WordPress's theme test data does (xmlns:wp="https://wordpress.org/export/1.2/"); here with WXR 1.1.
    output = imported(runner, "wordpress", PANTRY, "--map-url", PANTRY_MOVE)
    assert "Imported 5 comments (4 approved, 1 pending), 1 of them mentions." in output
    thread = page(read, FLOUR)
    assert thread["thread"]["title"] == "Weighing flour – a table"
    jonas, mention = thread["comments"]
    assert mention["author"]["name"] == "breadweekly.example.org"  # a pingback: the page that links here
    # Listed child first, nested parent first.
    [marta] = jonas["replies"]
    [priya] = marta["replies"]
    assert (marta["author"]["name"], priya["author"]["name"], priya["depth"]) == ("Marta", "Priya", 3)


def test_tables_and_definition_lists_in_comments_keep_their_structure(app, runner, site, read):
    imported(runner, "wordpress", PANTRY, "--map-url", PANTRY_MOVE)
    html = page(read, FLOUR)["comments"][0]["html"]
    # Each row an item, each cell labelled with its column's header; each term in bold, its definitions a list.
    assert ('<ul><li><strong>Flour:</strong> <a href="https://jonas.example.net/rye" rel="nofollow ugc noopener">'
            "Rye</a> — <strong>Grams per cup:</strong> 102 — Sifted first.</li><li><strong>Flour:</strong> Spelt — "
            "<strong>Grams per cup:</strong> 110 — Straight from the bag.</li></ul>") in html
    assert ("<p><strong>Autolyse</strong></p>\n<ul><li>Flour and water resting before the salt.</li></ul>"
            "<p><strong>Levain</strong></p>\n<ul><li>The starter, fed and ready.</li><li>Also called a leaven.</li>"
            "</ul>") in html.replace("\n</li>", "</li>")
    # Text between block elements is a paragraph of its own, as WordPress shows it, not run into its neighbours.
    assert "<p><strong>My numbers</strong></p>\n<h2>Weights</h2>\n<p>Measured on a kitchen scale:</p>" in html
    assert "<p>Thanks for the post!</p>\n<p>Second paragraph, with<br>\na line break.</p>" in html
    # The Markdown kept for edits says the same.
    body = stored(app)["wordpress:501"]["body"]
    assert "- **Flour:** [Rye](https://jonas.example.net/rye) — **Grams per cup:** 102 — Sifted first." in body
    assert "**Levain**\n\n- The starter, fed and ready.\n- Also called a leaven." in body


@pytest.mark.parametrize("declared", ["http://wordpress.org/export/1.3/", "https://example.com/export/1.2/"])
def test_a_wp_namespace_wordpress_never_wrote_is_named(runner, site, tmp_path, declared):
    other = tmp_path / "other.xml"
    other.write_text(PANTRY.read_text(encoding="utf-8").replace("https://wordpress.org/export/1.1/\"", f"{declared}\""),
                     encoding="utf-8")
    result = run(runner, "wordpress", other)
    assert result.exit_code != 0
    assert f"not a WordPress export: xmlns:wp is '{declared}'; WordPress exports declare" in result.output
