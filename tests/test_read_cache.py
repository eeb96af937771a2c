"""The read cache: public thread pages and counts come from stored bytes, and never outlive a write.

Each write is made after the page is stored (a repeat read then runs no query through the app),
and the next read must show it. Personal reads never come from the store, and the store never
holds anything personal.
"""
import gzip
import json
import re
import socket
import time
import uuid
from datetime import timedelta

import brotli
import pytest
import redis
from conftest import GUEST, ORIGIN, PAGE, REDIS_URL, require_redis
from dashboard_helpers import comment_on, create_admin, logged_in, submit
from helpers import statements_during

from widget import comments
from widget.extensions import db
from widget.models import Thread, utcnow

THREADS = "/api/v1/threads"


def public_page(client, **params):
    response = client.get(THREADS, query_string={"site": "blog", "url": PAGE} | params)
    assert response.status_code == 200
    return response.get_json()


def stored_page(app, client, **params):
    """The public page, read twice: the second answer must come from the store, without the app."""
    public_page(client, **params)
    page, statements = statements_during(app, lambda: public_page(client, **params))
    assert statements == [], "the repeat read was not served from the read cache"
    return page


def texts(page):
    def walk(nodes):
        for node in nodes:
            yield node["html"]
            yield from walk(node["replies"])
    return list(walk(page["comments"]))


# Every kind of write ------------------------------------------------------------------------------

def _export_line_for(app, runner, tmp_path, body):
    """A Parley export file holding the page's thread and one new comment on it."""
    path = tmp_path / "site.jsonl"
    assert runner.invoke(args=["export", "--site", "blog", "--output", str(path)]).exit_code == 0
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    thread = next(line for line in lines if line.get("type") == "thread")
    comment = next(line for line in lines if line.get("type") == "comment")
    added = dict(comment, id=987654, parent=None, body=body, html=f"<p>{body}</p>")
    path.write_text("\n".join(json.dumps(line) for line in (lines[0], thread, added)) + "\n")
    return path


def _moderate(admin, comment_id, action):
    response = submit(admin, f"/dashboard/sites/blog/comments/{comment_id}/moderate", {"action": action})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]


WRITES = {
    # name: (set up before the page is stored -> state, the write, what the next public page shows)
    "a new comment": (
        lambda w: None,
        lambda w, s: comment_on(w.client, "second words"),
        lambda page: "<p>second words</p>" in texts(page)),
    "an author's edit": (
        lambda w: w.client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "typo",
                                                           "author": GUEST}, headers={"Origin": ORIGIN}).get_json(),
        lambda w, s: w.client.patch(f"/api/v1/comments/{s['comment']['id']}", json={"body": "fixed"},
                                    headers={"Origin": ORIGIN, "X-Edit-Token": s["edit_token"]}),
        lambda page: "<p>fixed</p>" in texts(page) and "<p>typo</p>" not in texts(page)),
    "an author's delete": (
        lambda w: w.client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "oops",
                                                           "author": GUEST}, headers={"Origin": ORIGIN}).get_json(),
        lambda w, s: w.client.delete(f"/api/v1/comments/{s['comment']['id']}",
                                     headers={"Origin": ORIGIN, "X-Edit-Token": s["edit_token"]}),
        lambda page: "<p>oops</p>" not in texts(page)),
    "a like": (
        lambda w: None,
        lambda w, s: w.client.post(f"/api/v1/comments/{w.first['id']}/like", headers={"Origin": ORIGIN}),
        lambda page: page["comments"][0]["likes"] == 1),
    "a moderator's approval": (
        lambda w: (w.set_site("moderation", "all"), comment_on(w.client, "held back"))[1],
        lambda w, s: _moderate(w.admin, s["id"], "approve"),
        lambda page: "<p>held back</p>" in texts(page)),
    "a moderator's spam verdict": (
        lambda w: None,
        lambda w, s: _moderate(w.admin, w.first["id"], "spam"),
        lambda page: texts(page) == []),
    "a moderator's delete": (
        lambda w: None,
        lambda w, s: _moderate(w.admin, w.first["id"], "delete"),
        lambda page: texts(page) == []),
    "a moderator's edit": (
        lambda w: None,
        lambda w, s: submit(w.admin, f"/dashboard/sites/blog/comments/{w.first['id']}/edit", {"body": "tidied"}),
        lambda page: texts(page) == ["<p>tidied</p>"] and page["comments"][0]["edited_by_moderator"]),
    "a pin": (
        lambda w: comment_on(w.client, "later words"),
        lambda w, s: _moderate(w.admin, s["id"], "pin"),
        lambda page: page["comments"][0]["html"] == "<p>later words</p>" and page["comments"][0]["pinned"]),
    "a lock": (
        lambda w: None,
        lambda w, s: w.runner.invoke(args=["thread", "lock", "blog", PAGE]),
        lambda page: page["thread"]["locked"] is True),
    "a site setting": (
        lambda w: comment_on(w.client, "deeper",
                             parent_id=comment_on(w.client, "a reply", parent_id=w.first["id"])["id"]),
        lambda w, s: w.set_site("max_depth", 2),
        lambda page: any(reply["in_reply_to"] for reply in page["comments"][0]["replies"])),
    "an import": (
        lambda w: None,
        lambda w, s: w.runner.invoke(args=["import", "json", str(_export_line_for(w.app, w.runner, w.tmp_path,
                                                                                      "brought over")),
                                           "--site", "blog"]),
        lambda page: "<p>brought over</p>" in texts(page)),
    "a reader's erasure": (
        lambda w: None,
        lambda w, s: w.runner.invoke(args=["reader", "erase", "--email", GUEST["email"], "--yes"]),
        lambda page: texts(page) == []),
}


