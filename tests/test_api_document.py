"""Real answers of every API operation, in the states readers meet, validated against the OpenAPI document."""
import copy

import pytest
from conftest import GUEST, ORIGIN, PAGE
from jsonschema import Draft202012Validator, FormatChecker
from test_auth import app, bearer, exchange, log_in, new_secret, provider  # noqa: F401  (fixtures: a real login)


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def problems(document, method, template, response):
    """What is wrong with the response by the document's word for this operation and status."""
    described = document["paths"][template][method]["responses"].get(str(response.status_code))
    assert described is not None, f"{method.upper()} {template} answered {response.status_code}, not documented"
    if "$ref" in described:
        described = document["components"]["responses"][described["$ref"].rsplit("/", 1)[-1]]
    content = described.get("content", {}).get("application/json")
    if content is None:
        return [] if not response.get_data() else ["a body where the document says none"]
    validator = Draft202012Validator({"components": document["components"], **content["schema"]},
                                     format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(response.get_json())]


@pytest.fixture
def check(document):
    def check_(method, template, response, status):
        assert response.status_code == status, response.get_data(as_text=True)[:500]
        assert problems(document, method, template, response) == []
        return response.get_json()
    return check_


def test_thread_pages_and_replies_are_as_documented(make_app, check):
    small_pages = make_app(MAX_PAGE_COMMENTS=4)
    client = small_pages.test_client()
    runner = small_pages.test_cli_runner()
    assert runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN]).exit_code == 0
    assert runner.invoke(args=["site", "set", "blog", "max_depth", "2"]).exit_code == 0
    headers = {"Origin": ORIGIN}

    def post(body, parent_id=None, reader=None):
        payload = {"site": "blog", "url": PAGE, "body": body, "author": GUEST, "parent_id": parent_id}
        response = client.post("/api/v1/comments", json=payload,
                               headers=headers | ({"X-Reader-Token": reader} if reader else {}))
        return check("post", "/comments", response, 201)

    first = post("First, with a [link](https://example.org)")
    reader = first["reader_token"]
    parent = first["comment"]["id"]
    for depth in range(5):  # deeper than the site shows: in_reply_to, and more than one page holds
        parent = post(f"Reply {depth}", parent, reader)["comment"]["id"]
    post("Second top-level comment", reader=reader)
    empty = client.get("/api/v1/threads", query_string={"site": "blog", "url": "https://blog.example.com/none"})
    check("get", "/threads", empty, 200)

    page = check("get", "/threads", client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE},
                                               headers={"X-Reader-Token": reader}), 200)
    held = page["comments"][0]
    assert held["body"] and held["can_edit"] and held["more_replies"] > 0 and held["replies_cursor"]
    more = client.get(f"/api/v1/comments/{held['id']}/replies", query_string={"cursor": held["replies_cursor"]})
    replies = check("get", "/comments/{comment_id}/replies", more, 200)
    assert any(reply["in_reply_to"] for reply in replies["comments"])


def test_writes_and_their_errors_are_as_documented(client, site, post, check):
    created = check("post", "/comments", post("To be edited"), 201)
    comment_id, token = created["comment"]["id"], created["edit_token"]
    edited = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "Edited"},
                          headers={"X-Edit-Token": token, "Origin": ORIGIN})
    check("patch", "/comments/{comment_id}", edited, 200)
    liked = client.post(f"/api/v1/comments/{comment_id}/like", headers={"Origin": ORIGIN})
    reader = check("post", "/comments/{comment_id}/like", liked, 200)["reader_token"]
    unliked = client.delete(f"/api/v1/comments/{comment_id}/like", headers={"Origin": ORIGIN, "X-Reader-Token": reader})
    check("delete", "/comments/{comment_id}/like", unliked, 200)
    counts = client.get("/api/v1/counts", query_string={"site": "blog", "url": [PAGE, PAGE + "?other"]})
    check("get", "/counts", counts, 200)

    check("post", "/comments", post("x", author={"name": "A", "email": "nope"}), 400)
    check("post", "/comments", post("x", site="nowhere"), 404)
    check("post", "/comments", post("x", headers={"Origin": "https://evil.example"}), 403)
    check("post", "/comments", client.post("/api/v1/comments", data="site=blog"), 415)
    check("patch", "/comments/{comment_id}",
          client.patch(f"/api/v1/comments/{comment_id}", json={"body": "x"}, headers={"Origin": ORIGIN}), 403)
    check("get", "/threads", client.get("/api/v1/threads", query_string={"site": "blog", "limit": "0"}), 400)
    check("delete", "/comments/{comment_id}",
          client.delete(f"/api/v1/comments/{comment_id}", headers={"X-Edit-Token": token, "Origin": ORIGIN}), 204)


def test_login_answers_are_as_documented(client, site, check):
    check("get", "/me", client.get("/api/v1/me"), 200)
    check("get", "/me", client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}), 401)
    check("post", "/auth/exchange", exchange(client, new_secret()), 202)
    check("post", "/auth/exchange", exchange(client, "short"), 400)
    secret, code = log_in(client)
    token = check("post", "/auth/exchange", exchange(client, secret, code), 200)["token"]
    me = check("get", "/me", client.get("/api/v1/me", headers=bearer(token)), 200)
    assert me["user"]["name"] == "Grace Hopper"
    mine = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "Logged in"},
                       headers=bearer(token))
    assert check("post", "/comments", mine, 201)["comment"]["author"]["provider"] == "testid"
    check("post", "/auth/logout", client.post("/api/v1/auth/logout", headers=bearer(token)), 204)


def test_the_check_refuses_a_leaked_field(document, client, site, post):
    """The response shapes allow-list their fields: a comment that carried its author's email would fail."""
    response = post("Hello")
    comment = copy.deepcopy(response.get_json())
    comment["comment"]["author"]["email"] = GUEST["email"]
    validator = Draft202012Validator({"components": document["components"],
                                      "$ref": "#/components/schemas/PostedComment"})
    assert [error.message for error in validator.iter_errors(comment)] == [
        "Additional properties are not allowed ('email' was unexpected)"]


def test_readers_own_data_answers_are_as_documented(client, site, check):
    check("get", "/me/data", client.get("/api/v1/me/data"), 401)
    check("delete", "/me", client.delete("/api/v1/me"), 401)
    secret, code = log_in(client)
    token = check("post", "/auth/exchange", exchange(client, secret, code), 200)["token"]
    own = {"Authorization": f"Bearer {token}", "Origin": "http://comments.test"}
    mine = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "Mine", "notify": "all"},
                       headers=bearer(token)).get_json()["comment"]
    client.post(f"/api/v1/comments/{mine['id']}/like", headers=bearer(token))
    data = check("get", "/me/data", client.get("/api/v1/me/data", headers=own), 200)
    assert data["account"]["display_name"] == "Grace Hopper" and len(data["comments"]) == 1
    assert len(data["likes_given"]) == 1 and len(data["subscriptions"]) == 2
    check("delete", "/me", client.delete("/api/v1/me", headers=bearer(token)), 403)
    check("delete", "/me", client.delete("/api/v1/me", json={"mode": "all"}, headers=own), 400)
    check("delete", "/me", client.delete("/api/v1/me", data="mode=erase", headers=own), 415)
    erased = check("delete", "/me", client.delete("/api/v1/me", json={"mode": "anonymise"}, headers=own), 200)
    assert erased["anonymised"] == 1 and erased["account"] == 1
    check("get", "/me/data", client.get("/api/v1/me/data", headers=own), 401)
