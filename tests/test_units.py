"""Pure helpers, edge by edge: URL normalisation, nesting, markup."""
import pytest

from widget import markup, tree
from widget.sites import proof_covers
from widget.urls import host_key, is_web_url, normalise_origin, normalise_url, origin_of


@pytest.mark.parametrize("given,expected", [
    ("https://Blog.Example.COM/Post", "https://blog.example.com/Post"),
    ("HTTPS://blog.example.com:443/a", "https://blog.example.com/a"),
    ("http://blog.example.com:80/a", "http://blog.example.com/a"),
    ("http://blog.example.com:8080/a", "http://blog.example.com:8080/a"),
    ("https://blog.example.com", "https://blog.example.com/"),
    ("https://blog.example.com/a#comments", "https://blog.example.com/a"),
    ("https://blog.example.com/a?utm_source=x&utm_medium=y&p=1&fbclid=z&gclid=q", "https://blog.example.com/a?p=1"),
    ("https://blog.example.com/a?b=2&a=1", "https://blog.example.com/a?b=2&a=1"),
    ("https://blog.example.com/a?", "https://blog.example.com/a"),
    ("https://[::1]:8000/x", "https://[::1]:8000/x"),
])
def test_normalise_url(given, expected):
    assert normalise_url(given) == expected


@pytest.mark.parametrize("bad", [
    "javascript:alert(1)", "data:text/html,x", "ftp://x/y", "/relative", "//host/x", "https://", "https://u:p@h/",
    "https://h:99999/", "https://exa mple.com/", "https://h/\x00", 'https://h/"', "", None, 42,
])
def test_normalise_url_refuses(bad):
    assert normalise_url(bad) is None
    assert not is_web_url(bad)


@pytest.mark.parametrize("given,expected", [
    ("https://Blog.Example.com", "https://blog.example.com"),
    ("https://blog.example.com/", "https://blog.example.com"),
    ("https://blog.example.com:443", "https://blog.example.com"),
    ("http://localhost:5000", "http://localhost:5000"),
    ("https://blog.example.com/path", None),
    ("https://blog.example.com?x=1", None),
    ("blog.example.com", None),
    ("null", None),
    ("http://.", None),
])
def test_normalise_origin(given, expected):
    assert normalise_origin(given) == expected


def test_an_international_origin_is_kept_in_the_ascii_form_browsers_send():
    assert normalise_origin("https://BÜCHER.example") == "https://xn--bcher-kva.example"
    assert normalise_origin("https://a" + "ü" * 70 + ".example") is None  # no valid name


@pytest.mark.parametrize("given", [
    "https://victim.example", "http://victim.example", "https://VICTIM.example:8443", "https://victim.example.",
    "http://victim.example.:80",
])
def test_every_scheme_port_and_spelling_of_a_host_has_one_key(given):
    assert host_key(given) == "victim.example"


@pytest.mark.parametrize("given,expected", [
    ("https://bücher.example", "xn--bcher-kva.example"), ("https://xn--BCHER-kva.example.", "xn--bcher-kva.example"),
    ("http://127.1:5000", "127.0.0.1"), ("http://0x7f000001", "127.0.0.1"), ("http://2130706433", "127.0.0.1"),
    ("http://[::ffff:127.0.0.1]", "127.0.0.1"), ("http://[0:0::1]:80", "::1"), ("http://1.2.3.4.", "1.2.3.4"),
    ("http://deadbeef.example", "deadbeef.example"), ("https://h/path", None), (None, None),
])
def test_host_key(given, expected):
    assert host_key(given) == expected


@pytest.mark.parametrize("proven,origin,covered", [
    ("https://victim.example", "https://victim.example", True),
    ("https://victim.example", "http://victim.example", True),  # the usual port speaks for the whole host
    ("http://victim.example", "https://victim.example:8443", True),
    ("https://victim.example:8443", "https://victim.example:8443", True),
    ("https://victim.example:8443", "https://victim.example", False),  # another port speaks for itself only
    ("https://victim.example:8443", "http://victim.example:8443", False),
    ("https://victim.example", "https://other.example", False),
])
def test_what_a_proof_speaks_for(proven, origin, covered):
    assert proof_covers(proven, origin) is covered