class World:
    def __init__(self, app, client, runner, admin, set_site, tmp_path):
        self.app, self.client, self.runner, self.admin = app, client, runner, admin
        self.set_site, self.tmp_path = set_site, tmp_path
        self.first = comment_on(client, "first words")


@pytest.mark.parametrize("kind", list(WRITES))
def test_every_kind_of_write_shows_in_the_next_public_read(kind, app, client, runner, admin, set_site, tmp_path):
    set_up, write, shows = WRITES[kind]
    world = World(app, client, runner, admin, set_site, tmp_path)
    state = set_up(world)
    before = stored_page(app, client)
    assert not shows(before)
    result = write(world, state)
    assert getattr(result, "status_code", 200) < 400 and getattr(result, "exit_code", 0) == 0, result
    assert shows(public_page(client)), kind


def test_a_thread_closing_by_its_age_shows_without_a_write(app, client, site, set_site):
    comment_on(client, "old page")
    set_site("close_after_days", 1)
    with app.app_context():
        thread = db.session.scalar(db.select(Thread))
        thread.created_at = utcnow() - timedelta(days=1) + timedelta(seconds=1.5)  # it closes in 1.5 s
        db.session.commit()
    assert stored_page(app, client)["thread"]["locked"] is False
    time.sleep(1.6)
    assert public_page(client)["thread"]["locked"] is True


def test_a_thread_the_writing_request_holds_carries_its_new_version(app, client, site):
    # A version bump runs as one plain UPDATE, past the ORM: a Thread the same request already loaded
    # must still say the new version, or what it renders next would carry the old ETag.
    comment_on(client, "first")
    with app.app_context():
        thread = db.session.scalar(db.select(Thread))
        before = thread.version
        comments.bump_thread(thread.id)
        assert thread.version == before + 1
        db.session.commit()
        assert db.session.scalar(db.select(Thread.version)) == before + 1


def test_counts_follow_each_new_comment(app, client, site):
    other = "https://blog.example.com/posts/other"
    query = {"site": "blog", "url": [PAGE, other]}
    assert client.get("/api/v1/counts", query_string=query).get_json()["counts"] == {PAGE: 0, other: 0}
    comment_on(client, "one")
    assert client.get("/api/v1/counts", query_string=query).get_json()["counts"] == {PAGE: 1, other: 0}
    response, statements = statements_during(app, lambda: client.get("/api/v1/counts", query_string=query))
    assert statements == [] and response.get_json()["counts"] == {PAGE: 1, other: 0}
    comment_on(client, "two", url=other)  # a page that had no thread yet
    assert client.get("/api/v1/counts", query_string=query).get_json()["counts"] == {PAGE: 1, other: 1}


