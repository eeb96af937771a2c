"""Driving the dashboard over HTTP as a browser would: log in, read the CSRF token, submit forms, see the result."""
import re

from conftest import GUEST, ORIGIN, PAGE

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OTHER_ORIGIN = "https://other.example.net"
OTHER_PAGE = "https://other.example.net/articles/1"
NEXT_TARGETS = ["https://%5B::1", "https://[::1", "http://[", "//[::1", "/dashboard%00/x"]


def create_admin(runner, email="admin@example.com", password=PASSWORD, name=None):
    args = ["user", "create-admin", email, "--password-stdin"] + (["--name", name] if name else [])
    result = runner.invoke(args=args, input=password + "\n")
    assert result.exit_code == 0, result.output
    return email


def csrf_token(client, path="/dashboard/login"):
    """The session's CSRF token, as the forms of a dashboard page carry it."""
    page = client.get(path)
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, (page.status_code, page.get_data(as_text=True)[:500])
    return match.group(1)


def log_in(client, email="admin@example.com", password=PASSWORD):
    token = csrf_token(client)
    return client.post("/dashboard/login", data={"email": email, "password": password, "csrf_token": token})


def logged_in(app, email="admin@example.com", password=PASSWORD):
    client = app.test_client()
    response = log_in(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client


def submit(client, path, data=None, token=None, **kwargs):
    """POST a dashboard form with the session's CSRF token (read from the account page when not given)."""
    token = token or csrf_token(client, "/dashboard/account")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def invitation_link(client, site_id, role="moderator", note=None):
    response = submit(client, f"/dashboard/sites/{site_id}/members", {"role": role, "note": note or ""})
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    match = re.search(r'id="invite-link" value="[^"]*(/dashboard/invitations/[^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def accept_invitation(app, link, email, password=PASSWORD, name="Mo Derator"):
    """A new browser accepts the invitation with a new password account; returns that logged-in client."""
    client = app.test_client()
    token = csrf_token(client, link)
    response = client.post(link, data={"csrf_token": token, "email": email, "name": name, "password": password,
                                       "confirm": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client


def comment_on(client, body="Hello", url=PAGE, site="blog", origin=ORIGIN, author=GUEST, headers=None, **fields):
    response = client.post("/api/v1/comments", json={"site": site, "url": url, "body": body, "author": author} | fields,
                           headers={"Origin": origin} | (headers or {}))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["comment"]


def thread_html(client, url=PAGE, site="blog", **params):
    page = client.get("/api/v1/threads", query_string={"site": site, "url": url} | params).get_json()
    return [c["html"] for c in page["comments"]]


def audit_rows(app):
    from widget.extensions import db
    from widget.models import AuditEntry

    with app.app_context():
        return [(e.action, e.actor_name, e.target_id, e.before, e.after)
                for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]