def test_origin_of():
    assert origin_of("https://Blog.example.com:443/a?b#c") == "https://blog.example.com"


def _row(id_, parent_id, depth, name="x", status="approved"):
    return {"id": id_, "parent_id": parent_id, "depth": depth, "author": {"name": name}, "status": status}


def test_tree_nests_and_flattens_past_max_depth():
    rows = [_row(1, None, 1), _row(2, 1, 2, "b"), _row(3, 2, 3, "c"), _row(4, 3, 4, "d"), _row(5, 1, 2)]
    (top,) = tree.build_tree(rows, max_depth=2)
    assert [r["id"] for r in top["replies"]] == [2, 3, 4, 5]
    assert top["replies"][1]["in_reply_to"] == {"id": 2, "author": "b"}
    assert top["replies"][2]["in_reply_to"] == {"id": 3, "author": "c"}


def test_tree_skips_replies_whose_parent_is_hidden():
    rows = [_row(1, None, 1), _row(3, 2, 3)]
    assert [r["replies"] for r in tree.build_tree(rows, 5)] == [[]]


def test_prune_deleted_keeps_placeholders_only_with_replies():
    rows = [_row(1, None, 1, status="deleted"), _row(2, 1, 2), _row(3, None, 1, status="deleted"),
            _row(4, 3, 2, status="deleted")]
    kept = tree.prune_deleted(tree.build_tree(rows, 5))
    assert [r["id"] for r in kept] == [1]


def test_markup_renders_commonmark_and_links():
    html = markup.render("# Title\n\n*em* `code` https://example.com\n\n> quote")
    assert "<h1>Title</h1>" in html and "<em>em</em>" in html and "<code>code</code>" in html
    assert '<a href="https://example.com" rel="nofollow ugc noopener">' in html
    assert "<blockquote>" in html