def test_two_instances_on_one_database_never_serve_each_other_stale(make_app, site, client):
    """A write through one server shows at once on another that had the page stored."""
    other = make_app()
    other_client = other.test_client()
    comment_on(client, "first words")
    assert texts(stored_page(other, other_client)) == ["<p>first words</p>"]
    comment_on(client, "written elsewhere")
    assert texts(public_page(other_client)) == ["<p>first words</p>", "<p>written elsewhere</p>"]
    counts = {"site": "blog", "url": PAGE}
    assert other_client.get("/api/v1/counts", query_string=counts).get_json()["counts"] == {PAGE: 2}
    comment_on(client, "and again")
    assert other_client.get("/api/v1/counts", query_string=counts).get_json()["counts"] == {PAGE: 3}


# Nothing personal in, nothing personal out --------------------------------------------------------

def test_no_reader_ever_sees_another_readers_private_parts(app, client, site, set_site):
    set_site("moderation", "all")
    comment_on(client, "visible to all")
    _moderate(logged_in_admin(app), comment_on(client, "placeholder")["id"], "approve")
    public_before = stored_page(app, client)
    held = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "my secret draft",
                                                  "author": GUEST}, headers={"Origin": ORIGIN}).get_json()
    author_token = held["reader_token"]
    other_token = client.post(f"/api/v1/comments/{public_before['comments'][0]['id']}/like",
                              headers={"Origin": ORIGIN}).get_json()["reader_token"]

    for _ in range(2):  # before and after the public page is stored again
        mine = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                          headers={"X-Reader-Token": author_token})
        assert "my secret draft" in mine.get_data(as_text=True)
        own = next(c for c in mine.get_json()["comments"] if c["id"] == held["comment"]["id"])
        assert own["status"] == "pending" and own["can_edit"] and own["body"] == "my secret draft"
        assert "private" in mine.headers["Cache-Control"] and "Surrogate-Key" not in mine.headers

        theirs = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                            headers={"X-Reader-Token": other_token})
        assert "my secret draft" not in theirs.get_data(as_text=True)
        assert theirs.get_json()["comments"][0]["liked_by_me"] is True

        for encoding in ("identity", "gzip", "br"):
            shared = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                                headers={"Accept-Encoding": encoding})
            body = decoded(shared)
            assert b"my secret draft" not in body and b'"body"' not in body and b'"can_edit":true' not in body
            assert b'"liked_by_me":true' not in body
        public_page(client)


def test_the_author_of_a_held_comment_sees_each_change_to_it_past_their_cached_copy(app, client, site, set_site):
    # Held comments move no thread version (nobody else may hear of them); their author's copy must move still.
    set_site("moderation", "all")
    admin = logged_in_admin(app)
    _moderate(admin, comment_on(client, "published")["id"], "approve")
    public = client.get(THREADS, query_string={"site": "blog", "url": PAGE})
    first = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "draft one", "author": GUEST},
                        headers={"Origin": ORIGIN}).get_json()
    mine = {"X-Reader-Token": first["reader_token"]}

    def read_mine(etag):
        response = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                              headers=mine | ({"If-None-Match": etag} if etag else {}))
        assert response.status_code in (200, 304)
        shown = texts(response.get_json()) if response.status_code == 200 else None
        return response.status_code, shown, response.headers["ETag"]

    status, shown, etag = read_mine(None)
    assert "<p>draft one</p>" in shown
    assert read_mine(etag)[0] == 304
    second = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "draft two",
                                                   "author": GUEST}, headers={"Origin": ORIGIN} | mine).get_json()
    status, shown, etag = read_mine(etag)
    assert status == 200 and "<p>draft two</p>" in shown
    assert client.patch(f"/api/v1/comments/{second['comment']['id']}", json={"body": "draft 2b"},
                        headers={"Origin": ORIGIN, "X-Edit-Token": second["edit_token"]}).status_code == 200
    status, shown, etag = read_mine(etag)
    assert status == 200 and "<p>draft 2b</p>" in shown
    _moderate(admin, second["comment"]["id"], "delete")
    status, shown, etag = read_mine(etag)
    assert status == 200 and "<p>draft 2b</p>" not in shown and "<p>draft one</p>" in shown
    # Meanwhile everyone else's copy stayed good.
    assert client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                      headers={"If-None-Match": public.headers["ETag"]}).status_code == 304


def test_a_token_that_no_longer_works_is_refused_not_answered_from_the_store(app, client, site):
    comment_on(client, "words")
    stored_page(app, client)
    response = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                          headers={"Authorization": "Bearer not-a-real-token"})
    assert response.status_code == 401


def logged_in_admin(app):
    create_admin(app.test_cli_runner())
    return logged_in(app)


