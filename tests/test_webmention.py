"""Webmentions received: the endpoint, the check of the source by the outbox's sender, the mention in
the thread, its updates and removal, and what is refused. Sources are pages a real HTTP server serves
on loopback, so the app under test allows private addresses (one test checks that others refuse them)."""
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import ORIGIN, PAGE
from dashboard_helpers import submit
from helpers import row_counts, serve_in_background
from hypothesis import given, settings
from hypothesis import strategies as st
from test_api_document import problems
from test_embed import InlineCode
from werkzeug.datastructures import MultiDict

from widget import worker
from widget.webmentions import read_source


class SourceSite:
    """Pages served on 127.0.0.1, which a test may change between requests; it remembers each request."""

    def __init__(self):
        self.pages = {}
        self.requests = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (the name http.server calls)
                site.requests.append((self.path, dict(self.headers)))
                status, content_type, body, headers = site.pages.get(
                    self.path.split("?")[0], (404, "text/plain", "not here", {}))
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = serve_in_background(self.server)

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def serve(self, path, body, status=200, content_type="text/html; charset=utf-8", **headers):
        self.pages[path] = (status, content_type, body, headers)
        return self.url(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def post_page(title="A reply to Hello", link=PAGE, author="Jane Doe"):
    """A post on someone's blog, marked up with microformats as IndieWeb sites do."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title} | Jane's blog</title></head>
<body><article class="h-entry">
<h1 class="p-name">{title}</h1>
<p>By <a class="p-author h-card" href="/">{author}</a></p>
<div class="e-content"><p>I liked <a href="{link}">this post</a> a lot.</p></div>
</article></body></html>"""


@pytest.fixture
def app(make_app):
    return make_app(ALLOW_PRIVATE_TARGETS=True)


@pytest.fixture
def source():
    served = SourceSite()
    yield served
    served.close()


def send(client, source_url, target=PAGE, site="blog"):
    return client.post(f"/webmention/{site}", data={"source": source_url, "target": target})


def sent_and_checked(app, client, source_url, target=PAGE):
    """Send the Webmention, let the sender check it, and return what the status address then says."""
    response = send(client, source_url, target)
    assert response.status_code == 202, response.get_data(as_text=True)
    worker.run_pending(app)
    return client.get(response.headers["Location"]).get_json()


def thread(client, url=PAGE):
    return client.get("/api/v1/threads", query_string={"site": "blog", "url": url}).get_json()


def embed_html(client, url=PAGE):
    response = client.get("/embed/thread", query_string={"site": "blog", "url": url, "origin": ORIGIN})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def mention_id(admin):
    queue = admin.get("/dashboard/sites/blog/queue").get_data(as_text=True)
    return int(re.search(r'id="comment-(\d+)"', queue).group(1))


# Received, checked, moderated, shown ---------------------------------------------------------------

def test_a_mention_is_checked_held_approved_and_shown(app, client, site, admin, source):
    source_url = source.serve("/2026/reply", post_page())
    response = send(client, source_url)
    assert response.status_code == 202
    location = response.headers["Location"]
    assert location.startswith("http://comments.test/webmention/blog/status/")
    assert response.get_json()["status"] == "queued"
    assert client.get(location).get_json()["status"] == "queued"
    assert source.requests == []  # checked later, by the sender, never in the request

    worker.run_pending(app)
    status = client.get(location).get_json()
    assert status == {"status": "verified", "reason": "the mention waits for moderation",
                      "source": source_url, "target": PAGE}
    (path, headers), = source.requests
    assert path == "/2026/reply" and "text/html" in headers["Accept"]

    assert thread(client)["comments"] == []  # held for moderation: nobody sees it yet
    queue = admin.get("/dashboard/sites/blog/queue").get_data(as_text=True)
    assert "Mention</span>" in queue and f'href="{source_url}"' in queue and "A reply to Hello" in queue
    assert ">Approve<" in queue and 'data-action="edit"' not in queue

    assert submit(admin, f"/dashboard/sites/blog/comments/{mention_id(admin)}/moderate",
                  {"action": "approve"}).status_code == 302
    page = thread(client)
    (shown,) = page["comments"]
    assert page["thread"]["comment_count"] == 1
    assert shown["kind"] == "mention" and shown["status"] == "approved"
    assert shown["source"] == {"url": source_url, "host": "127.0.0.1", "title": "A reply to Hello"}
    assert shown["author"]["name"] == "Jane Doe" and shown["author"]["avatar_url"].startswith(
        "http://comments.test/api/v1/avatars/")
    assert shown["html"] == f'<p><a href="{source_url}" rel="nofollow ugc noopener">A reply to Hello</a></p>'

    html = embed_html(client)
    item = html.split(f'id="comment-{shown["id"]}"')[1].split("</li>")[0]
    assert "is-mention" in html
    assert "127.0.0.1 mentioned this:" in item
    assert (f'<a class="comment-mention-link" href="{source_url}" rel="nofollow ugc noopener" target="_blank">'
            "A reply to Hello</a>") in item
    assert 'data-action="reply"' not in item and 'data-action="like"' not in item


def test_the_thread_with_a_mention_is_as_the_api_document_says(app, client, site, admin, source):
    sent_and_checked(app, client, source.serve("/post", post_page()))
    submit(admin, f"/dashboard/sites/blog/comments/{mention_id(admin)}/moderate", {"action": "approve"})
    document = client.get("/api/v1/openapi.json").get_json()
    response = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE})
    assert response.status_code == 200
    assert problems(document, "get", "/threads", response) == []


