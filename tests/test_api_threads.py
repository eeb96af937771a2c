"""Reading threads: order, pages, caching and the cost in SQL queries."""
from datetime import timedelta

import pytest
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import comment_on, submit
from helpers import flatten, seed_chain, statements_during

from widget import worker
from widget.extensions import db
from widget.models import Comment, Thread


def test_page_without_comments_reads_as_an_empty_thread(read):
    response = read(url="https://blog.example.com/quiet-page")
    assert response.status_code == 200
    assert response.get_json() == {
        "thread": {"id": None, "url": "https://blog.example.com/quiet-page", "title": None,
                   "locked": False, "comment_count": 0},
        "comments": [],
        "next_cursor": None,
    }


def test_sorts(post, read, client):
    ids = [post(body=f"comment {i}").get_json()["comment"]["id"] for i in range(3)]
    liked = client.post(f"/api/v1/comments/{ids[1]}/like").status_code
    assert liked == 200
    order = {sort: [c["id"] for c in read(sort=sort).get_json()["comments"]] for sort in ("oldest", "newest", "top")}
    assert order["oldest"] == ids
    assert order["newest"] == ids[::-1]
    assert order["top"] == [ids[1], ids[0], ids[2]]


@pytest.mark.parametrize("sort", ["oldest", "newest", "top"])
def test_cursor_pages_cover_every_top_level_comment_once_with_its_replies(post, read, sort):
    roots = [post(body=f"root {i}").get_json()["comment"]["id"] for i in range(7)]
    post(body="reply", parent_id=roots[4])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"sort": sort, "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = read(**params).get_json()
        pages += 1
        seen += page["comments"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(c["id"] for c in seen) == sorted(roots)
    (with_reply,) = [c for c in seen if c["id"] == roots[4]]
    assert [r["html"] for r in with_reply["replies"]] == ["<p>reply</p>"]


def test_cursor_from_another_sort_is_refused(post, read):
    for i in range(3):
        post(body=f"c{i}")
    cursor = read(limit=1).get_json()["next_cursor"]
    response = read(sort="top", cursor=cursor)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"


def test_repeat_read_is_304_until_the_thread_changes(post, read, client):
    first = post().get_json()["comment"]
    response = read()
    etag = response.headers["ETag"]
    # Browsers always ask again; a CDN in front may answer for a few seconds (see the read cache tests).
    assert "max-age=0" in response.headers["Cache-Control"].split(", ")
    again = read(headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    client.post(f"/api/v1/comments/{first['id']}/like")
    after_like = read(headers={"If-None-Match": etag})
    assert after_like.status_code == 200
    etag = after_like.headers["ETag"]
    post(body="second")
    assert read(headers={"If-None-Match": etag}).status_code == 200


def test_etag_differs_per_reader(post, read):
    created = post().get_json()
    anonymous = read().headers["ETag"]
    author = read(headers={"X-Reader-Token": created["reader_token"]})
    assert author.headers["ETag"] != anonymous
    assert author.get_json()["comments"][0]["can_edit"] is True
    assert read(headers={"If-None-Match": anonymous}).status_code == 304
    assert read(headers={"If-None-Match": anonymous, "X-Reader-Token": created["reader_token"]}).status_code == 200


def _seed_thread(app, site_public_id, total, replies_per_root):
    """Write a thread of `total` comments straight to the database (set-up only)."""
    from widget.comments import thread_key
    from widget.sites import get_site

    with app.app_context():
        site = get_site(site_public_id)
        key, url = thread_key(PAGE)
        thread = Thread(site_id=site.id, key=key, url=url)
        db.session.add(thread)
        db.session.flush()
        made = 0
        while made < total:
            root = Comment(thread_id=thread.id, body="root", html="<p>root</p>", author_name="R",
                           author_email="r@example.org")
            db.session.add(root)
            db.session.flush()
            root.root_id = root.id
            made += 1
            parent = root
            for depth in range(2, replies_per_root + 2):
                if made >= total:
                    break
                reply = Comment(thread_id=thread.id, parent_id=parent.id, root_id=root.id, depth=depth,
                                body="reply", html="<p>reply</p>", author_name="S", author_email="s@example.org")
                db.session.add(reply)
                db.session.flush()
                parent = reply if depth % 2 else root
                made += 1
        db.session.commit()


@pytest.mark.parametrize("total", [10, 1000])
def test_thread_read_costs_a_fixed_number_of_queries(app, site, read, total):
    _seed_thread(app, site, total, replies_per_root=9)
    response, statements = statements_during(app, lambda: read(limit=200))
    assert response.status_code == 200
    shown = response.get_json()
    assert shown["thread"]["comment_count"] == total
    # 200 top-level comments may be asked for, but a page carries at most 500 comments in all.
    assert len(shown["comments"]) == min(-(-total // 10), 50)
    # site, thread, page of roots, their reply counts, their replies, count (likes need a reader token)
    assert len(statements) == 6, statements


def test_a_readers_read_of_a_thousand_comment_thread_lays_their_parts_over_the_shared_page(app, site, read, client):
    _seed_thread(app, site, 1000, replies_per_root=9)
    first_id, second_id = (c["id"] for c in read().get_json()["comments"][:2])
    token = client.post(f"/api/v1/comments/{first_id}/like").get_json()["reader_token"]
    other = client.post(f"/api/v1/comments/{second_id}/like").get_json()["reader_token"]
    response, statements = statements_during(app, lambda: read(limit=200, headers={"X-Reader-Token": token}))
    assert response.status_code == 200
    page = response.get_json()
    assert page["thread"]["comment_count"] == 1000
    assert [c["liked_by_me"] for c in page["comments"][:2]] == [True, False]
    # site, thread, the reader's held comments, likes and editable comments; then the public page (4)
    assert len(statements) == 9, statements
    response, statements = statements_during(app, lambda: read(limit=200, headers={"X-Reader-Token": other}))
    assert [c["liked_by_me"] for c in response.get_json()["comments"][:2]] == [False, True]
    assert len(statements) == 5, statements  # the public page is made once per version, for everyone


def test_not_modified_read_is_answered_by_the_read_cache_without_the_app(post, app, read):
    post()
    etag = read().headers["ETag"]
    response, statements = statements_during(app, lambda: read(headers={"If-None-Match": etag}))
    assert response.status_code == 304
    assert statements == []  # one version check, on the read cache's own connection


def test_not_modified_read_costs_two_queries_without_the_read_cache(make_app):
    app = make_app(READ_CACHE_MB=0)
    added = app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    assert added.exit_code == 0
    client = app.test_client()
    client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "Hi", "author": GUEST},
                headers={"Origin": ORIGIN})
    query = {"site": "blog", "url": PAGE}
    etag = client.get("/api/v1/threads", query_string=query).headers["ETag"]
    response, statements = statements_during(app, lambda: client.get(
        "/api/v1/threads", query_string=query, headers={"If-None-Match": etag}))
    assert response.status_code == 304
    assert len(statements) == 2


def test_five_thousand_deep_reply_chain_reads_within_the_page_bound(app, site, read, client):
    """A reply chain 5,000 deep: every page and every piece carries at most 500 comments, and all arrive."""
    ids = seed_chain(app, site, 5000)
    response = read()
    page = response.get_json()
    (root,) = page["comments"]
    shown = list(flatten(page["comments"]))
    assert len(shown) == 500
    assert len(response.data) < 500_000
    assert root["more_replies"] == 4500 and root["replies_cursor"]
    assert page["next_cursor"] is None
    # Nested to the deepest level (5), then flat there, each naming whom it answers.
    assert max(comment["depth"] for comment in shown) == 500
    level_five = root["replies"][0]["replies"][0]["replies"][0]["replies"]
    assert len(level_five) == 496 and level_five[-1]["in_reply_to"]["id"] == ids[498]

    seen, cursor, pieces = [c["id"] for c in shown], root["replies_cursor"], 0
    while cursor:
        piece = client.get(f"/api/v1/comments/{ids[0]}/replies", query_string={"cursor": cursor}).get_json()
        assert len(piece["comments"]) <= 500
        assert all(c["in_reply_to"]["id"] == c["parent_id"] for c in piece["comments"])
        seen += [c["id"] for c in piece["comments"]]
        cursor, pieces = piece["next_cursor"], pieces + 1
        assert piece["more_replies"] == 5000 - len(seen)
    assert pieces == 9 and seen == ids


def test_page_ends_before_a_top_level_comment_whose_replies_do_not_fit(app, site, read, post):
    first = post(body="short conversation").get_json()["comment"]["id"]
    post(body="a reply", parent_id=first)
    long_ids = seed_chain(app, site, 600)
    page = read().get_json()
    assert [c["id"] for c in page["comments"]] == [first]  # the 600-comment one waits for the next page
    assert page["comments"][0]["more_replies"] == 0
    following = read(cursor=page["next_cursor"]).get_json()
    assert [c["id"] for c in following["comments"]] == [long_ids[0]]
    assert following["comments"][0]["more_replies"] == 100


def test_replies_of_a_hidden_or_unknown_comment_are_not_found(client, site, post, set_site):
    created = post(body="root").get_json()
    reply = post(body="reply", parent_id=created["comment"]["id"]).get_json()["comment"]
    for comment_id in (reply["id"], 999_999, 2**40):
        response = client.get(f"/api/v1/comments/{comment_id}/replies", query_string={"cursor": "x"})
        assert response.status_code == 404 and response.get_json()["error"]["code"] in ("unknown_comment", "not_found")
    bad = client.get(f"/api/v1/comments/{created['comment']['id']}/replies", query_string={"cursor": "bm9wZQ"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_cursor"


# Comments that wait on a page nobody commented on yet --------------------------------------------------

FRESH = "https://blog.example.com/posts/fresh"


def what_readers_see(client, url=FRESH):
    """All that a reader, a feed reader or a shared cache can learn of a page without a token: the API's page
    with its ETag and cache keys, the iframe page's ETag (of its very bytes), the page's feed and its count."""
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": url})
    frame = client.get("/embed/thread", query_string={"site": "blog", "url": url, "origin": ORIGIN})
    feed = client.get("/feeds/blog/thread.atom", query_string={"url": url})
    counts = client.get("/api/v1/counts", query_string={"site": "blog", "url": url})
    assert {page.status_code, frame.status_code, feed.status_code, counts.status_code} == {200}
    return {"page": page.get_json(), "page etag": page.headers["ETag"], "cache keys": page.headers["Surrogate-Key"],
            "frame etag": frame.headers["ETag"], "feed": feed.get_data(as_text=True), "feed etag": feed.headers["ETag"],
            "count": counts.get_json()}


def app_statements_for_public_reads(app, client, url=FRESH):
    """The SQL the app ran to answer the page and its count again: none while the read cache's copies are good."""
    return statements_during(app, lambda: [
        client.get("/api/v1/threads", query_string={"site": "blog", "url": url}),
        client.get("/api/v1/counts", query_string={"site": "blog", "url": url})])[1]


def test_held_and_spam_comments_on_a_page_without_comments_change_nothing_readers_see(
        app, client, site, set_site, runner, admin):
    from test_webmention import SourceSite, post_page

    app.config["ALLOW_PRIVATE_TARGETS"] = True
    set_site("moderation", "all")
    assert runner.invoke(args=["site", "set", "blog", "blocked_words", "casino"]).exit_code == 0
    before = what_readers_see(client)
    assert app_statements_for_public_reads(app, client) == []  # the read cache answers from its copies

    def held(body, title, **fields):
        response = client.post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
            "site": "blog", "url": FRESH, "title": title, "body": body, "author": GUEST} | fields)
        assert response.status_code == 201 and response.get_json()["comment"]["status"] == "pending"
        return response.get_json()

    waiting = held("A first thought on it", "Fresh post")
    held("Cheap pills", "CHEAP PILLS at spam.example", honeypot="filled")
    held("The best casino in town", "CASINO at spam.example", author={"name": "Spammer", "email": "s@spam.example"})
    source = SourceSite()
    try:  # and a Webmention, which waits for a moderator too
        mention = source.serve("/mention", post_page(title="Buy followers", link=FRESH))
        assert client.post("/webmention/blog", data={"source": mention, "target": FRESH}).status_code == 202
        worker.run_pending(app)
    finally:
        source.close()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Comment.id))) == 4

    assert what_readers_see(client) == before
    assert app_statements_for_public_reads(app, client) == []  # and its copies are still good
    # Their author still sees their own comment waiting there.
    mine = client.get("/api/v1/threads", query_string={"site": "blog", "url": FRESH},
                      headers={"X-Reader-Token": waiting["reader_token"]}).get_json()
    assert [(c["html"], c["status"]) for c in mine["comments"]] == [("<p>A first thought on it</p>", "pending")]

    # Once a moderator publishes one, readers see the page as it named itself, and never the spam's names.
    approved = submit(admin, f"/dashboard/sites/blog/comments/{waiting['comment']['id']}/moderate",
                      {"action": "approve"})
    assert approved.status_code in (200, 302)
    after = what_readers_see(client)
    assert after["page"]["thread"]["id"] is not None and after["page"]["thread"]["title"] == "Fresh post"
    assert after["count"] == {"counts": {FRESH: 1}} and "<title>Comments on Fresh post</title>" in after["feed"]
    for changed in ("page etag", "frame etag", "feed etag"):
        assert after[changed] != before[changed]


def test_a_comment_held_long_ago_does_not_close_the_page_to_its_first_reader(app, client, site, set_site):
    set_site("close_after_days", 1)
    set_site("moderation", "all")
    assert comment_on(client, "Spam no moderator got to", url=FRESH)["status"] == "pending"
    with app.app_context():  # two days pass, the page still without a published comment
        db.session.scalar(db.select(Thread)).created_at -= timedelta(days=2)
        db.session.commit()
    assert what_readers_see(client)["page"]["thread"]["locked"] is False
    set_site("moderation", "none")
    assert comment_on(client, "The first real comment", url=FRESH)["status"] == "approved"
    assert what_readers_see(client)["page"]["thread"]["locked"] is False