def decoded(response):
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        return gzip.decompress(response.data)
    if encoding == "br":
        return brotli.decompress(response.data)
    return response.data


# What a browser and a CDN see ---------------------------------------------------------------------

def test_stored_answers_are_the_apps_own_in_every_encoding_with_cdn_headers(app, client, site):
    for n in range(12):  # big enough to be compressed
        comment_on(client, f"comment number {n} with some words to make the page long enough")
    head_first = client.head(THREADS, query_string={"site": "blog", "url": PAGE})
    assert head_first.status_code == 200 and head_first.data == b""
    first = client.get(THREADS, query_string={"site": "blog", "url": PAGE})
    assert int(head_first.headers["Content-Length"]) == len(first.data)
    expected = first.get_json()
    for encoding in ("gzip", "br", "identity"):
        response = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                              headers={"Accept-Encoding": encoding})
        assert response.headers.get("Content-Encoding") == (None if encoding == "identity" else encoding)
        assert json.loads(decoded(response)) == expected
        assert int(response.headers["Content-Length"]) == len(response.data)
        assert "Accept-Encoding" in response.headers["Vary"] and "X-Reader-Token" in response.headers["Vary"]
        control = response.headers["Cache-Control"].split(", ")
        assert {"public", "max-age=0", "s-maxage=10", "stale-while-revalidate=60"} <= set(control)
        thread_id = expected["thread"]["id"]
        assert response.headers["Surrogate-Key"] == f"parley-site-blog parley-thread-{thread_id}"
    head = client.head(THREADS, query_string={"site": "blog", "url": PAGE})
    assert head.status_code == 200 and head.data == b""
    not_modified = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                              headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == first.headers["ETag"]