def test_a_hostile_title_comes_out_as_inert_text(app, client, site, admin, source):
    hostile = "&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(2)>&lt;img src=x onerror=alert(3)&gt;"
    source_url = source.serve("/evil", post_page(title=hostile, author="<b onmouseover=alert(4)>Eve</b>"))
    assert sent_and_checked(app, client, source_url)["status"] == "verified"
    submit(admin, f"/dashboard/sites/blog/comments/{mention_id(admin)}/moderate", {"action": "approve"})
    (shown,) = thread(client)["comments"]
    assert shown["source"]["title"] == "<script>alert(1)</script> <img src=x onerror=alert(3)>"
    assert shown["author"]["name"] == "Eve"
    assert "<script" not in shown["html"] and "<img" not in shown["html"]
    html = embed_html(client)
    parser = InlineCode()
    parser.feed(html)
    assert parser.found == []  # no script element, no event handler attribute
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(3)&gt;" in html
    dashboard = admin.get("/dashboard/sites/blog/comments").get_data(as_text=True)
    assert "<script>alert" not in dashboard and "<img src=x" not in dashboard


def test_a_zalgo_title_and_author_are_kept_without_their_pile_of_marks(app, client, site, admin, source):
    # Another server's page cannot be refused in words as a form can: its text is kept, marks capped.
    source_url = source.serve("/zalgo", post_page(title="H" + "\u0301" * 99 + "ello",
                                                  author="E" + "\u0336" * 50 + "ve"))
    assert sent_and_checked(app, client, source_url)["status"] == "verified"
    submit(admin, f"/dashboard/sites/blog/comments/{mention_id(admin)}/moderate", {"action": "approve"})
    (shown,) = thread(client)["comments"]
    assert shown["source"]["title"] == "H\u0301\u0301\u0301\u0301ello"
    assert shown["author"]["name"] == "E\u0336\u0336\u0336\u0336ve"


def test_sending_again_updates_the_one_mention(app, client, site, admin, source):
    source_url = source.serve("/post", post_page(title="First title"))
    sent_and_checked(app, client, source_url)
    submit(admin, f"/dashboard/sites/blog/comments/{mention_id(admin)}/moderate", {"action": "approve"})
    source.serve("/post", post_page(title="Better title", author="Jane Q. Doe"))
    status = sent_and_checked(app, client, source_url)
    assert status["status"] == "verified" and status["reason"] == "the mention was updated"
    (shown,) = thread(client)["comments"]
    assert shown["source"]["title"] == "Better title" and shown["author"]["name"] == "Jane Q. Doe"
    assert shown["status"] == "approved"  # an update keeps the moderator's decision
    assert "Better title" in embed_html(client)
    # The same again changes nothing (the Recommendation asks for idempotence), and tracking
    # parameters or a fragment on the source name the same page.
    again = sent_and_checked(app, client, source_url + "?utm_source=feed#top")
    assert again["reason"] == "the mention is unchanged"
    assert [c["id"] for c in thread(client)["comments"]] == [shown["id"]]


def test_an_updated_mention_still_waiting_stays_held(app, client, site, source):
    source_url = source.serve("/post", post_page(title="Draft"))
    sent_and_checked(app, client, source_url)
    source.serve("/post", post_page(title="Final"))
    sent_and_checked(app, client, source_url)
    assert thread(client)["comments"] == []


