"""One tenant cannot take another's origin: an origin on a host that another site already has (in any scheme,
port or spelling) waits for proof (a line served on the origin itself, fetched from a real server on loopback)
or an administrator's grant, however it is added: the dashboard's new-site form and settings, a refused
origin's Allow button, `site add` and `site set`. Until then it opens nothing: no CORS, no frame, no writes,
no Webmentions. A proof takes the origin back from a site that only registered it first."""
import re
import socket
import threading
import time

import pytest
from conftest import ORIGIN
from dashboard_helpers import accept_invitation, create_admin, csrf_token, invitation_link, logged_in, submit
from helpers import serve_in_background
from werkzeug.serving import make_server

from widget import worker

# Where an owner serves the line that proves an origin is theirs, as the dashboard and the command line say.
VERIFICATION_PATH = "/.well-known/parley-site-verification.txt"


class OriginServer:
    """Tenant A's web server on loopback: the origin its pages (and, once asked, a verification file) are on."""

    def __init__(self, host="127.0.0.1"):
        self.files = {}
        # On the address the server itself will reach for the host (localhost may be ::1 first).
        address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][4][0]
        self._server = make_server(address, 0, self)
        self.origin = f"http://{host}:{self._server.server_port}"
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


class SilentOrigin:
    """An origin whose server takes connections and never answers them; `asked` is set at the first."""

    def __init__(self, asked):
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=50)
        self.origin = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.asked = asked
        self._held = []
        threading.Thread(target=self._take, daemon=True).start()

    def _take(self):
        while True:
            try:
                self._held.append(self._listener.accept()[0])
            except OSError:
                return
            self.asked.set()

    def stop(self):
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        for connection in self._held:
            connection.close()


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


def _check_now(app, client, site_id="b"):
    """Press "Check now" on the site's page, let the outbox's sender do the check, and reload the page."""
    pressed = submit(client, f"/dashboard/sites/{site_id}/origins/verify")
    assert pressed.status_code == 302
    worker.run_pending(app, lane="fetch")
    return client.get(f"/dashboard/sites/{site_id}").get_data(as_text=True)


def test_a_tenant_who_adds_another_tenants_origin_in_the_dashboard_gets_nothing_for_it(tenants, victim):
    app, _, tenant_b = tenants
    added = _add_site_in_dashboard(tenant_b, victim.origin)
    assert added.status_code == 302
    assert _what_the_origin_opens(app, "b", victim.origin) == (403, 403, 400)
    page = tenant_b.get("/dashboard/sites/b").get_data(as_text=True)
    assert "Origins waiting for proof" in page and victim.origin in page
    assert "A&#39;s blog" not in page and "(also site a)" not in page  # B learns nothing of A's site
    # Checking without the file in place changes nothing.
    checked = _check_now(app, tenant_b)
    assert f"{victim.origin} still waits" in checked and "answered 404" in checked
    # Nor does a file that holds another line (tenant A's own, say).
    victim.files[VERIFICATION_PATH] = "parley-site-verification=not-b-s-line\n"
    assert "does not hold this site&#39;s line" in _check_now(app, tenant_b)
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
    pressed = submit(owner, "/dashboard/sites/b/origins/verify", follow_redirects=True)
    assert "Checking the origins that wait for proof" in pressed.get_data(as_text=True)
    assert "Checking the origins that wait for proof…" in owner.get("/dashboard/sites/b").get_data(as_text=True)
    worker.run_pending(app, lane="fetch")
    checked = owner.get("/dashboard/sites/b").get_data(as_text=True)
    assert f"{victim.origin} is proven, and allowed now" in checked
    assert _what_the_origin_opens(app, "b", victim.origin) == (201, 200, 202)
    assert "Origins waiting for proof" not in checked


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
    assert saved.status_code == 200 and "another site on this server already uses" in saved.get_data(as_text=True)
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
    assert "another site on this server already uses" in allowed.get_data(as_text=True)
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
    assert f"{victim.origin} is on a host already used by a" in added.output
    line = re.search(r"^  (parley-site-verification=\S+)$", added.output, re.M).group(1)
    unproven = runner.invoke(args=["site", "verify", "c"])
    assert unproven.exit_code == 1 and "still waits" in unproven.output
    victim.files[VERIFICATION_PATH] = line + "\n"
    proven = runner.invoke(args=["site", "verify", "c"])
    assert proven.exit_code == 0 and "proven, now allowed" in proven.output
    assert _what_the_origin_opens(app, "c", victim.origin) == (201, 200, 202)
    # Site a had only listed it first, without proof: it waits now, as the operator's listing shows.
    assert _what_the_origin_opens(app, "a", victim.origin) == (403, 403, 400)
    listed = runner.invoke(args=["site", "list"]).output
    assert re.search(rf"^a\n(  .*\n)*  waiting origins +{re.escape(victim.origin)} ", listed, re.M), listed
    # `site set ... origins` holds it back the same way; the operator may grant it as the administrator.
    assert runner.invoke(args=["site", "add", "d", "--name", "D", "--origin", "https://d.example"]).exit_code == 0
    changed = runner.invoke(args=["site", "set", "d", "origins", f"https://d.example {victim.origin}"])
    assert changed.exit_code == 0 and "is on a host already used by c:" in changed.output
    assert _what_the_origin_opens(app, "d", victim.origin) == (403, 403, 400)
    granted = runner.invoke(args=["site", "grant", "d", victim.origin])
    assert granted.exit_code == 0, granted.output
    assert _what_the_origin_opens(app, "d", victim.origin) == (201, 200, 202)