def test_cross_origin_reads_get_their_own_cors_headers(app, client, site):
    comment_on(client, "words")
    for _ in range(2):
        allowed = client.get(THREADS, query_string={"site": "blog", "url": PAGE}, headers={"Origin": ORIGIN})
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        stranger = client.get(THREADS, query_string={"site": "blog", "url": PAGE},
                              headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in stranger.headers


def test_bad_requests_are_never_stored(app, client, site):
    for _ in range(2):
        response = client.get(THREADS, query_string={"site": "blog", "url": "javascript:alert(1)"})
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_url"
        assert client.get(THREADS, query_string={"site": "ghost", "url": PAGE}).status_code == 404


def test_without_the_read_cache_every_read_goes_to_the_app(make_app):
    app = make_app(READ_CACHE_MB=0)
    assert "parley.read_cache" not in app.extensions
    client = app.test_client()
    app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    comment_on(client, "words")
    public_page(client)
    _, statements = statements_during(app, lambda: public_page(client))
    assert statements


# The iframe's first paint -------------------------------------------------------------------------

def _config(html):
    start = html.index('id="parley-config">') + len('id="parley-config">')
    return json.loads(html[start:html.index("</script>", start)])


def test_the_iframe_page_is_rendered_once_per_version_and_holds_nothing_per_reader(app, client, site):
    for n in range(30):
        comment_on(client, f"comment {n} with words enough to be worth compressing")
    url = f"/embed/thread?site=blog&url={PAGE}&origin={ORIGIN}"
    first, rendering = statements_during(app, lambda: client.get(url))
    again, stored = statements_during(app, lambda: client.get(url, headers={"Accept-Encoding": "gzip"}))
    assert len(stored) == 2 < len(rendering)  # the site and the thread: the versions its ETag is made of
    assert again.headers["Content-Encoding"] == "gzip"
    # The same bytes for every reader: a browser that keeps the page (a 304) keeps nothing that goes stale,
    # such as a form token, which the widget asks for when its reader starts writing.
    assert first.get_data(as_text=True) == gzip.decompress(again.data).decode()
    assert "formToken" not in _config(first.get_data(as_text=True))
    comment_on(client, "a new one")
    assert "a new one" in client.get(url).get_data(as_text=True)


def test_the_iframe_page_draws_each_generated_face_once_and_asks_for_none(client, site):
    bea = dict(GUEST, name="Bea", email="bea@example.org")
    tokens = {}
    for n in range(3):
        for author in (GUEST, bea):
            headers = {"Origin": ORIGIN} | ({"X-Reader-Token": tokens[author["name"]]} if n else {})
            posted = client.post("/api/v1/comments", headers=headers, json={
                "site": "blog", "url": PAGE, "body": f"from {author['name']} {n}", "author": author}).get_json()
            tokens.setdefault(author["name"], posted.get("reader_token"))
    html = client.get(f"/embed/thread?site=blog&url={PAGE}&origin={ORIGIN}").get_data(as_text=True)
    body = html[html.index("<body>"):html.index('<template id="parley-comment-template"')]
    assert "/api/v1/avatars/" not in body  # no request per face
    symbols = re.findall(r'<symbol id="(avatar-[0-9a-f]{32})"', body)
    uses = re.findall(r'<use href="#(avatar-[0-9a-f]{32})"/>', body)
    assert len(uses) == 6 and set(uses) == set(symbols) and len(symbols) == 2  # a face per reader


# Shared through Redis ------------------------------------------------------------------------------


def test_a_page_made_by_one_instance_is_served_by_another_through_redis(make_app, site, client):
    require_redis()
    shared = {"REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": f"parley-test-{uuid.uuid4().hex}"}
    first, second = make_app(**shared), make_app(**shared)
    for n in range(3):
        comment_on(client, f"words {n}")
    made, making = statements_during(first, lambda: public_page(first.test_client()))
    taken, taking = statements_during(second, lambda: public_page(second.test_client()))
    assert taken == made
    assert len(taking) == 2 < len(making)  # the site and the thread, for the ETag; not the page's comments
    # Only what a reader's widget asks for is shared: made-up variants must not fill Redis.
    stored = redis.Redis.from_url(shared["REDIS_URL"])
    pattern = f"{shared['RATELIMIT_KEY_PREFIX']}:page:*"
    assert len(stored.keys(pattern)) == 1
    for variant in ({"v": 12345}, {"limit": 7}, {"sort": "top", "limit": 3}):
        public_page(first.test_client(), **variant)
    assert len(stored.keys(pattern)) == 1
    comment_on(client, "news")
    assert "<p>news</p>" in texts(public_page(second.test_client()))


def test_a_redis_that_is_down_only_costs_the_sharing(make_app, site, client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    comment_on(client, "still here")
    assert texts(public_page(app.test_client())) == ["<p>still here</p>"]


def test_a_readers_parts_laid_over_the_shared_page_equal_a_page_made_for_them(app, client, site):
    """Likes, and edit links on own comments still in the window (not on older ones), as the full read gives them."""
    from helpers import age_comment

    from widget.comments import Viewer, own_waiting, read_thread, reader_parts
    from widget.sites import get_site
    from widget.tokens import reader_key_from_token
    from widget.web.serializers import page_json

    others = [comment_on(client, f"by someone else {n}") for n in range(3)]
    posted = client.post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
        "site": "blog", "url": PAGE, "body": "mine, old", "author": GUEST}).get_json()
    token = posted["reader_token"]
    age_comment(app, posted["comment"]["id"], 24 * 60)
    headers = {"Origin": ORIGIN, "X-Reader-Token": token}
    client.post("/api/v1/comments", headers=headers, json={
        "site": "blog", "url": PAGE, "body": "mine, *new*", "author": GUEST, "parent_id": others[0]["id"]})
    client.post(f"/api/v1/comments/{others[2]['id']}/like", headers=headers)
    public_page(client)

    laid_over = client.get(THREADS, query_string={"site": "blog", "url": PAGE}, headers={"X-Reader-Token": token})
    with app.test_request_context(base_url="http://comments.test"):
        viewer = Viewer(reader_key=reader_key_from_token(app.secret_key, token))
        blog = get_site("blog")
        thread = db.session.scalar(db.select(Thread))
        now = utcnow()
        assert reader_parts(blog, thread, viewer, now, own_waiting(thread, viewer)).waiting is False
        made_for_them = page_json(blog, read_thread(thread, viewer), PAGE, viewer, now)
    shown = laid_over.get_json()
    assert shown == json.loads(json.dumps(made_for_them))
    flat = {c["id"]: c for c in _flat(shown["comments"])}
    assert flat[others[2]["id"]]["liked_by_me"] is True
    assert flat[posted["comment"]["id"]]["can_edit"] is False and "body" not in flat[posted["comment"]["id"]]
    assert [c["body"] for c in flat.values() if c["can_edit"]] == ["mine, *new*"]


def _flat(comments):
    for comment in comments:
        yield comment
        yield from _flat(comment["replies"])