@pytest.mark.parametrize("change", ["gone", "not found", "no longer links"])
def test_a_deleted_source_or_one_no_longer_linking_removes_the_mention(app, client, site, admin, source, change):
    source_url = source.serve("/post", post_page())
    sent_and_checked(app, client, source_url)
    submit(admin, f"/dashboard/sites/blog/comments/{mention_id(admin)}/moderate", {"action": "approve"})
    assert len(thread(client)["comments"]) == 1
    if change == "gone":
        source.serve("/post", "This post was deleted.", status=410, content_type="text/plain")
    elif change == "not found":
        source.serve("/post", "No such page.", status=404, content_type="text/plain")
    else:
        source.serve("/post", post_page(link="https://elsewhere.example/"))
    status = sent_and_checked(app, client, source_url)
    assert status["status"] == "removed"
    assert status["reason"] == ("updated source no longer links to target" if change == "no longer links"
                                else "source is gone")
    assert thread(client)["comments"] == []
    assert "A reply to Hello" not in embed_html(client)
    assert "A reply to Hello" not in admin.get("/dashboard/sites/blog/comments").get_data(as_text=True)


def test_a_source_that_does_not_link_is_refused_and_nothing_is_stored(app, client, site, source):
    before = row_counts(app)
    page = post_page(link="https://blog.example.com/posts/other")
    # The target's address as text is no link; a link must be one (Recommendation, 3.2.2).
    page = page.replace("a lot.", f"a lot, see {PAGE}.")
    status = sent_and_checked(app, client, source.serve("/post", page))
    assert status["status"] == "refused" and status["reason"] == "source does not link to target"
    after = row_counts(app)
    assert after["comments"] == before["comments"] and after["threads"] == before["threads"]


@pytest.mark.parametrize("hostile", [
    "<div>" * 180_000,  # elements never closed: each new one looked back at all those still open
    "<h1>" + "a<b></b>" * 100_000 + "</h1>",  # a heading's text in a hundred thousand pieces
    "<a" * 400_000,  # a tag never finished: html.parser read the rest again from each of its characters
], ids=["unclosed elements", "text in pieces", "unfinished tag"])
def test_a_source_built_to_be_slow_to_read_is_read_in_one_pass(app, client, site, source, hostile):
    # Anyone may send a Webmention, and the sender reads up to 1 MB of the source in a web process's thread.
    response = send(client, source.serve("/slow", post_page() + hostile))
    assert response.status_code == 202
    checking = threading.Thread(target=worker.run_pending, args=(app,), daemon=True)
    checking.start()
    checking.join(timeout=60)  # read in well under a second; the first page alone held a core for an hour
    assert not checking.is_alive(), "the sender was still reading the source page"
    assert client.get(response.headers["Location"]).get_json()["status"] == "verified"


def test_a_source_naming_punycode_as_its_charset_is_read_as_utf8_without_burning_minutes(app, client, site, source):
    # Python's punycode codec takes quadratic time: this page cost 10 s of CPU (its full megabyte, minutes).
    # Only the Encoding Standard's labels name an encoding; any other is read as UTF-8, as browsers do.
    body = f'<a href="{PAGE}">a reply</a>-'.encode() + b"a" * 400_000
    response = send(client, source.serve("/puny", body, content_type="text/html; charset=punycode"))
    assert response.status_code == 202
    started = time.thread_time()
    worker.run_pending(app)
    assert time.thread_time() - started < 2
    assert client.get(response.headers["Location"]).get_json()["status"] == "verified"


def test_a_missing_source_is_refused(app, client, site, source):
    status = sent_and_checked(app, client, source.url("/never-written"))
    assert status == {"status": "refused", "reason": "source not found (HTTP 404)",
                      "source": source.url("/never-written"), "target": PAGE}


def test_redirects_are_followed_and_links_read_against_where_they_ended(app, client, site, source):
    source.serve("/old", "", status=301, content_type="text/plain", Location="/new/")
    source.serve("/new/", f'<base href="{ORIGIN}/posts/"><p><a href="hello#comments">this</a></p>')
    assert sent_and_checked(app, client, source.url("/old"))["status"] == "verified"
    for hop in range(7):  # a loop is given up after five hops
        source.serve(f"/loop{hop}", "", status=302, content_type="text/plain", Location=f"/loop{hop + 1}")
    status = sent_and_checked(app, client, source.url("/loop0"))
    assert status["status"] == "refused" and "redirects" in status["reason"]
    assert len([path for path, _ in source.requests if path.startswith("/loop")]) == 6