def _origin_args(origins):
    return [arg for origin in origins for arg in ("--origin", origin)]


# The deadline of one check, here: short, since the origins below never answer.
DEADLINE = 3.0


@pytest.mark.parametrize("where", ["dashboard", "command line"])
def test_origins_that_never_answer_a_check_hold_back_no_comment(make_app, where):
    """Three waiting origins whose server takes the connection and never answers. The check asks them side by
    side within its one deadline, and holds no transaction while they are silent: a comment posted meanwhile is
    stored at once. (On SQLite the check held the database's write lock through one deadline per origin, and
    the comment failed with 503 after 5 s.)"""
    asked = threading.Event()
    silent = [SilentOrigin(asked) for _ in range(3)]
    origins = [server.origin for server in silent]
    try:
        app = make_app(ALLOW_PRIVATE_TARGETS=True, OUTBOUND_TIMEOUT_SECONDS=DEADLINE)
        runner = app.test_cli_runner()
        create_admin(runner)
        for site_id, site_origins in (("a", origins), ("blog", [ORIGIN]), ("b", origins)):
            added = runner.invoke(args=["site", "add", site_id, "--name", site_id.upper(), *_origin_args(site_origins)])
            assert added.exit_code == 0, added.output
        assert "waiting origins" in runner.invoke(args=["site", "list"]).output
        admin = logged_in(app)
        posted = []

        def post_while_checking():
            asked.wait(10)
            posted.append(app.test_client().post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
                "site": "blog", "url": f"{ORIGIN}/posts/hello", "body": "Posted while origins are checked",
                "author": {"name": "Ada", "email": "ada@example.org"}}))

        poster = threading.Thread(target=post_while_checking)
        poster.start()
        started = time.monotonic()
        if where == "dashboard":
            assert submit(admin, "/dashboard/sites/b/origins/verify").status_code == 302
            worker.run_pending(app, lane="fetch")
        else:
            assert runner.invoke(args=["site", "verify", "b"]).exit_code == 1
        took = time.monotonic() - started
        poster.join(15)
        assert asked.is_set() and posted
        assert posted[0].status_code == 201, posted[0].get_json()
        assert took < 2 * DEADLINE, f"the check took {took:.1f} s"  # one deadline for all three, not one each
        page = admin.get("/dashboard/sites/b").get_data(as_text=True)
        for origin in origins:
            assert f"{origin}/.well-known/parley-site-verification.txt did not answer within 3 s" in page
        assert _what_the_origin_opens(app, "b", origins[0]) == (403, 403, 400)
    finally:
        for server in silent:
            server.stop()


