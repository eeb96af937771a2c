"""Atom feeds of approved comments: what a feed reader gets, and what it must never get."""
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser

import feedparser
import pytest
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import submit
from hypothesis import given, settings
from hypothesis import strategies as st

ATOM = "{http://www.w3.org/2005/Atom}"
OTHER_PAGE = "https://blog.example.com/posts/second"
THREAD_FEED = "/feeds/blog/thread.atom"
TAG = re.compile(r"^tag:comments\.test,\d{4}-\d{2}-\d{2}:comment-(\d+)$")


def feed_of(client, path="/feeds/blog.atom", **params):
    response = client.get(path, query_string=params or None)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    return response


def thread_feed(client, url=PAGE, **params):
    return feed_of(client, THREAD_FEED, url=url, **params)


def atom(response):
    """The feed checked against RFC 4287 as a strict reader would, then as feedparser reads it."""
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None and root.find(f"{ATOM}{required}").text, required
    self_links = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert len(self_links) == 1
    for entry in root.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "published", "author/" + ATOM + "name", "content", "link"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        assert entry.find(f"{ATOM}content").get("type") == "html"
        # Dates with a time zone (RFC 3339), as Atom requires.
        assert datetime.fromisoformat(entry.find(f"{ATOM}updated").text).tzinfo is not None
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def ids(parsed):
    return [entry.id for entry in parsed.entries]


def comment_id(entry):
    match = TAG.match(entry.id)
    assert match, entry.id
    return int(match.group(1))


