"""Every dashboard page at once: strict headers, and odd or hostile input answered with a 4xx, never a 500."""
import pytest
from dashboard_helpers import submit


def test_dashboard_pages_send_strict_headers(admin):
    for path in ("/dashboard/login", "/dashboard/sites", "/dashboard/sites/blog/queue"):
        response = admin.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    page = admin.get("/dashboard/sites/blog/queue").get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "onclick" not in page



# No 500s -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/dashboard/sites/blog/comments?status=%00", "/dashboard/sites/blog/comments?page=" + "x" * 500,
    "/dashboard/sites/blog/comments?thread=99999999999999", "/dashboard/sites/" + "x" * 300,
    "/dashboard/sites/blog/people/99999999", "/dashboard/sites/blog/comments/99999999/edit",
    "/dashboard/sites/blog/queue?p=abc", "/dashboard/sites/blog/people?q=%25%5F", "/dashboard/invitations/%00",
    "/dashboard/login?next=%00", "/dashboard/login/with/nope", "/dashboard/sites/blog/people/99999999999",
    "/dashboard/sites/blog/audit?before=99999999999", "/dashboard/sites/blog/comments/99999999999/edit",
])
def test_odd_input_never_answers_500(admin, path):
    response = admin.get(path)
    assert response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize("path", [
    "/dashboard/sites/blog/bans/99999999999/lift", "/dashboard/sites/blog/threads/99999999999/lock",
    "/dashboard/sites/blog/members/99999999999/remove", "/dashboard/sites/blog/invitations/99999999999/revoke",
    "/dashboard/sites/blog/comments/99999999999/moderate",
])
def test_ids_that_cannot_exist_are_404_not_500(admin, path):
    assert submit(admin, path, {"action": "approve", "locked": "yes"}).status_code == 404



# Hostile input to the dashboard's filters --------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/dashboard/sites/blog/comments?q=%00", "/dashboard/sites/blog/comments?author=a%00b",
    "/dashboard/sites/blog/comments?page=%00", "/dashboard/sites/blog/comments?status=%00",
    "/dashboard/sites/blog/people?q=%00x", "/dashboard/sites/blog/audit?action=%00",
    "/dashboard/sites/%00", "/dashboard/sites/blog/comments?p=%C2%B2", "/dashboard/sites/blog/audit?before=%D9%A3",
    "/dashboard/sites/blog/comments?thread=%C2%B2",
])
def test_hostile_filters_get_a_page_that_says_why(admin, path):
    response = admin.get(path)
    assert response.status_code in (400, 404), response.get_data(as_text=True)[:300]
    assert "Content-Security-Policy" in response.headers