def test_markup_keeps_raw_html_as_text():
    assert markup.render("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_markup_never_makes_images():
    assert "<img" not in markup.render("![alt](https://tracker.example/pixel.gif)")


def test_count_links():
    assert markup.count_links("[a](https://a) https://b.example www.c.com plain") == 3
    assert markup.count_links("no links") == 0


def test_tree_of_a_deep_chain_nests_to_the_deepest_level_then_stays_there():
    rows = [_row(1, None, 1)] + [_row(n, n - 1, n, name=f"a{n}") for n in range(2, 5001)]
    (top,) = tree.build_tree(rows, max_depth=3)
    level_two = top["replies"]
    assert [r["id"] for r in level_two] == [2]
    level_three = level_two[0]["replies"]
    assert [r["id"] for r in level_three] == list(range(3, 5001))
    assert level_three[0]["in_reply_to"] is None
    assert level_three[-1]["in_reply_to"] == {"id": 4999, "author": "a4999"}
    assert all(r["replies"] == [] for r in level_three)


def test_prune_keeps_placeholders_under_a_comment_with_replies_still_to_come():
    rows = [_row(1, None, 1), _row(2, 1, 2, status="deleted"), _row(3, None, 1), _row(4, 3, 2, status="deleted")]
    kept = tree.prune_deleted(tree.build_tree(rows, 5), keep={1})
    assert [[r["id"] for r in node["replies"]] for node in kept] == [[2], []]


def _limit(method, target):
    return 256 * 1024 * 1024 if target == "/upload" else 64 * 1024


@pytest.mark.parametrize("sent,verdict", [
    (b"GET / HTTP/1.1\r\nHost: a\r\n", "wait"),
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "ready"),
    (b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "ready"),  # an empty line before a request is ignored
    (b"GET / HTTP/1.1\nHost: a\n\n", "refuse"),
    (b"POST /c HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", "wait"),
    (b"POST /c HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", "ready"),
    (b"POST /c HTTP/1.1\r\ncontent-length:5\r\n\r\nabcdeGET / HTTP/1.1\r\n", "ready"),  # the next one pipelined
    (b"POST /c HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n", "refuse"),  # more than the app takes there
    (b"POST /upload HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n", "stream"),  # an upload: its thread reads it
    (b"POST /upload HTTP/1.1\r\nContent-Length: 500000000\r\n\r\n", "refuse"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "wait"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", "wait"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\n\r\n", "ready"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n", "wait"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n", "ready"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n", "refuse"),  # announced: no wait
    (b"POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"1000\r\n" + b"a" * 4096 + b"\r\n") * 17,
     "refuse"),  # a chunked upload must say its length
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1;" + b"x" * 100_000, "refuse"),
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "ready"),  # gunicorn refuses it in words
    (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", "ready"),  # and this
    (b"POST /c HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "ready"),  # and this
    (b"POST /c HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", "ready"),  # and this
    (b"GET /" + b"a" * (70 * 1024), "refuse"),  # too long a head
    (b"GET / HTTP/1.1\r\nX-A: " + b"a" * (70 * 1024) + b"\r\n\r\n", "refuse"),
])
def test_the_worker_gives_a_thread_only_a_request_that_has_come_whole(sent, verdict):
    from widget.gunicorn_worker import Incoming

    incoming = Incoming(_limit)
    assert incoming.feed(sent) == verdict
    # The same bytes coming one at a time are judged alike.
    trickled = Incoming(_limit)
    for byte in range(len(sent)):
        trickled.feed(sent[byte:byte + 1])
    assert trickled.verdict == verdict and trickled.refusal == incoming.refusal


def test_the_worker_answers_100_continue_itself_and_the_app_sees_no_expectation():
    from widget.gunicorn_worker import Incoming

    incoming = Incoming(_limit)
    assert incoming.feed(b"POST /c HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n") == "wait"
    assert incoming.continue_due
    incoming.continued = True
    assert incoming.feed(b"{}") == "ready"
    assert incoming.payload() == b"POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
    # HTTP/1.0 has no such thing, and a body too large is refused rather than invited.
    old = Incoming(_limit)
    old.feed(b"POST /c HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert not old.continue_due
    large = Incoming(_limit)
    assert large.feed(b"POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n") == "refuse"
    assert large.refusal == (413, "The request body is larger than the server accepts.")


def test_the_worker_knows_which_forms_take_an_upload_and_how_large(app):
    from widget.gunicorn_worker import body_limits

    limit = body_limits(app)
    assert limit("POST", "/dashboard/sites/blog/import") == app.config["IMPORT_MAX_BYTES"]
    absolute = "http://comments.example.com/dashboard/sites/blog/import?x=1"
    assert limit("POST", absolute) == app.config["IMPORT_MAX_BYTES"]
    assert limit("GET", "/dashboard/sites/blog/import") == app.config["MAX_CONTENT_LENGTH"]
    assert limit("POST", "/dashboard/sites/blog/settings") == app.config["MAX_CONTENT_LENGTH"]
    assert limit("POST", "/api/v1/comments") == app.config["MAX_CONTENT_LENGTH"] == 64 * 1024


@pytest.mark.parametrize("address,mailbox", [
    ("Victim+news@Example.ORG", "victim@example.org"),
    ("victim@example.org.", "victim@example.org"),
    ("J.A.N.E+x@GoogleMail.com", "jane@gmail.com"),
    ("jo-smith@example.org", "jo-smith@example.org"),  # a mailbox of its own as often as a tag
    ("+tag@example.org", "+tag@example.org"),
])
def test_addresses_are_counted_by_the_mailbox_they_reach(address, mailbox):
    from widget.emails import mailbox as mailbox_of

    assert mailbox_of(address) == mailbox


def test_an_ipv6_client_sits_in_a_56_and_a_48_and_an_ipv4_one_in_none():
    from widget.addresses import client_key, wider_blocks

    key = client_key("2001:db8:1:2ab:1:2:3:4")
    assert key == "2001:db8:1:2ab::/64"
    assert wider_blocks(key) == [(56, "2001:db8:1:200::/56", 2), (48, "2001:db8:1::/48", 4)]
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7" and wider_blocks("192.0.2.7") == []