def test_an_unreachable_source_is_tried_again(app, client, site, source):
    source.serve("/busy", "try later", status=503, content_type="text/plain")
    status = sent_and_checked(app, client, source.url("/busy"))
    assert status["status"] == "queued" and "503" in status["reason"]


def test_a_mention_on_a_page_keyed_by_thread_id_joins_that_thread(app, client, site, post, source):
    comment = post("First!", thread_id="post-17").get_json()["comment"]
    status = sent_and_checked(app, client, source.serve("/post", post_page()))
    assert status["status"] == "verified"
    from widget.extensions import db
    from widget.models import Comment
    with app.app_context():
        mention = db.session.scalar(db.select(Comment).where(Comment.kind == "mention"))
        assert mention.thread_id == db.session.get(Comment, comment["id"]).thread_id


def test_a_mention_takes_no_reply_like_or_edit(app, client, site, admin, post, source):
    sent_and_checked(app, client, source.serve("/post", post_page()))
    mention = mention_id(admin)
    submit(admin, f"/dashboard/sites/blog/comments/{mention}/moderate", {"action": "approve"})
    reply = post("Replying to a mention", parent_id=mention)
    assert reply.status_code == 400 and reply.get_json()["error"]["code"] == "parent_not_open"
    like = client.post(f"/api/v1/comments/{mention}/like", headers={"Origin": ORIGIN})
    assert like.status_code == 404
    edit = submit(admin, f"/dashboard/sites/blog/comments/{mention}/edit", {"body": "changed"})
    assert edit.status_code == 400
    assert thread(client)["comments"][0]["source"]["title"] == "A reply to Hello"
    # Deleted and restored by a moderator, it is the link it was, not the title read as Markdown.
    submit(admin, f"/dashboard/sites/blog/comments/{mention}/moderate", {"action": "delete"})
    assert thread(client)["comments"] == []
    submit(admin, f"/dashboard/sites/blog/comments/{mention}/moderate", {"action": "restore"})
    assert thread(client)["comments"][0]["html"].startswith('<p><a href="http://127.0.0.1:')


# Private addresses -------------------------------------------------------------------------------------

@pytest.fixture
def strict(make_app, site):
    """The app as servers run it: private, loopback and reserved addresses are never fetched."""
    return make_app(ALLOW_PRIVATE_TARGETS=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "10.0.0.8", "169.254.169.254", "localhost",
                                  # With a trailing dot, in every spelling a resolver reads: never a name to look up.
                                  "127.0.0.1.", "127.0.0.1..", "127.1.", "0x7f000001.", "2130706433.", "0177.0.0.1.",
                                  "1.1.1.1."])
def test_a_private_source_is_refused_at_once(strict, source, host):
    client = strict.test_client()
    response = send(client, source.url("/post", host=host))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "source_not_allowed"
    worker.run_pending(strict)
    assert source.requests == []