def test_a_tenant_who_registered_an_origin_first_loses_it_to_its_owners_proof(tenants):
    """Tenant B registers an origin nobody had yet, and gets it at once; its real owner comes later and proves it.
    The proof takes it back from B's site, which waits for proof like any other now, while a site an
    administrator shared it with on purpose keeps it."""
    app, admin, squatter = tenants
    owned = OriginServer("localhost")  # a host of its own: site a has 127.0.0.1
    try:
        assert _add_site_in_dashboard(squatter, owned.origin, "squat").status_code == 302
        assert _what_the_origin_opens(app, "squat", owned.origin) == (201, 200, 202)
        runner = app.test_cli_runner()
        for args in (["site", "add", "partner", "--name", "Partner", "--origin", owned.origin],
                     ["site", "grant", "partner", owned.origin],
                     ["site", "add", "chome", "--name", "C's home", "--origin", "https://c.example"]):
            assert runner.invoke(args=args).exit_code == 0
        owner = accept_invitation(app, invitation_link(admin, "chome", role="owner"), "c@example.com",
                                  name="Tenant C")
        assert _add_site_in_dashboard(owner, owned.origin, "c-blog").status_code == 302
        assert _what_the_origin_opens(app, "c-blog", owned.origin) == (403, 403, 400)
        page = owner.get("/dashboard/sites/c-blog").get_data(as_text=True)
        owned.files[VERIFICATION_PATH] = re.search(r'<code id="verification-line">([^<]+)</code>', page).group(1)

        assert f"{owned.origin} is proven, and allowed now" in _check_now(app, owner, "c-blog")
        assert _what_the_origin_opens(app, "c-blog", owned.origin) == (201, 200, 202)
        assert _what_the_origin_opens(app, "squat", owned.origin) == (403, 403, 400)
        assert _what_the_origin_opens(app, "partner", owned.origin) == (201, 200, 202)
        # B's dashboard says the origin waits, and why, naming neither the site nor the person who proved it.
        page = squatter.get("/dashboard/sites/squat").get_data(as_text=True)
        assert "Origins waiting for proof" in page and owned.origin in page
        log = squatter.get("/dashboard/sites/squat/audit").get_data(as_text=True)
        assert "another site&#39;s proof of the origin" in log
        assert not {"c-blog", "Tenant C", "partner"} & {word for word in ("c-blog", "Tenant C", "partner")
                                                        if word in page + log}
        # B cannot prove it back: the origin serves its owner's line, not B's.
        assert f"{owned.origin} still waits" in _check_now(app, squatter, "squat")
        assert _what_the_origin_opens(app, "squat", owned.origin) == (403, 403, 400)
        # An administrator sees the conflict, and may still grant it.
        assert "(also site partner, c-blog)" in admin.get("/dashboard/sites/squat").get_data(as_text=True)
    finally:
        owned.stop()


def test_another_scheme_port_or_spelling_of_a_host_another_site_has_waits_for_proof(tenants, victim):
    """Site a has http://127.0.0.1:PORT (the victim's origin). The same host by another scheme, another port, an
    IPv4 shorthand, an IPv6-mapped address or a trailing dot is the same tenant's host: each waits for proof,
    and none lets a page post, show the comments, or send Webmentions for site b."""
    app, _, tenant_b = tenants
    port = int(victim.origin.rsplit(":", 1)[1])
    variants = [f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}", f"http://127.1:{port}",
                f"http://[::ffff:127.0.0.1]:{port}", f"http://127.0.0.1.:{port}"]
    assert _add_site_in_dashboard(tenant_b, "\n".join(variants)).status_code == 302
    opened = {origin: _what_the_origin_opens(app, "b", origin) for origin in variants}
    assert opened == dict.fromkeys(variants, (403, 403, 400))
    page = tenant_b.get("/dashboard/sites/b").get_data(as_text=True)
    assert all(origin in page for origin in variants) and "Origins waiting for proof" in page

    # Host names, on the command line: case, a trailing dot, another port or scheme, an international spelling.
    runner = app.test_cli_runner()
    held = ["https://victim.example", "https://xn--bcher-kva.example"]
    assert runner.invoke(args=["site", "add", "victimco", "--name", "Victim", *_origin_args(held)]).exit_code == 0
    names = ["http://VICTIM.example", "https://victim.example:8443", "https://victim.example.", "https://BÜCHER.example"]
    added = runner.invoke(args=["site", "add", "copy", "--name", "Copy", *_origin_args(names)])
    assert added.exit_code == 0, added.output
    assert added.output.count("is on a host already used by victimco") == 4, added.output
    for origin in ["http://victim.example", "https://victim.example:8443", "https://victim.example.",
                   "https://xn--bcher-kva.example"]:
        assert _what_the_origin_opens(app, "copy", origin) == (403, 403, 400), origin


