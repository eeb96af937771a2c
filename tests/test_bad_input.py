"""Every bad input gets a 4xx JSON error that says what is wrong, and writes nothing."""
import json

import pytest
from conftest import GUEST, ORIGIN, PAGE
from helpers import row_counts

VALID = {"site": "blog", "url": PAGE, "body": "hello", "author": GUEST}


def _with(**changes):
    payload = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            payload.pop(key)
        else:
            payload[key] = value
    return payload


def _author(**changes):
    return _with(author={k: v for k, v in (GUEST | changes).items() if v is not ...})


BAD_COMMENTS = {
    "unknown site": (_with(site="nope"), 404, "unknown_site"),
    "site missing": (_with(site=...), 400, "missing_site"),
    "site not a string": (_with(site=["blog"]), 400, "invalid_site"),
    "no url or thread id": (_with(url=...), 400, "missing_thread"),
    "url not http": (_with(url="javascript:alert(1)"), 400, "invalid_url"),
    "url relative": (_with(url="/posts/hello"), 400, "invalid_url"),
    "url with credentials": (_with(url="https://user:pw@blog.example.com/"), 400, "invalid_url"),
    "url too long": (_with(url="https://blog.example.com/" + "a" * 2100), 400, "url_too_long"),
    "thread id with control characters": (_with(thread_id="a\x00b"), 400, "invalid_thread_id"),
    "thread id too long": (_with(thread_id="x" * 201), 400, "thread_id_too_long"),
    "title too long": (_with(title="t" * 301), 400, "title_too_long"),
    "body missing": (_with(body=...), 400, "missing_body"),
    "body empty": (_with(body=""), 400, "missing_body"),
    "body only spaces": (_with(body="   \n\t "), 400, "empty_body"),
    "body not a string": (_with(body=42), 400, "invalid_body"),
    "body with a NUL byte": (_with(body="hi\x00there"), 400, "invalid_body"),
    "body with a lone surrogate": (_with(body="hi \ud800"), 400, "invalid_body"),
    "body over the site's limit": (_with(body="x" * 10_001), 400, "body_too_long"),
    "too many links": (_with(body=" ".join(f"https://l{i}.example" for i in range(11))), 400, "too_many_links"),
    "author not an object": (_with(author="Ada"), 400, "invalid_author"),
    "author missing": (_with(author=...), 400, "missing_author"),
    "name missing": (_author(name=...), 400, "missing_name"),
    "name blank": (_author(name="  "), 400, "missing_name"),
    "name too long": (_author(name="n" * 101), 400, "name_too_long"),
    "name with a newline": (_author(name="Ada\nAdmin"), 400, "invalid_name"),
    "email missing": (_author(email=...), 400, "missing_email"),
    "email invalid": (_author(email="not-an-email"), 400, "invalid_email"),
    "email with spaces": (_author(email="a b@example.org"), 400, "invalid_email"),
    # Address-header syntax: each would be stored as another address, and mailed to the one inside.
    "email with a display name": (_author(email="a<victim@example.org>"), 400, "invalid_email"),
    "email quoted": (_author(email='"x"<victim@example.org>'), 400, "invalid_email"),
    "email list": (_author(email="c,victim@example.org"), 400, "invalid_email"),
    "email group": (_author(email="g:victim@example.org;"), 400, "invalid_email"),
    "email too long": (_author(email="a" * 250 + "@example.org"), 400, "email_too_long"),
    "website javascript": (_author(website="javascript:alert(1)"), 400, "invalid_website"),
    "website data": (_author(website="data:text/html,<script>alert(1)</script>"), 400, "invalid_website"),
    "website relative": (_author(website="//evil.example"), 400, "invalid_website"),
    "website too long": (_author(website="https://a.example/" + "a" * 500), 400, "website_too_long"),
    "unknown author field": (_author(is_admin=True), 400, "unknown_field"),
    "unknown field": (_with(status="approved"), 400, "unknown_field"),
    "parent not a number": (_with(parent_id="1"), 400, "invalid_parent_id"),
    "parent negative": (_with(parent_id=-1), 400, "invalid_parent_id"),
    "parent boolean": (_with(parent_id=True), 400, "invalid_parent_id"),
    "parent beyond any id": (_with(parent_id=2**63), 400, "invalid_parent_id"),
    "unknown parent": (_with(parent_id=123456), 400, "unknown_parent"),
    "notify not a choice": (_with(notify="everything"), 400, "invalid_notify"),
}


@pytest.mark.parametrize("payload,status,code", BAD_COMMENTS.values(), ids=BAD_COMMENTS.keys())
def test_bad_comment_is_refused_and_nothing_is_written(client, site, app, payload, status, code):
    before = row_counts(app)
    response = client.post("/api/v1/comments", json=payload, headers={"Origin": ORIGIN})
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert row_counts(app) == before


RAW_BODIES = {
    "malformed JSON": ("application/json", b'{"site": "blog",', 400, "malformed_json"),
    "JSON array": ("application/json", b'["site"]', 400, "malformed_json"),
    "JSON string": ("application/json", b'"hello"', 400, "malformed_json"),
    "empty request": ("application/json", b"", 400, "empty_request"),
    "form post": ("application/x-www-form-urlencoded", b"site=blog&body=hi", 415, "unsupported_media_type"),
    "text post": ("text/plain", json.dumps(VALID).encode(), 415, "unsupported_media_type"),
    "no content type": (None, json.dumps(VALID).encode(), 415, "unsupported_media_type"),
    "invalid UTF-8": ("application/json", b'{"body": "\xff\xfe"}', 400, "malformed_json"),
    "deeply nested": ("application/json", b"[" * 20_000 + b"]" * 20_000, 400, "malformed_json"),
    "over the request limit": ("application/json", b'{"body": "' + b"x" * 70_000 + b'"}', 413,
                               "request_entity_too_large"),
}