def posted(post, body="Hello **world**", **fields):
    response = post(body, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


class Tags(HTMLParser):
    """The elements and attributes a reader would get from rendering an entry's content as HTML."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs


# What a feed holds ---------------------------------------------------------------------------------

def test_site_feed_has_the_newest_approved_comments_of_every_page(client, post):
    first = posted(post, "First on hello", title="Hello world")["comment"]
    second = posted(post, "On the second page", url=OTHER_PAGE, title="Second post")["comment"]
    parsed = atom(feed_of(client))
    assert parsed.feed.title == "Blog"
    assert parsed.feed.id.startswith("tag:comments.test,")
    assert [comment_id(e) for e in parsed.entries] == [second["id"], first["id"]]  # newest first
    newest = parsed.entries[0]
    assert newest.title == "Ada on Second post"
    assert newest.author == "Ada"
    assert newest.link == f"{OTHER_PAGE}#comment-{second['id']}"
    assert "On the second page" in newest.content[0].value
    assert newest.published_parsed and newest.updated_parsed
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": "http://comments.test/feeds/blog.atom", "alternate": ORIGIN}


def test_site_feed_holds_the_fifty_newest(client, post):
    made = [posted(post, f"Comment number {n}")["comment"]["id"] for n in range(52)]
    parsed = atom(feed_of(client))
    assert [comment_id(e) for e in parsed.entries] == made[::-1][:50]


def test_thread_feed_has_only_that_page(client, post):
    mine = posted(post, "About hello", title="Hello world")["comment"]
    posted(post, "Elsewhere", url=OTHER_PAGE)
    parsed = atom(thread_feed(client))
    assert [comment_id(e) for e in parsed.entries] == [mine["id"]]
    assert parsed.feed.title == "Comments on Hello world"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["alternate"] == PAGE
    assert links["self"] == f"http://comments.test{THREAD_FEED}?url=https://blog.example.com/posts/hello"


def test_thread_feed_finds_the_page_as_the_widget_does(client, post):
    mine = posted(post, "About hello")["comment"]
    same_page = "HTTPS://Blog.Example.com:443/posts/hello?utm_source=feed#comments"
    parsed = atom(thread_feed(client, url=same_page))
    assert [comment_id(e) for e in parsed.entries] == [mine["id"]]


def test_thread_feed_by_explicit_thread_id(client, post):
    mine = posted(post, "Kept across moves", url=PAGE, thread_id="post-17", title="Moving post")["comment"]
    parsed = atom(feed_of(client, THREAD_FEED, thread_id="post-17"))
    assert [comment_id(e) for e in parsed.entries] == [mine["id"]]
    assert parsed.feed.title == "Comments on Moving post"


def test_page_without_a_thread_yet_is_an_empty_feed(client, site):
    parsed = atom(thread_feed(client, url="https://blog.example.com/posts/new"))
    assert parsed.entries == []
    assert parsed.feed.title == "Comments on https://blog.example.com/posts/new"
    assert parsed.feed.updated_parsed


def test_an_empty_thread_feed_keeps_its_id_once_comments_come(client, post):
    before = atom(thread_feed(client)).feed.id
    posted(post)
    assert atom(thread_feed(client)).feed.id == before


# Stable ids ---------------------------------------------------------------------------------------

def test_entry_id_survives_an_edit_and_a_second_request(client, post):
    answer = posted(post, "Frist!")
    comment = answer["comment"]
    first = atom(thread_feed(client)).entries[0]
    again = atom(thread_feed(client)).entries[0]
    assert again.id == first.id
    edited = client.patch(f"/api/v1/comments/{comment['id']}", json={"body": "First, corrected."},
                          headers={"X-Edit-Token": answer["edit_token"], "Origin": ORIGIN})
    assert edited.status_code == 200, edited.get_json()
    after = atom(thread_feed(client)).entries[0]
    assert after.id == first.id
    assert "First, corrected." in after.content[0].value
    assert after.updated_parsed >= first.updated_parsed
    assert after.published == first.published
    # The same comment has the same id in the site's feed.
    assert ids(atom(feed_of(client))) == [first.id]


# What never appears ---------------------------------------------------------------------------------

def test_pending_spam_and_deleted_comments_stay_out(client, post, set_site):
    shown = posted(post, "Approved and shown")["comment"]
    removed = posted(post, "Soon deleted")
    gone = client.delete(f"/api/v1/comments/{removed['comment']['id']}",
                         headers={"X-Edit-Token": removed["edit_token"], "Origin": ORIGIN})
    assert gone.status_code == 204
    set_site("blocked_words", "casino")
    posted(post, "Best casino bonus here")
    set_site("moderation", "all")
    held = posted(post, "Waiting for a moderator")["comment"]
    assert held["status"] == "pending"
    for response in (feed_of(client), thread_feed(client)):
        text = response.get_data(as_text=True)
        assert [comment_id(e) for e in atom(response).entries] == [shown["id"]]
        for hidden in ("Soon deleted", "casino", "Waiting for a moderator"):
            assert hidden not in text


def test_a_deleted_comment_kept_as_placeholder_stays_out(client, post):
    parent = posted(post, "Parent to delete")
    reply = posted(post, "A reply keeps it in place", parent_id=parent["comment"]["id"])["comment"]
    gone = client.delete(f"/api/v1/comments/{parent['comment']['id']}",
                         headers={"X-Edit-Token": parent["edit_token"], "Origin": ORIGIN})
    assert gone.status_code == 204
    assert [comment_id(e) for e in atom(thread_feed(client)).entries] == [reply["id"]]


def test_author_email_never_appears(client, post):
    posted(post, "Mail me never", author=GUEST | {"email": "secret.ada@example.org"})
    for response in (feed_of(client), thread_feed(client)):
        assert "secret.ada" not in response.get_data(as_text=True)
        assert atom(response).entries[0].author == "Ada"
        assert "email" not in atom(response).entries[0].author_detail


@pytest.mark.parametrize("body", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(document.cookie)">',
    "[click](javascript:alert(1))",
    "<svg onload=alert(1)>",
])
def test_hostile_html_never_comes_out_as_live_markup(client, post, body):
    posted(post, f"Look: {body}")
    for response in (feed_of(client), thread_feed(client)):
        content = ET.fromstring(response.data).find(f"{ATOM}entry/{ATOM}content")
        assert len(content) == 0  # escaped text, no XML children a reader could take for markup
        rendered = Tags()
        rendered.feed(content.text)
        assert not {"script", "img", "svg", "iframe"} & set(rendered.tags)
        assert not [name for name, _ in rendered.attributes if name.startswith("on")]
        assert not [value for _, value in rendered.attributes if "javascript:" in (value or "").lower()]


def test_a_character_xml_cannot_carry_does_not_break_the_feed(client, post):
    posted(post, "Odd \ufffe character", author=GUEST | {"name": "Ada \uffff"})
    assert "Odd" in atom(feed_of(client)).entries[0].content[0].value


# Caching -------------------------------------------------------------------------------------------

def test_unchanged_feed_answers_304_without_a_body(client, post):
    posted(post)
    for path, params in (("/feeds/blog.atom", {}), (THREAD_FEED, {"url": PAGE})):
        first = feed_of(client, path, **params)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")  # strong
        assert first.headers["Last-Modified"]
        assert "public" in first.headers["Cache-Control"] and "max-age=" in first.headers["Cache-Control"]
        again = client.get(path, query_string=params, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.data == b""
        assert again.headers["ETag"] == etag


def test_etag_changes_when_a_comment_is_approved(client, post, set_site, admin):
    posted(post)
    set_site("moderation", "all")
    held = posted(post, "Held for review")["comment"]
    before = feed_of(client).headers["ETag"]
    assert client.get("/feeds/blog.atom", headers={"If-None-Match": before}).status_code == 304
    approved = submit(admin, f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"},
                      headers={"Accept": "application/json"})
    assert approved.status_code == 200, approved.get_data(as_text=True)[:500]
    response = client.get("/feeds/blog.atom", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["ETag"] != before
    assert held["id"] in [comment_id(e) for e in atom(response).entries]


def test_feed_cannot_run_anything_when_opened_in_a_browser(client, post):
    posted(post)
    response = feed_of(client)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers


# Refusals ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/feeds/nosuchsite.atom", "/feeds/nosuchsite/thread.atom?url=" + PAGE])
def test_unknown_site_is_404(client, site, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "nosuchsite" in response.get_data(as_text=True)
    as_json = client.get(path, headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert as_json.get_json()["error"]["code"] == "unknown_site"


@pytest.mark.parametrize("params, code", [
    ({}, "missing_thread"),
    ({"url": ""}, "missing_thread"),
    ({"url": "not a url"}, "invalid_url"),
    ({"url": "javascript:alert(1)"}, "invalid_url"),
    ({"url": "ftp://blog.example.com/x"}, "invalid_url"),
    ({"url": [PAGE, OTHER_PAGE]}, "invalid_url"),
])
def test_missing_or_bad_url_is_400(client, site, params, code):
    response = client.get(THREAD_FEED, query_string=params)
    assert response.status_code == 400
    assert "text/html" in response.headers["Content-Type"]
    as_json = client.get(THREAD_FEED, query_string=params, headers={"Accept": "application/json"})
    assert as_json.status_code == 400
    assert as_json.get_json()["error"]["code"] == code


# Any text a feed reader can put in an address (UTF-8 cannot carry a lone surrogate), and some that bite.
query_values = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from([
    "", " ", PAGE, "https://[::1", "https://%5B::1", "//evil.example", "\ufffe", "\uffff", "a" * 3000, "%00",
])


@settings(max_examples=100)
@given(params=st.dictionaries(st.sampled_from(["url", "thread_id"]), query_values | st.lists(query_values, max_size=2),
                              max_size=2))
def test_thread_feed_never_500s(client, site, params):
    response = client.get(THREAD_FEED, query_string=params)
    assert response.status_code in (200, 400), (params, response.get_data(as_text=True)[:500])
    if response.status_code == 200:
        atom(response)


def test_the_widget_links_to_its_thread_feed(client, site, post):
    posted(post)
    page = client.get("/embed/thread", query_string={"site": site, "url": PAGE, "origin": ORIGIN})
    assert page.status_code == 200
    match = re.search(r'<a class="comments-feed" href="([^"]+)"', page.get_data(as_text=True))
    assert match
    href = match.group(1).replace("&amp;", "&")
    assert href.startswith(THREAD_FEED)
    assert len(atom(feed_of(client, href)).entries) == 1