def test_a_name_resolving_to_loopback_is_refused_when_checked_and_never_fetched(app, strict, source, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == "friend.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    source.serve("/post", post_page())
    source_url = source.url("/post", host="friend.example")
    client = strict.test_client()
    response = send(client, source_url)
    assert response.status_code == 202  # a name says nothing until it is resolved
    worker.run_pending(strict)
    status = client.get(response.headers["Location"]).get_json()
    assert status["status"] == "refused" and "loopback" in status["reason"]
    assert source.requests == []
    # Where private addresses are allowed, the same name reaches the page.
    assert sent_and_checked(app, app.test_client(), source_url)["status"] == "verified"
    assert [path for path, _ in source.requests] == ["/post"]


# What the endpoint refuses -----------------------------------------------------------------------------

LONG = "https://blog.example.com/" + "a" * 3000


@pytest.mark.parametrize("data, code", [
    ({"target": PAGE}, "missing_source"),
    ({"source": "https://friend.example/post"}, "missing_target"),
    ({"source": "", "target": PAGE}, "missing_source"),
    ({"source": "ftp://friend.example/post", "target": PAGE}, "invalid_source"),
    ({"source": "javascript:alert(1)", "target": PAGE}, "invalid_source"),
    ({"source": "https://user:pw@friend.example/post", "target": PAGE}, "invalid_source"),
    ({"source": "http://[::1", "target": PAGE}, "invalid_source"),
    ({"source": "https://friend.example:99999/", "target": PAGE}, "invalid_source"),
    ({"source": "https://friend.example/a\x07b", "target": PAGE}, "invalid_source"),
    ({"source": "https://friend.example/post", "target": "/posts/hello"}, "invalid_target"),
    ({"source": "https://friend.example/post", "target": "https://other.example.net/posts/hello"},
     "target_not_accepted"),
    ({"source": "https://friend.example/post", "target": "http://blog.example.com/posts/hello"},
     "target_not_accepted"),
    ({"source": PAGE, "target": PAGE}, "same_url"),
    ({"source": PAGE + "#comments", "target": PAGE + "?utm_source=x"}, "same_url"),
    ({"source": LONG, "target": PAGE}, "source_too_long"),
    ({"source": "https://friend.example/post", "target": LONG}, "target_too_long"),
    ({"source": ["https://a.example/", "https://b.example/"], "target": PAGE}, "invalid_source"),
])
def test_bad_requests_are_refused_with_what_is_wrong(app, client, site, data, code):
    before = row_counts(app)
    response = client.post("/webmention/blog", data=data)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert row_counts(app) == before


@pytest.mark.parametrize("kwargs", [
    {"json": {"source": "https://friend.example/post", "target": PAGE}},
    {"data": "source=https://friend.example/post&target=" + PAGE, "content_type": "text/plain"},
    {"data": b"\xff\xfe\x00", "content_type": "application/octet-stream"},
    {},
])
def test_a_body_that_is_not_a_form_is_refused(app, client, site, kwargs):
    response = client.post("/webmention/blog", **kwargs)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "not_form_encoded"


def test_odd_bytes_in_a_form_get_an_answer_not_an_error(client, site):
    for body in (b"source=%ff%fe&target=%00", b"source=" + b"%" * 500, b"&&&==&source", b"source=\xff\xfe"):
        response = client.post("/webmention/blog", data=body, content_type="application/x-www-form-urlencoded")
        assert 400 <= response.status_code < 500, body


form_values = st.sampled_from([PAGE, PAGE + "#c", "https://friend.example/post", "http://127.0.0.1/x",
                               "https://blog.example.com:99999/", "ftp://x/y", "", "https://" + "a" * 2100]) | st.text(
    st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=150)
@given(fields=st.lists(st.tuples(st.sampled_from(["source", "target", "vouch", ""]), form_values), max_size=5),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", ""]),
       token=st.text(st.characters(codec="utf-8", exclude_characters="/?#\x00"), min_size=1, max_size=80))
def test_generated_input_never_gets_a_500(client, site, app, fields, content_type, token):
    before = row_counts(app)
    if content_type == "application/x-www-form-urlencoded":
        response = client.post("/webmention/blog", data=MultiDict(fields))
    else:
        body = "&".join(f"{name}={value}" for name, value in fields).encode()
        response = client.post("/webmention/blog", data=body, headers={"Content-Type": content_type})
    assert response.status_code in (202, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert set(response.get_json()["error"]) == {"code", "message"}
        assert row_counts(app) == before
    assert client.get(f"/webmention/blog/status/{token}").status_code == 404


def test_unknown_site_is_404(client, site):
    response = send(client, "https://friend.example/post", site="nosuchsite")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_site"
    assert client.get("/webmention/nosuchsite").status_code == 404


def test_a_forged_or_foreign_status_token_is_404(app, client, site, runner, source):
    response = send(client, source.serve("/post", post_page()))
    location = response.headers["Location"]
    token = location.rsplit("/", 1)[1]
    assert client.get(location).status_code == 200
    for forged in ("1", token[:-2] + "xx", "x" * 300, "eyJhIjoxfQ.abc"):
        assert client.get(f"/webmention/blog/status/{forged}").status_code == 404
    assert runner.invoke(args=["site", "add", "shop", "--name", "Shop", "--origin", "https://shop.example"]
                         ).exit_code == 0
    foreign = client.get(f"/webmention/shop/status/{token}")
    assert foreign.status_code == 404 and foreign.get_json()["error"]["code"] == "unknown_webmention"


def test_the_endpoint_says_what_it_is(client, site):
    response = client.get("/webmention/blog")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "Webmention endpoint of Blog" in response.get_data(as_text=True)


def test_webmentions_are_rate_limited_per_address(make_app, site):
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_WEBMENTIONS="2 per minute")
    client = limited.test_client()
    source_url = "https://friend.example/post"
    assert [send(client, source_url).status_code for _ in range(2)] == [202, 202]
    refused = send(client, source_url)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "rate_limited"


# Where senders find the endpoint ----------------------------------------------------------------------

def test_the_loader_names_the_endpoint_and_the_dashboard_gives_the_tag(client, site, admin):
    loader = client.get("/embed.js").get_data(as_text=True)
    assert 'link[rel~="webmention" i]' in loader and "webmention/" in loader
    overview = admin.get("/dashboard/sites/blog").get_data(as_text=True)
    assert "&lt;link rel=&#34;webmention&#34; href=&#34;http://comments.test/webmention/blog&#34;&gt;" in overview


# Reading sources (pure) -----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, content_type, links", [
    (f'<a href="{PAGE}">x</a>', "text/html", True),
    (f'<A HREF="{PAGE}?utm_campaign=x#c">x</A>', "text/html; charset=utf-8", True),
    ('<a href="/posts/hello">x</a>', "text/html", False),  # relative to the source, not to the target
    ('<base href="https://blog.example.com/"><a href="posts/hello">x</a>', "text/html", True),
    (f'<img src="{PAGE}">', "text/html", True),
    (f'<blockquote cite="{PAGE}">quoted</blockquote>', "text/html", True),
    (f"<p>{PAGE}</p>", "text/html", False),
    (f'<a href="{PAGE}/">x</a>', "text/html", False),
    (f'<a href="{PAGE}', "text/html", False),
    (f"see {PAGE} there", "text/plain", True),
    (f'{{"items": [{{"url": "{PAGE}"}}]}}', "application/json", True),
    ('{"url": "https://blog.example.com/"}', "application/json", False),
    ("[[[[[[[[[[" * 10000, "application/json", False),
    (f'<a href="{PAGE}">x</a>', "image/png", False),
])
def test_what_counts_as_a_link_to_the_target(body, content_type, links):
    assert read_source(body.encode(), content_type, "https://friend.example/2026/post", PAGE).links is links


