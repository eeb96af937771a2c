"""Generated input at every endpoint: never a 500, never a partial write."""
import json

from conftest import GUEST, ORIGIN, PAGE
from helpers import row_counts
from hypothesis import given, settings
from hypothesis import strategies as st

# Any text at all, lone surrogates and control characters included: what a JSON body can carry.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
# What a URL or a form can carry: any text that UTF-8 can encode (a lone surrogate cannot be sent).
sendable_text = st.text(st.characters(codec="utf-8"), max_size=60)
scalars = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats() | any_text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3), max_leaves=8)


def either(plausible):
    return plausible | json_values


urls = st.sampled_from([PAGE, PAGE + "?utm_source=x", "https://blog.example.com/other", "http://x", "ftp://x/y",
                        "javascript:alert(1)", "", "https://[::1]:99999/", "https://a:b@c/"])
bodies = st.sampled_from(["hello", "**bold** [l](https://x.example)", "", " ", "<script>x</script>",
                          "x" * 10_001]) | any_text
authors = st.fixed_dictionaries(
    {}, optional={"name": either(st.sampled_from(["Ada", "", "A" * 101])),
                  "email": either(st.sampled_from(["ada@example.org", "bad", ""])),
                  "website": either(st.sampled_from(["https://ada.example", "javascript:x", None])),
                  "extra": json_values},
)
comment_payloads = st.fixed_dictionaries(
    {},
    optional={
        "site": either(st.sampled_from(["blog", "nope", ""])),
        "url": either(urls),
        "thread_id": either(st.sampled_from(["post-1", "", "x" * 201])),
        "title": either(st.sampled_from(["Title", "T" * 301])),
        "parent_id": either(st.integers(min_value=-5, max_value=50)),
        "body": either(bodies),
        "author": either(authors),
        "notify": either(st.sampled_from(["replies", "all", None, "spam"])),
        "unexpected": json_values,
    },
)


def _assert_clean_outcome(app, before, response, created_status=None):
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.is_json
        assert set(response.get_json()["error"]) == {"code", "message"}
        assert row_counts(app) == before, "a refused request wrote something"
    return response


@settings(max_examples=250)
@given(payload=comment_payloads, origin=st.sampled_from([ORIGIN, "https://evil.example", None]))
def test_post_comment_never_500s_or_half_writes(client, site, app, payload, origin):
    before = row_counts(app)
    headers = {"Origin": origin} if origin else {}
    response = _assert_clean_outcome(app, before, client.post("/api/v1/comments", json=payload, headers=headers))
    if response.status_code == 201:
        after = row_counts(app)
        assert after["comments"] == before["comments"] + 1
        assert after["threads"] - before["threads"] in (0, 1)


@settings(max_examples=150)
@given(raw=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
       content_type=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain",
                                     "multipart/form-data", ""]))
def test_raw_bodies_never_500(client, site, app, raw, content_type):
    before = row_counts(app)
    response = client.post("/api/v1/comments", data=raw, headers={"Content-Type": content_type})
    _assert_clean_outcome(app, before, response)


query_values = (st.sampled_from(["blog", "nope", PAGE, "oldest", "top", "0", "-1", "99999999999999999999"])
                | sendable_text)


@settings(max_examples=150)
@given(params=st.lists(st.tuples(st.sampled_from(["site", "url", "thread_id", "sort", "cursor", "limit", "v",
                                                  "last_event_id", "x"]),
                                 query_values), max_size=8),
       headers=st.dictionaries(st.sampled_from(["If-None-Match", "X-Reader-Token", "Origin", "Last-Event-ID"]),
                               st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)))
def test_reads_never_500(client, site, app, post, params, headers):
    before = row_counts(app)
    # The live stream answers 204 here: the test client is no multithreaded server (tests/test_live.py runs one).
    for path in ("/api/v1/threads", "/api/v1/counts", "/api/v1/threads/live"):
        response = client.get(path, query_string=params, headers=headers)
        _assert_clean_outcome(app, before, response)
        if response.status_code < 400 and response.status_code not in (204, 304):
            assert response.is_json
    assert row_counts(app) == before, "a read wrote something"


@settings(max_examples=150)
@given(target=st.sampled_from(["mine", "unknown", "huge"]),
       method=st.sampled_from(["patch", "delete", "like", "unlike"]),
       token=st.sampled_from(["valid", "garbage", "", None]),
       payload=json_values | st.fixed_dictionaries({"body": either(bodies)}))
def test_changes_never_500(client, site, app, target, method, token, payload):
    seed = {"site": site, "url": PAGE, "body": "seed", "author": GUEST}
    created = client.post("/api/v1/comments", json=seed).get_json()
    comment_id = {"mine": created["comment"]["id"], "unknown": 7_777_777, "huge": 2**40}[target]
    headers = {}
    if token is not None:
        headers["X-Edit-Token"] = created["edit_token"] if token == "valid" else token
        headers["X-Reader-Token"] = created["reader_token"] if token == "valid" else token
    path = f"/api/v1/comments/{comment_id}"
    before = row_counts(app)
    if method == "patch":
        response = client.patch(path, json=payload, headers=headers)
    elif method == "delete":
        response = client.delete(path, headers=headers)
    elif method == "like":
        response = client.post(path + "/like", headers=headers)
    else:
        response = client.delete(path + "/like", headers=headers)
    _assert_clean_outcome(app, before, response)


@settings(max_examples=120)
@given(payload=json_values | st.fixed_dictionaries({}, optional={"secret": either(st.text(max_size=140)),
                                                                 "code": either(st.text(max_size=140))}),
       # Anything a client can put in a header line (no CR or LF): Latin-1 text.
       authorization=st.none() | st.sampled_from(["Bearer ", "Bearer x", "Basic abc", "bearer"])
       | st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=80))
def test_login_endpoints_never_500(client, app, payload, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    before = row_counts(app)
    for response in (client.post("/api/v1/auth/exchange", json=payload, headers=headers),
                     client.get("/api/v1/me", headers=headers),
                     client.post("/api/v1/auth/logout", headers=headers)):
        _assert_clean_outcome(app, before, response)
    assert row_counts(app) == before
