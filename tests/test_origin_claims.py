"""One tenant cannot take another's origin: an origin that another site already has waits for proof (a line
served on the origin itself, fetched from a real server on loopback) or an administrator's grant, however it
is added: the dashboard's new-site form and settings, a refused origin's Allow button, `site add` and `site
set`. Until then it opens nothing: no CORS, no frame, no writes, no Webmentions."""
import re

import pytest
from dashboard_helpers import accept_invitation, create_admin, invitation_link, logged_in, submit
from helpers import serve_in_background
from werkzeug.serving import make_server

# Where an owner serves the line that proves an origin is theirs, as the dashboard and the command line say.
VERIFICATION_PATH = "/.well-known/parley-site-verification.txt"


class OriginServer:
    """Tenant A's web server on loopback: the origin its pages (and, once asked, a verification file) are on."""

    def __init__(self):
        self.files = {}
        self._server = make_server("127.0.0.1", 0, self)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        serve_in_background(self._server)

    def __call__(self, environ, start_response):
        body = self.files.get(environ["PATH_INFO"])
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return [body.encode()]

    def stop(self):
        self._server.shutdown()


@pytest.fixture
def victim():
    server = OriginServer()
    yield server
    server.stop()


@pytest.fixture
def tenants(make_app, victim):
    """Site `a` (tenant A's, on the victim origin) and tenant B, the owner of another site, logged in."""
    app = make_app(ALLOW_PRIVATE_TARGETS=True)
    runner = app.test_cli_runner()
    create_admin(runner)
    for args in (["site", "add", "a", "--name", "A's blog", "--origin", victim.origin],
                 ["site", "add", "bhome", "--name", "B's blog", "--origin", "https://b.example"]):
        assert runner.invoke(args=args).exit_code == 0
    admin = logged_in(app)
    accept_invitation(app, invitation_link(admin, "bhome", role="owner"), "b@example.com", name="Tenant B")
    return app, admin, logged_in(app, "b@example.com")


def _page(origin):
    return f"{origin}/posts/hello"


def _what_the_origin_opens(app, site, origin):
    """(post status, embed status, Webmention status) for pages on `origin` acting for `site`."""
    client = app.test_client()
    posted = client.post("/api/v1/comments", headers={"Origin": origin}, json={
        "site": site, "url": _page(origin), "body": "Hello from this page",
        "author": {"name": "Ada", "email": "ada@example.org"}})
    framed = client.get("/embed/thread", query_string={"site": site, "url": _page(origin), "origin": origin})
    mentioned = client.post(f"/webmention/{site}", data={"source": "https://elsewhere.example/post",
                                                          "target": _page(origin)})
    return posted.status_code, framed.status_code, mentioned.status_code


def _add_site_in_dashboard(client, origin, site_id="b"):
    return submit(client, "/dashboard/sites/new", {"public_id": site_id, "name": "B's copy", "origins": origin})


def test_a_tenant_who_adds_another_tenants_origin_in_the_dashboard_gets_nothing_for_it(tenants, victim):
    app, _, tenant_b = tenants
    added = _add_site_in_dashboard(tenant_b, victim.origin)
    assert added.status_code == 302
    assert _what_the_origin_opens(app, "b", victim.origin) == (403, 403, 400)
    page = tenant_b.get("/dashboard/sites/b").get_data(as_text=True)
    assert "Origins waiting for proof" in page and victim.origin in page
    assert "A&#39;s blog" not in page and "(also site a)" not in page  # B learns nothing of A's site
    # Checking without the file in place changes nothing.
    checked = submit(tenant_b, "/dashboard/sites/b/origins/verify", follow_redirects=True)
    assert f"{victim.origin} still waits" in checked.get_data(as_text=True)
    assert "answered 404" in checked.get_data(as_text=True)
    # Nor does a file that holds another line (tenant A's own, say).
    victim.files[VERIFICATION_PATH] = "parley-site-verification=not-b-s-line\n"
    submit(tenant_b, "/dashboard/sites/b/origins/verify")
    assert _what_the_origin_opens(app, "b", victim.origin) == (403, 403, 400)
    # B cannot grant it either: that is an administrator's.
    refused = submit(tenant_b, "/dashboard/sites/b/origins/grant", {"origin": victim.origin})
    assert refused.status_code == 403
    assert _what_the_origin_opens(app, "b", victim.origin) == (403, 403, 400)
    # Site a keeps its origin.
    assert _what_the_origin_opens(app, "a", victim.origin) == (201, 200, 202)


