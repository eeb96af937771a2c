"""Set-up errors: the loader's question "why can't the comments show here?", and the dashboard's refused origins."""
import re

import pytest
from conftest import ORIGIN
from dashboard_helpers import audit_rows, submit

CHECK = "/api/v1/embed-check"
WWW = "https://www.blog.example.com"


def check(client, site="blog", origin=WWW):
    headers = {"Origin": origin} if origin else {}
    return client.get(CHECK, query_string={"site": site}, headers=headers)


def refused_rows(app):
    from widget.extensions import db
    from widget.models import RefusedOrigin

    with app.app_context():
        return [(r.origin, r.times) for r in db.session.scalars(db.select(RefusedOrigin).order_by(RefusedOrigin.id))]


def test_a_page_on_an_origin_the_site_does_not_list_is_told_which_and_how_to_fix_it(client, site, app):
    response = check(client, origin=WWW)
    assert response.status_code == 200
    # Readable by the refused page itself, which is the one that has to say it.
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "no-store" in response.headers["Cache-Control"]
    problem = response.get_json()["problem"]
    assert problem["code"] == "origin_not_allowed"
    assert problem["message"] == f"Comments can't load here: {WWW} is not an allowed origin of site blog."
    assert f"add {WWW} to the site's allowed origins" in problem["fix"]
    assert "/dashboard/sites/blog" in problem["fix"]
    assert refused_rows(app) == [(WWW, 1)]


@pytest.mark.parametrize("origin", [ORIGIN, "https://BLOG.example.com:443", None])
def test_an_allowed_origin_and_the_servers_own_pages_have_no_problem(client, site, app, origin):
    response = check(client, origin=origin)
    assert response.status_code == 200
    assert response.get_json() == {"problem": None}
    assert refused_rows(app) == []


def test_an_unknown_site_is_said_without_naming_any_other(client, site, app):
    problem = check(client, site="blgo").get_json()["problem"]
    assert problem["code"] == "unknown_site"
    assert problem["message"] == "Comments can't load here: http://comments.test has no site blgo."
    assert "data-parley-site" in problem["fix"]
    assert "blog" not in problem["message"] + problem["fix"].replace("blgo", "")
    assert refused_rows(app) == []


def test_a_page_without_an_origin_is_told_to_be_served_over_http(client, site, app):
    problem = check(client, origin="null").get_json()["problem"]
    assert problem["code"] == "no_origin"
    assert refused_rows(app) == []


@pytest.mark.parametrize("query", [{}, {"site": ""}, {"site": "x" * 41}, {"site": ["a", "b"]}])
def test_a_bad_site_parameter_is_a_4xx_json_error_the_loader_can_read(client, site, query):
    response = client.get(CHECK, query_string=query, headers={"Origin": WWW})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_refused_origins_are_counted_and_only_the_last_twenty_kept(client, site, app):
    for _ in range(3):
        check(client, origin="http://blog.example.com")
    for n in range(25):
        check(client, origin=f"https://site{n}.example.net")
    rows = dict(refused_rows(app))
    assert len(rows) == 20
    # The oldest went first; the repeated one was seen before the 25 others, so it went too.
    assert "http://blog.example.com" not in rows
    assert set(rows) == {f"https://site{n}.example.net" for n in range(5, 25)}
    check(client, origin="https://site7.example.net")
    assert dict(refused_rows(app))["https://site7.example.net"] == 2


def test_one_address_notes_only_a_few_refused_origins_but_is_always_told(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_REFUSED_ORIGINS="3 per minute")
    app.test_cli_runner().invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
    client = app.test_client()
    for n in range(6):
        response = check(client, origin=f"https://flood{n}.example.net")
        assert response.get_json()["problem"]["code"] == "origin_not_allowed"
    assert [origin for origin, _ in refused_rows(app)] == [f"https://flood{n}.example.net" for n in range(3)]


def test_the_dashboard_lists_refused_origins_and_allows_one_with_a_click(client, site, app, admin):
    check(client, origin=WWW)
    check(client, origin=WWW)
    check(client, origin="http://blog.example.com")
    page = admin.get("/dashboard/sites/blog").get_data(as_text=True)
    assert "Refused origins" in page
    row = re.search(r'<td data-label="Origin" class="mono">https://www.blog.example.com</td>\s*'
                    r'<td data-label="Times">(\d+)</td>', page)
    assert row and row.group(1) == "2"

    response = submit(admin, "/dashboard/sites/blog/refused-origins/allow", {"origin": WWW})
    assert response.status_code == 302
    assert check(client, origin=WWW).get_json() == {"problem": None}
    # The widget's own page now lets that origin frame it.
    frame = client.get("/embed/thread", query_string={"site": "blog", "url": f"{WWW}/post", "origin": WWW})
    assert frame.status_code == 200 and WWW in frame.headers["Content-Security-Policy"]
    assert [origin for origin, _ in refused_rows(app)] == ["http://blog.example.com"]
    action, actor, _, before, after = audit_rows(app)[-1]
    assert (action, actor) == ("site.settings", "admin")
    assert before == {"origins": ORIGIN} and after == {"origins": f"{ORIGIN}, {WWW}"}


def test_only_a_refused_origin_can_be_allowed_that_way_and_only_with_the_csrf_token(client, site, app, admin):
    response = submit(admin, "/dashboard/sites/blog/refused-origins/allow", {"origin": "https://evil.example"})
    assert response.status_code == 404
    check(client, origin=WWW)
    response = admin.post("/dashboard/sites/blog/refused-origins/allow", data={"origin": WWW})
    assert response.status_code == 400
    assert check(client, origin=WWW).get_json()["problem"]["code"] == "origin_not_allowed"


def test_a_malformed_site_id_is_not_said_back(client, site):
    problem = check(client, site="<b>Blog</b>").get_json()["problem"]
    assert problem["message"] == "Comments can't load here: http://comments.test has no site with that id."