def test_title_and_author_come_from_microformats_then_the_page():
    page = read_source(post_page(title="Entry  name").encode(), "text/html", "https://friend.example/", PAGE)
    assert (page.title, page.author) == ("Entry name", "Jane Doe")
    plain = read_source(f'<title>Only\n a title</title><h1>Heading</h1><a href="{PAGE}">x</a>'.encode(),
                        "text/html", "https://friend.example/", PAGE)
    assert (plain.title, plain.author) == ("Only a title", None)
    long = read_source(f"<h1>{'word ' * 200}</h1>".encode(), "text/html", "https://friend.example/", PAGE)
    assert len(long.title) == 300 and long.title.endswith("…")
    latin = read_source("<title>Café</title>".encode("latin-1"), "text/html; charset=iso-8859-1",
                        "https://friend.example/", PAGE)
    assert latin.title == "Café"
    for charset in ("undefined", "punycode", "rot13", "nonsense"):
        odd = read_source(f'<title>Odd</title><a href="{PAGE}">\xff</a>'.encode("latin-1"),
                          f"text/html; charset={charset}", "https://friend.example/", PAGE)
        assert odd.links and odd.title == "Odd"


@pytest.mark.parametrize("body, content_type, title", [
    (b"<title>\x80 Caf\xe9</title>", "text/html; charset=latin1", "€ Café"),  # latin1 is windows-1252 on the web
    (b"<title>\x80 Caf\xe9</title>", "text/html; charset=US-ASCII", "€ Café"),
    (b"<title>\xa4</title>", "text/html; charset= ISO_8859-15:1988 ", "\ufffd"),  # not a label: UTF-8
    (b"<title>\xa4</title>", "text/html; charset=l9", "€"),
    (b'<meta charset="x-user-defined"><title>\x80</title>', "text/html", "€"),  # windows-1252 in a <meta>
    (b'<meta charset="utf-16"><title>caf\xc3\xa9</title>', "text/html", "café"),  # a <meta> read was no UTF-16
    ("<title>café</title>".encode("utf-16-le"), "text/html; charset=utf-16", "café"),
    (b"<title>\x8a\xbf</title>", "text/html; charset=shift_jis", "漢"),
    (b'<meta charset="rot13"><title>nop</title>', "text/html", "nop"),
    (b"\xef\xbb\xbf<title>caf\xc3\xa9</title>", "text/html; charset=windows-1251", "café"),  # a BOM wins
    (b"<title>+AGEAYgBj-</title>", "text/html; charset=utf-7", "+AGEAYgBj-"),  # no web encoding
])
def test_only_the_encoding_standards_labels_choose_how_a_source_is_read(body, content_type, title):
    assert read_source(body, content_type, "https://friend.example/", PAGE).title == title