def test_an_origin_proven_with_the_line_served_on_it_is_granted(tenants, victim):
    app, _, owner = tenants
    _add_site_in_dashboard(owner, victim.origin)
    assert _what_the_origin_opens(app, "b", victim.origin) == (403, 403, 400)
    page = owner.get("/dashboard/sites/b").get_data(as_text=True)
    line = re.search(r'<code id="verification-line">([^<]+)</code>', page).group(1)
    victim.files[VERIFICATION_PATH] = f"# other sites' lines may come first\n{line}\n"
    checked = submit(owner, "/dashboard/sites/b/origins/verify", follow_redirects=True)
    assert f"{victim.origin} is proven to be yours" in checked.get_data(as_text=True)
    assert _what_the_origin_opens(app, "b", victim.origin) == (201, 200, 202)
    assert "Origins waiting for proof" not in owner.get("/dashboard/sites/b").get_data(as_text=True)


def test_an_administrator_grants_a_waiting_origin_without_proof(tenants, victim):
    app, admin, tenant_b = tenants
    _add_site_in_dashboard(tenant_b, victim.origin)
    assert _what_the_origin_opens(app, "b", victim.origin) == (403, 403, 400)
    page = admin.get("/dashboard/sites/b").get_data(as_text=True)
    assert "(also site a)" in page
    granted = submit(admin, "/dashboard/sites/b/origins/grant", {"origin": victim.origin})
    assert granted.status_code == 302
    assert _what_the_origin_opens(app, "b", victim.origin) == (201, 200, 202)


def test_another_tenants_origin_added_in_the_settings_waits_too(tenants, victim):
    app, _, tenant_b = tenants
    saved = submit(tenant_b, "/dashboard/sites/bhome/settings", {
        "name": "B's blog", "origins": f"https://b.example\n{victim.origin}", "moderation": "none",
        "edit_window": "15", "max_depth": "5", "max_body_length": "10000", "max_links": "10",
        "moderator_alerts": "each", "ban_action": "refuse", "guests_allowed": "on"}, follow_redirects=True)
    assert _what_the_origin_opens(app, "bhome", victim.origin) == (403, 403, 400)
    assert saved.status_code == 200 and "already used by another site" in saved.get_data(as_text=True)
    assert _what_the_origin_opens(app, "bhome", "https://b.example")[0] == 201
    # The form shows it, so saving the settings again keeps it waiting rather than dropping it.
    form = tenant_b.get("/dashboard/sites/bhome/settings").get_data(as_text=True)
    assert victim.origin in form


def test_another_tenants_origin_allowed_from_the_refused_origins_waits_too(tenants, victim):
    app, _, tenant_b = tenants
    # A page on the victim origin embeds site bhome, is refused, and the dashboard offers to allow it.
    asked = app.test_client().get("/api/v1/embed-check", query_string={"site": "bhome"},
                                  headers={"Origin": victim.origin})
    assert asked.get_json()["problem"]["code"] == "origin_not_allowed"
    allowed = submit(tenant_b, "/dashboard/sites/bhome/refused-origins/allow", {"origin": victim.origin},
                     follow_redirects=True)
    assert _what_the_origin_opens(app, "bhome", victim.origin) == (403, 403, 400)
    assert "already used by another site" in allowed.get_data(as_text=True)
    # The loader's question is now answered with what to do.
    asked = app.test_client().get("/api/v1/embed-check", query_string={"site": "bhome"},
                                  headers={"Origin": victim.origin})
    assert asked.get_json()["problem"]["code"] == "origin_unproven"


def test_an_origin_another_site_has_waits_on_the_command_line_until_proven_or_granted(tenants, victim):
    app, _, _ = tenants
    runner = app.test_cli_runner()
    added = runner.invoke(args=["site", "add", "c", "--name", "C", "--origin", victim.origin])
    assert added.exit_code == 0, added.output
    assert _what_the_origin_opens(app, "c", victim.origin) == (403, 403, 400)
    assert f"{victim.origin} is already an origin of a" in added.output
    line = re.search(r"^  (parley-site-verification=\S+)$", added.output, re.M).group(1)
    unproven = runner.invoke(args=["site", "verify", "c"])
    assert unproven.exit_code == 1 and "still waits" in unproven.output
    victim.files[VERIFICATION_PATH] = line + "\n"
    proven = runner.invoke(args=["site", "verify", "c"])
    assert proven.exit_code == 0 and "proven, now allowed" in proven.output
    assert _what_the_origin_opens(app, "c", victim.origin) == (201, 200, 202)
    # `site set ... origins` holds it back the same way; the operator may grant it as the administrator.
    assert runner.invoke(args=["site", "add", "d", "--name", "D", "--origin", "https://d.example"]).exit_code == 0
    changed = runner.invoke(args=["site", "set", "d", "origins", f"https://d.example {victim.origin}"])
    assert changed.exit_code == 0 and "is already an origin of a, c" in changed.output
    assert _what_the_origin_opens(app, "d", victim.origin) == (403, 403, 400)
    granted = runner.invoke(args=["site", "grant", "d", victim.origin])
    assert granted.exit_code == 0, granted.output
    assert _what_the_origin_opens(app, "d", victim.origin) == (201, 200, 202)