@pytest.mark.parametrize("content_type,data,status,code", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_bad_request_body_is_refused(client, site, app, content_type, data, status, code):
    before = row_counts(app)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/v1/comments", data=data, headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert row_counts(app) == before


def test_site_body_limit_is_the_sites_own(post, set_site):
    set_site("max_body_length", 20)
    response = post(body="x" * 21)
    assert response.status_code == 400
    assert "20" in response.get_json()["error"]["message"]
    assert post(body="x" * 20).status_code == 201


BAD_EDITS = {
    "empty body": ({"body": ""}, 400, "missing_body"),
    "body not a string": ({"body": None}, 400, "missing_body"),
    "unknown field": ({"body": "ok", "status": "approved"}, 400, "unknown_field"),
    "too many links": ({"body": " ".join(f"https://l{i}.example" for i in range(11))}, 400, "too_many_links"),
}


@pytest.mark.parametrize("payload,status,code", BAD_EDITS.values(), ids=BAD_EDITS.keys())
def test_bad_edit_is_refused_and_keeps_the_comment(post, client, read, payload, status, code):
    created = post(body="original").get_json()
    response = client.patch(f"/api/v1/comments/{created['comment']['id']}", json=payload,
                            headers={"X-Edit-Token": created["edit_token"]})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert read().get_json()["comments"][0]["html"] == "<p>original</p>"


BAD_READS = {
    "no site": ({"url": PAGE}, 400, "missing_site"),
    "unknown site": ({"site": "nope", "url": PAGE}, 404, "unknown_site"),
    "no page": ({"site": "blog"}, 400, "missing_thread"),
    "page not http": ({"site": "blog", "url": "ftp://blog.example.com/x"}, 400, "invalid_url"),
    "bad sort": ({"site": "blog", "url": PAGE, "sort": "random"}, 400, "invalid_sort"),
    "limit zero": ({"site": "blog", "url": PAGE, "limit": "0"}, 400, "invalid_limit"),
    "limit huge": ({"site": "blog", "url": PAGE, "limit": "100000"}, 400, "invalid_limit"),
    "limit words": ({"site": "blog", "url": PAGE, "limit": "ten"}, 400, "invalid_limit"),
    "forged cursor": ({"site": "blog", "url": PAGE, "cursor": "bm9wZQ"}, 400, "invalid_cursor"),
    "cursor not base64": ({"site": "blog", "url": PAGE, "cursor": "!!!"}, 400, "invalid_cursor"),
    "url twice": ([("site", "blog"), ("url", PAGE), ("url", PAGE)], 400, "invalid_url"),
}


@pytest.mark.parametrize("params,status,code", BAD_READS.values(), ids=BAD_READS.keys())
def test_bad_thread_read_is_refused(client, site, params, status, code):
    response = client.get("/api/v1/threads", query_string=params)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/nowhere"), ("get", "/api/v1/comments/abc"), ("put", "/api/v1/comments"),
    ("get", "/api/v1/comments"), ("post", "/api/v1/threads"), ("get", "/api/v1/avatars/xyz.svg"),
])
def test_unknown_routes_and_methods_answer_json(client, method, path):
    response = getattr(client, method)(path)
    assert 400 <= response.status_code < 500
    assert response.is_json and response.get_json()["error"]["code"]


# Hostile input that once reached the database or the URL parser and answered 500 -------------------

def _cursor(*parts):
    import base64

    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


HUGE = 2**63 + 5  # past int64: PostgreSQL refuses to compare an integer column with it


@pytest.mark.parametrize("cursor", [
    _cursor("oldest", "2026-01-01T00:00:00", HUGE), _cursor("newest", "2026-01-01T00:00:00", HUGE),
    _cursor("top", 3, HUGE), _cursor("top", HUGE, 1), _cursor("top", -HUGE, 1),
    _cursor("oldest", "2026-01-01T00:00:00", 0), _cursor("oldest", "2026-01-01T00:00:00+05:00", 1),
], ids=["oldest id", "newest id", "top id", "top likes", "top negative likes", "id zero", "time zone"])
def test_cursor_numbers_beyond_the_database_are_refused(client, site, post, cursor):
    post("one")
    sort = json.loads(__import__("base64").urlsafe_b64decode(cursor + "==="))[0]
    response = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE, "sort": sort,
                                                           "cursor": cursor})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("param", ["site", "url", "thread_id", "title", "lang", "origin", "theme", "accent"])
def test_nul_in_the_embed_page_address_is_refused_in_words(client, site, param):
    params = {"site": "blog", "url": PAGE, "origin": ORIGIN} | {param: "x\x00y"}
    response = client.get("/embed/thread", query_string=params)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]


def test_nul_in_api_query_and_path_is_refused_as_json(client, site):
    for response in (client.get("/api/v1/threads", query_string={"site": "blog\x00", "url": PAGE}),
                     client.get("/api/v1/counts", query_string={"site": "blog", "url": PAGE + "\x00"}),
                     client.get("/api/v1/avatars/%00.svg")):
        assert response.status_code in (400, 404)
        assert response.is_json and response.get_json()["error"]["code"]