def test_embed_check_about_a_waiting_origin_names_no_other_site(tenants, victim):
    """Anyone may ask why a site's comments do not show on an origin. For an origin that waits for proof, the
    answer tells the site's owner where to look, and no one whether or which other site has that origin."""
    app, _, tenant_b = tenants
    _add_site_in_dashboard(tenant_b, victim.origin)
    asked = app.test_client().get("/api/v1/embed-check", query_string={"site": "b"}, headers={"Origin": victim.origin})
    problem = asked.get_json()["problem"]
    assert problem["code"] == "origin_unproven"
    assert problem["message"] == f"Comments can't load here: {victim.origin} waits for proof that it belongs to site b."
    assert "/dashboard/sites/b" in problem["fix"]
    said = (problem["message"] + problem["fix"]).lower()
    assert not [word for word in ("another site", "other site", "also an origin", "site a", "a's blog") if word in said]


# Owners racing for one new origin: enough rounds that, without a lock, some round lets two of them have it.
RACERS = 6
ROUNDS = 8


def _holders_in_listing(listing, origin):
    """The sites `parley site list` shows with `origin` among their allowed origins, and those waiting for it."""
    having, waiting, site = [], [], None
    for line in listing.splitlines():
        if not line.startswith(" "):
            site = line.strip()
        elif re.match(rf"  origins +.*{re.escape(origin)}(,|$)", line):
            having.append(site)
        elif re.match(rf"  waiting origins +.*{re.escape(origin)}[, ]", line):
            waiting.append(site)
    return having, waiting


def test_owners_claiming_one_free_origin_at_the_same_moment_get_it_once(make_app):
    """Several owners add a site on the same new origin at the same moment, round after round, through the
    dashboard: each time exactly one of them has it and the others wait for proof. (On PostgreSQL, two or more
    would have it at once: each looked for another holder before any had written.)"""
    app = make_app()
    runner = app.test_cli_runner()
    create_admin(runner)
    admin = logged_in(app)
    owners = []
    for n in range(RACERS):
        assert runner.invoke(args=["site", "add", f"home{n}", "--name", f"Home {n}",
                                   "--origin", f"https://home{n}.example"]).exit_code == 0
        owners.append(accept_invitation(app, invitation_link(admin, f"home{n}", role="owner"), f"o{n}@example.com",
                                        name=f"Owner {n}"))
    tokens = [csrf_token(client, "/dashboard/account") for client in owners]
    answers = {}

    def add(n, round_, start):
        start.wait(10)
        answers[n, round_] = submit(owners[n], "/dashboard/sites/new", {
            "public_id": f"r{round_}-o{n}", "name": f"Round {round_}", "origins": f"https://race{round_}.example"},
            token=tokens[n]).status_code

    for round_ in range(ROUNDS):
        start = threading.Barrier(RACERS)
        racers = [threading.Thread(target=add, args=(n, round_, start)) for n in range(RACERS)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(30)
    assert set(answers.values()) == {302} and len(answers) == RACERS * ROUNDS

    listing = runner.invoke(args=["site", "list"]).output
    found = {round_: _holders_in_listing(listing, f"https://race{round_}.example") for round_ in range(ROUNDS)}
    shared = {round_: having for round_, (having, _) in found.items() if len(having) != 1}
    assert not shared, f"rounds whose origin more than one owner (or none) has: {shared}"
    assert all(len(waiting) == RACERS - 1 for _, waiting in found.values())
