"""Only a site's allowed origins get CORS headers, and only they (or the widget's own frame) may write."""
from conftest import ORIGIN, PAGE
from helpers import row_counts


def test_allowed_origin_gets_cors_headers_on_reads(read):
    response = read(headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]


def test_other_origin_gets_no_cors_headers(read):
    response = read(headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_origin_allowed_for_another_site_gets_no_cors_headers_for_this_one(read, runner):
    runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", "https://other.example"])
    response = read(headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_for_an_allowed_origin(client, site):
    response = client.options("/api/v1/comments", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_for_an_unknown_origin_is_not_granted(client, site):
    response = client.options("/api/v1/comments", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_write_from_a_foreign_origin_is_refused_and_stores_nothing(post, app):
    before = row_counts(app)
    for origin in ("https://evil.example", "null", "https://blog.example.com.evil.example",
                   "http://blog.example.com", "https://blog.example.com:8443"):
        response = post(headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert response.get_json()["error"]["code"] == "origin_not_allowed"
    assert row_counts(app) == before


def test_the_widgets_own_frame_may_write(post):
    # The iframe is served by the comment server, so its requests carry the server's own origin.
    assert post(headers={"Origin": "http://comments.test"}).status_code == 201


def test_edit_from_a_foreign_origin_is_refused_even_with_the_token(post, client):
    created = post().get_json()
    response = client.patch(f"/api/v1/comments/{created['comment']['id']}", json={"body": "x"},
                            headers={"X-Edit-Token": created["edit_token"], "Origin": "https://evil.example"})
    assert response.status_code == 403


def test_page_url_is_not_a_substitute_for_origin(post):
    response = post(url=PAGE, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
