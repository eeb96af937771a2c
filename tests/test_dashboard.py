"""The moderation dashboard over HTTP: accounts, roles, CSRF, every action, bans, audit log and chart."""
import re
from datetime import timedelta

import pytest
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import (
    PASSWORD,
    accept_invitation,
    create_admin,
    csrf_token,
    invitation_link,
    log_in,
    logged_in,
    submit,
)
from helpers import row_counts, stored_comment

OTHER_ORIGIN = "https://other.example.net"
OTHER_PAGE = "https://other.example.net/articles/1"


@pytest.fixture
def admin(app, runner, site):
    create_admin(runner)
    return logged_in(app)


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


# Accounts and logging in ---------------------------------------------------------------------------

def test_create_admin_stores_a_strong_hash_and_logs_in(app, runner):
    result = runner.invoke(args=["user", "create-admin", "Boss@Example.com", "--password-stdin"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    from widget.extensions import db
    from widget.models import DashboardAccount

    with app.app_context():
        account = db.session.scalar(db.select(DashboardAccount))
        assert account.email == "boss@example.com" and account.is_admin
        assert account.password_hash.startswith("scrypt:") and PASSWORD not in account.password_hash
    client = app.test_client()
    response = log_in(client, "boss@example.com")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    assert client.get("/dashboard/sites").status_code == 200
    listing = runner.invoke(args=["user", "list"]).output
    assert "boss@example.com" in listing and "administrator" in listing


def test_create_admin_prompt_hides_the_password_and_asks_twice(runner):
    result = runner.invoke(args=["user", "create-admin", "a@example.com"],
                           input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat the password" in result.output
    assert "do not match" in result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize("args,stdin,message", [
    (["not-an-email"], PASSWORD, "not an email address"),
    (["a@example.com"], "short", "at least 10 characters"),
])
def test_create_admin_refuses_bad_input(runner, args, stdin, message):
    result = runner.invoke(args=["user", "create-admin", *args, "--password-stdin"], input=stdin + "\n")
    assert result.exit_code != 0 and message in result.output


def test_create_admin_twice_is_refused(runner):
    create_admin(runner)
    result = runner.invoke(args=["user", "create-admin", "ADMIN@example.com", "--password-stdin"],
                           input=PASSWORD + "\n")
    assert result.exit_code != 0 and "exists already" in result.output


def test_set_password_ends_open_sessions(app, runner):
    create_admin(runner)
    client = logged_in(app)
    result = runner.invoke(args=["user", "set-password", "admin@example.com", "--password-stdin"],
                           input="a brand new password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/dashboard/sites").status_code == 302  # logged out: the login page
    assert log_in(app.test_client()).status_code == 403  # the old password no longer works
    assert log_in(app.test_client(), password="a brand new password").status_code == 302


def test_wrong_password_is_said_and_pages_need_a_login(app, runner):
    create_admin(runner)
    client = app.test_client()
    response = log_in(client, password="wrong password!")
    assert response.status_code == 403
    assert "do not match" in response.get_data(as_text=True)
    assert log_in(client, email="nobody@example.com").status_code == 403
    page = client.get("/dashboard/sites")
    assert page.status_code == 302 and "/dashboard/login?next=" in page.headers["Location"]


def test_login_attempts_are_rate_limited_per_account(app, runner):
    create_admin(runner)
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 403
    refused = log_in(client)  # the right password, too late
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.get_data(as_text=True)
    from widget.extensions import db
    from widget.models import LoginFailure

    with app.app_context():
        for failure in db.session.scalars(db.select(LoginFailure)):
            failure.created_at -= timedelta(minutes=16)
        db.session.commit()
    assert log_in(client).status_code == 302


def test_login_attempts_are_rate_limited_per_address(make_app, runner):
    app = make_app(LOGIN_FAILURES_PER_ADDRESS=3)
    create_admin(app.test_cli_runner())
    client = app.test_client()
    for n in range(3):
        assert log_in(client, email=f"guess{n}@example.com").status_code == 403
    assert log_in(client).status_code == 429


def browser_at(app, address):
    """A browser of its own, sending from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_stranger_cannot_lock_the_owner_out(app, runner):
    create_admin(runner)
    owners_laptop = browser_at(app, "198.51.100.7")
    assert log_in(owners_laptop).status_code == 302  # the laptop is now a known device
    submit(owners_laptop, "/dashboard/logout")
    attacker = browser_at(app, "203.0.113.66")
    answers = [log_in(attacker, password=f"guess number {n}").status_code for n in range(30)]
    assert answers[:5] == [403] * 5 and set(answers[5:]) == {429}
    assert log_in(attacker).status_code == 429  # the attacker is held even with the right password
    # The owner is not: on the known laptop, even from the attacker's address (a shared café network),
    assert log_in(owners_laptop).status_code == 302
    submit(owners_laptop, "/dashboard/logout")
    owners_laptop.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    assert log_in(owners_laptop).status_code == 302
    # and on a new phone from another address.
    assert log_in(browser_at(app, "192.0.2.44")).status_code == 302


def test_spread_out_guessing_slows_unknown_browsers_but_never_a_known_device(make_app):
    app = make_app(LOGIN_FAILURES_ACCOUNT_WIDE=10)
    create_admin(app.test_cli_runner())
    owners_laptop = browser_at(app, "198.51.100.7")
    assert log_in(owners_laptop).status_code == 302
    submit(owners_laptop, "/dashboard/logout")
    for n in range(10):  # a botnet: one guess from each of many addresses
        assert log_in(browser_at(app, f"203.0.113.{n + 1}"), password=f"guess {n}").status_code == 403
    stranger = log_in(browser_at(app, "192.0.2.200"))
    assert stranger.status_code == 429 and "Too many failed logins" in stranger.get_data(as_text=True)
    assert log_in(owners_laptop).status_code == 302


def test_forged_or_foreign_device_cookie_counts_as_an_unknown_browser(app, runner):
    create_admin(runner)
    create_admin(runner, email="other@example.com")
    others_laptop = browser_at(app, "203.0.113.5")
    assert log_in(others_laptop, email="other@example.com").status_code == 302  # a device of *other*
    submit(others_laptop, "/dashboard/logout")
    for n in range(5):
        assert log_in(others_laptop, password=f"guess {n}").status_code == 403  # guessing admin's password
    assert log_in(others_laptop).status_code == 429
    forged = browser_at(app, "203.0.113.5")
    forged.set_cookie("parley_device", "WzEsImFiYyJd.forged.signature", path="/dashboard/")
    assert log_in(forged).status_code == 429


def test_a_known_device_that_keeps_guessing_is_held_itself(app, runner):
    create_admin(runner)
    laptop = browser_at(app, "198.51.100.7")
    assert log_in(laptop).status_code == 302
    submit(laptop, "/dashboard/logout")
    answers = [log_in(laptop, password=f"guess {n}").status_code for n in range(6)]
    assert answers == [403] * 5 + [429]
    assert log_in(browser_at(app, "192.0.2.9")).status_code == 302  # the owner elsewhere is not held


def test_login_never_redirects_off_the_dashboard(app, runner):
    create_admin(runner)
    for target in ("https://evil.example/", "//evil.example/x", "/api/v1/me", "/\\evil.example"):
        client = app.test_client()
        token = csrf_token(client)
        response = client.post("/dashboard/login", data={"email": "admin@example.com", "password": PASSWORD,
                                                         "csrf_token": token, "next": target})
        assert response.headers["Location"] == "/dashboard/", target


def test_session_cookie_is_httponly_lax_and_secure_over_https(make_app):
    app = make_app()
    create_admin(app.test_cli_runner())
    plain = app.test_client()
    log_in(plain)
    cookie = plain.get_cookie("session", domain="comments.test")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure

    secure_client = app.test_client()
    token = csrf_token(secure_client)
    response = secure_client.post("https://comments.test/dashboard/login", data={
        "email": "admin@example.com", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://comments.test/dashboard/login"})
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]

    behind_proxy = make_app(PUBLIC_URL="https://comments.example.com")
    client = behind_proxy.test_client()
    page = client.get("/dashboard/login")
    assert "Secure" in page.headers["Set-Cookie"]


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


def test_reader_bearer_token_never_opens_the_dashboard(app, client, site):
    from widget import readers
    from widget.extensions import db
    from widget.models import User

    create_admin(app.test_cli_runner())
    with app.app_context():
        account_user = db.session.scalar(db.select(User))
        token, _ = readers.issue_token(account_user, timedelta(days=1))
    response = client.get("/dashboard/sites", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]


def test_api_still_answers_401_not_a_login_redirect(client):
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 401 and response.is_json


# CSRF ------------------------------------------------------------------------------------------------

def _ids(app):
    from widget.extensions import db
    from widget.models import Ban, Comment, Invitation, Membership, Thread

    with app.app_context():
        first = lambda model: db.session.scalar(db.select(model.id).order_by(model.id).limit(1))  # noqa: E731
        return {"comment_id": first(Comment), "thread_id": first(Thread), "ban_id": first(Ban),
                "member_id": first(Membership), "invitation_id": first(Invitation)}


def _dashboard_posts(app, values):
    """Every POST route of the dashboard, with its path filled in."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/dashboard") or "POST" not in rule.methods:
            continue
        args = {}
        for name in rule.arguments:
            args[name] = values.get(name, "x")
        path = rule.rule
        for name, value in args.items():
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
        yield rule, path


def _populate(app, admin, client):
    """One of everything on site blog: a comment, a thread, a ban, a member, an invitation."""
    comment = comment_on(client, "to be moderated")
    submit(admin, f"/dashboard/sites/blog/people/{comment['id']}/ban",
           {"kind": "email", "reason": "testing", "days": "7"})
    link = invitation_link(admin, "blog")
    accept_invitation(app, link, "mod@example.com")
    invitation_link(admin, "blog", note="still open")
    return comment


def test_every_dashboard_post_without_a_valid_csrf_token_is_refused(app, admin, client):
    _populate(app, admin, client)
    values = _ids(app) | {"site_id": "blog", "token": "x" * 43, "name": "testid"}
    before = row_counts(app)
    tried = 0
    for rule, path in _dashboard_posts(app, values):
        for token in (None, "forged-token"):
            data = {"action": "delete", "ids": str(values["comment_id"]), "reason": "r", "kind": "email",
                    "value": "x@example.com", "role": "moderator", "locked": "yes", "body": "defaced",
                    "name": "Evil", "origins": "https://evil.example", "email": "admin@example.com",
                    "password": PASSWORD, "close_after_days": "1"}
            if token:
                data["csrf_token"] = token
            response = admin.post(path, data=data)
            assert response.status_code == 400, (path, response.status_code)
            assert "Form expired" in response.get_data(as_text=True)
            tried += 1
    assert tried >= 2 * 15
    assert row_counts(app) == before


def test_csrf_token_of_another_session_is_refused(app, admin, client):
    comment = _populate(app, admin, client)
    stranger = app.test_client()
    foreign_token = csrf_token(stranger)
    response = admin.post(f"/dashboard/sites/blog/comments/{comment['id']}/moderate",
                          data={"csrf_token": foreign_token, "action": "delete"})
    assert response.status_code == 400


def test_api_needs_no_csrf_token(post):
    assert post().status_code == 201


# Roles: a moderator of one site cannot touch another ------------------------------------------------------

@pytest.fixture
def two_sites(app, admin, client, runner):
    """Site blog (with a moderator, mod@example.com) and site other, each with comments and records."""
    runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", OTHER_ORIGIN])
    runner.invoke(args=["site", "set", "other", "moderation", "all"])
    _populate(app, admin, client)
    other_comment = comment_on(client, "other site's comment", url=OTHER_PAGE, site="other", origin=OTHER_ORIGIN)
    submit(admin, f"/dashboard/sites/other/people/{other_comment['id']}/ban",
           {"kind": "email", "reason": "other site's ban", "days": "7"})
    invitation_link(admin, "other", note="other site's invitation")
    other_owner = invitation_link(admin, "other", role="owner")
    accept_invitation(app, other_owner, "owner-other@example.com", name="Other Owner")
    moderator = logged_in(app, "mod@example.com")
    return moderator, other_comment


def _other_site_ids(app):
    from widget.extensions import db
    from widget.models import Ban, Comment, Invitation, Membership, Site, Thread

    with app.app_context():
        other = db.session.scalar(db.select(Site).where(Site.public_id == "other"))
        return {
            "site_id": "other",
            "comment_id": db.session.scalar(db.select(Comment.id).join(Thread).where(Thread.site_id == other.id)),
            "thread_id": db.session.scalar(db.select(Thread.id).where(Thread.site_id == other.id)),
            "ban_id": db.session.scalar(db.select(Ban.id).where(Ban.site_id == other.id)),
            "member_id": db.session.scalar(db.select(Membership.id).where(Membership.site_id == other.id)),
            "invitation_id": db.session.scalar(db.select(Invitation.id).where(Invitation.site_id == other.id,
                                                                              Invitation.accepted_at.is_(None))),
        }


def _site_routes(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/dashboard/sites/<site_id>")]


def _fill(rule, values):
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:\w+:)?{name}>", str(values[name]), path)
    return path


def test_moderator_of_one_site_cannot_read_or_change_another(app, two_sites, client):
    moderator, other_comment = two_sites
    other = _other_site_ids(app)
    assert all(other.values()), other
    token = csrf_token(moderator, "/dashboard/account")
    before = row_counts(app)
    audit_before = audit_rows(app)
    routes = _site_routes(app)
    assert len(routes) >= 18
    for rule in routes:
        path = _fill(rule, other)
        if "GET" in rule.methods:
            response = moderator.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert "other site" not in response.get_data(as_text=True).lower()
        if "POST" in rule.methods:
            for action in ("approve", "delete", "spam", "pin"):
                response = moderator.post(path, data={
                    "csrf_token": token, "action": action, "ids": str(other["comment_id"]), "body": "defaced",
                    "reason": "x", "kind": "email", "value": "a@example.com", "locked": "yes", "role": "moderator",
                    "name": "Taken", "origins": "https://evil.example", "close_after_days": "1", "days": "7"})
                assert response.status_code == 404, (path, action, response.status_code)
    assert row_counts(app) == before
    assert audit_rows(app) == audit_before
    # Their comment is still waiting, unchanged, and not visible in the widget.
    assert stored_comment(app, other_comment["id"])["status"] == "pending"
    assert thread_html(client, url=OTHER_PAGE, site="other") == []


def test_a_comment_of_another_site_cannot_be_reached_through_ones_own_site(app, two_sites):
    moderator, other_comment = two_sites
    cid = other_comment["id"]
    for method, path, data in [
        ("post", f"/dashboard/sites/blog/comments/{cid}/moderate", {"action": "approve"}),
        ("post", f"/dashboard/sites/blog/comments/{cid}/edit", {"body": "defaced"}),
        ("get", f"/dashboard/sites/blog/comments/{cid}/edit", None),
        ("get", f"/dashboard/sites/blog/people/{cid}", None),
        ("post", f"/dashboard/sites/blog/people/{cid}/ban", {"kind": "email", "reason": "x", "days": "7"}),
        ("post", f"/dashboard/sites/blog/threads/{_other_site_ids(app)['thread_id']}/lock", {"locked": "yes"}),
        ("post", f"/dashboard/sites/blog/bans/{_other_site_ids(app)['ban_id']}/lift", {}),
    ]:
        response = submit(moderator, path, data) if method == "post" else moderator.get(path)
        assert response.status_code == 404, (path, response.status_code)
    response = submit(moderator, "/dashboard/sites/blog/comments/bulk", {"action": "approve", "ids": str(cid)})
    assert stored_comment(app, cid)["status"] == "pending"
    assert response.status_code == 302


def test_moderator_does_not_see_other_sites_in_lists(app, two_sites):
    moderator, _ = two_sites
    listing = moderator.get("/dashboard/sites").get_data(as_text=True)
    assert "Other" not in listing and "Blog" in listing
    assert moderator.get("/dashboard/").headers["Location"].endswith("/dashboard/sites/blog")


def test_moderator_cannot_manage_their_own_site(app, two_sites):
    moderator, _ = two_sites
    before = row_counts(app)
    for path in ("/dashboard/sites/blog/settings", "/dashboard/sites/blog/members", "/dashboard/sites/blog/audit"):
        assert moderator.get(path).status_code == 403, path
    assert submit(moderator, "/dashboard/sites/blog/settings", {"name": "Taken over"}).status_code == 403
    assert submit(moderator, "/dashboard/sites/blog/members", {"role": "moderator"}).status_code == 403
    assert submit(moderator, "/dashboard/sites/blog/threads/close-after", {"close_after_days": "1"}).status_code == 403
    page = moderator.get("/dashboard/sites/new")
    assert "Only administrators and site owners" in page.get_data(as_text=True)
    assert submit(moderator, "/dashboard/sites/new", {"public_id": "mine", "name": "Mine",
                                                      "origins": "https://mine.example"}).status_code == 403
    assert row_counts(app) == before


def test_owner_invites_moderators_but_not_owners(app, two_sites):
    owner = logged_in(app, "owner-other@example.com")
    assert owner.get("/dashboard/sites/blog").status_code == 404
    assert submit(owner, "/dashboard/sites/other/members", {"role": "owner"}).status_code == 403
    link = invitation_link(owner, "other", "moderator", note="Sam")
    newcomer = accept_invitation(app, link, "sam@example.com", name="Sam")
    assert newcomer.get("/dashboard/sites/other/queue").status_code == 200
    assert newcomer.get("/dashboard/sites/blog/queue").status_code == 404
    # The link worked once.
    again = app.test_client().get(link)
    assert again.status_code == 409 and "accepted already" in again.get_data(as_text=True)
    # The owner removes the moderator, who then loses access at once.
    from widget.extensions import db
    from widget.models import Membership, User

    with app.app_context():
        member_id = db.session.scalar(db.select(Membership.id).join(User).where(User.display_name == "Sam"))
    assert submit(owner, f"/dashboard/sites/other/members/{member_id}/remove").status_code == 302
    assert newcomer.get("/dashboard/sites/other/queue").status_code == 302


def test_invitations_expire_and_can_be_withdrawn(app, admin):
    from widget.extensions import db
    from widget.models import Invitation

    link = invitation_link(admin, "blog")
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation))
        invitation.expires_at -= timedelta(days=8)
        db.session.commit()
    assert app.test_client().get(link).status_code == 409
    second = invitation_link(admin, "blog")
    with app.app_context():
        second_id = db.session.scalar(db.select(Invitation.id).order_by(Invitation.id.desc()))
    assert submit(admin, f"/dashboard/sites/blog/invitations/{second_id}/revoke").status_code == 302
    assert app.test_client().get(second).status_code == 404
    assert app.test_client().get("/dashboard/invitations/" + "x" * 43).status_code == 404


def test_existing_account_accepts_an_invitation_with_its_password(app, admin, runner):
    runner.invoke(args=["site", "add", "second", "--name", "Second", "--origin", OTHER_ORIGIN])
    accept_invitation(app, invitation_link(admin, "blog"), "mod@example.com")
    link = invitation_link(admin, "second")
    client = app.test_client()
    token = csrf_token(client, link)
    wrong = client.post(link, data={"csrf_token": token, "email": "mod@example.com", "password": "wrong one!!"})
    assert wrong.status_code == 403
    right = client.post(link, data={"csrf_token": token, "email": "mod@example.com", "password": PASSWORD})
    assert right.status_code == 302
    listing = runner.invoke(args=["user", "list"]).output
    assert re.search(r"mod@example.com .*moderator of blog, moderator of second", listing), listing


# Sites ---------------------------------------------------------------------------------------------

def test_admin_adds_a_site_and_gets_its_snippet(app, admin):
    page = admin.get("/dashboard/sites/new")
    assert page.status_code == 200
    response = submit(admin, "/dashboard/sites/new", {"public_id": "shop", "name": "The Shop",
                                                      "origins": "https://Shop.Example.com\nhttps://www.shop.example.com:443"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/sites/shop")
    overview = admin.get("/dashboard/sites/shop").get_data(as_text=True)
    assert ('&lt;script src=&#34;http://comments.test/embed.js&#34; data-parley-site=&#34;shop&#34; async&gt;'
            in overview)
    assert "Copy snippet" in overview
    assert "https://shop.example.com, https://www.shop.example.com" in overview
    assert ("site.create", "admin") == audit_rows(app)[-1][:2]


@pytest.mark.parametrize("form,message", [
    ({"public_id": "Bad Id", "name": "x", "origins": "https://a.example"}, "site id is 1 to 40"),
    ({"public_id": "ok", "name": "x", "origins": "a.example"}, "not an origin"),
    ({"public_id": "ok", "name": "", "origins": "https://a.example"}, "1 to 200 characters"),
    ({"public_id": "blog", "name": "x", "origins": "https://a.example"}, "already exists"),
])
def test_add_site_validation_is_said_and_nothing_is_stored(app, admin, form, message):
    before = row_counts(app)
    response = submit(admin, "/dashboard/sites/new", form)
    assert response.status_code in (400, 409)
    assert message in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_every_setting_is_editable_and_validated(app, admin, read, post):
    page = admin.get("/dashboard/sites/blog/settings").get_data(as_text=True)
    from widget.sites import SETTINGS

    for key in SETTINGS:
        if key != "providers":
            assert f'name="{key}"' in page, key
    assert 'name="providers_mode"' in page
    bad = {"name": "", "origins": "not-an-origin", "moderation": "sometimes", "edit_window": "1.5",
           "max_depth": "99", "close_after_days": "-3", "max_body_length": "0", "max_links": "x",
           "notify_email": "nope", "privacy_url": "javascript:alert(1)", "ban_action": "shrug"}
    response = submit(admin, "/dashboard/sites/blog/settings", bad)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    for message in ("1 to 200 characters", "not an origin", "expected one of", "whole number", "from 2 to 20",
                    "not an email address", "not an http or https URL"):
        assert message in text, message
    assert 'aria-invalid="true"' in text
    assert read().status_code == 200 and admin.get("/dashboard/sites/blog").status_code == 200

    good = {"name": "Blog renamed", "origins": f"{ORIGIN}\n{OTHER_ORIGIN}", "moderation": "all",
            "edit_window": "30", "max_depth": "3", "close_after_days": "", "max_body_length": "500",
            "max_links": "2", "notify_email": "owner@example.com", "privacy_url": "https://blog.example.com/privacy",
            "ban_action": "hold", "guests_allowed": "yes", "providers_mode": "none"}
    response = submit(admin, "/dashboard/sites/blog/settings", good)
    assert response.status_code == 302
    listing = app.test_cli_runner().invoke(args=["site", "list"]).output
    for expected in ("Blog renamed", "moderation        all", "edit_window       30", "providers         none",
                     "ban_action        hold", f"{ORIGIN}, {OTHER_ORIGIN}", "close_after_days  off"):
        assert expected in listing, expected
    # The widget sees the change at once.
    assert post(body="x" * 501).status_code == 400
    assert post().get_json()["comment"]["status"] == "pending"
    action, _, _, before, after = audit_rows(app)[-1]
    assert action == "site.settings" and before["moderation"] == "none" and after["moderation"] == "all"


# Moderation ---------------------------------------------------------------------------------------------

def test_queue_lists_pending_comments_newest_first_with_page_author_and_reasons(app, admin, client, set_site):
    set_site("moderation", "first-time")
    comment_on(client, "first ever", title="Hello post")
    comment_on(client, "second from a newcomer", author={"name": "Bea", "email": "bea@example.org"})
    approved_earlier = comment_on(client, "published", author={"name": "Cy", "email": "cy@example.org"})
    submit(admin, f"/dashboard/sites/blog/comments/{approved_earlier['id']}/moderate", {"action": "approve"})
    page = admin.get("/dashboard/sites/blog/queue")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.index("second from a newcomer") < text.index("first ever")
    assert "published" not in text.split('id="comment-list"')[1]
    assert "first comment from this author" in text
    assert "Hello post" in text and "ada@example.org" in text and "Bea" in text
    assert "2 comments waiting" in text


def test_approve_shows_the_comment_in_the_widget_at_once(app, admin, client, set_site, read):
    set_site("moderation", "all")
    comment = comment_on(client, "wait for it")
    etag = read().headers["ETag"]
    assert thread_html(client) == []
    response = submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "approve"},
                      headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json() | {"message": None} == {
        "id": comment["id"], "status": "approved", "pinned": False, "message": None,
        "actions": ["pin", "spam", "delete"], "pending": 0}
    assert read(headers={"If-None-Match": etag}).status_code == 200  # not a stale 304
    assert thread_html(client) == ["<p>wait for it</p>"]
    action, actor, target, before, after = audit_rows(app)[-1]
    assert (action, actor, target) == ("comment.approve", "admin", comment["id"])
    assert before == {"status": "pending", "pinned": False} and after == {"status": "approved", "pinned": False}


def test_delete_hides_and_restore_brings_back(app, admin, client):
    comment = comment_on(client, "regrettable")
    reply = comment_on(client, "a reply", parent_id=comment["id"])
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "delete"})
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()
    (placeholder,) = page["comments"]
    assert placeholder["status"] == "deleted" and placeholder["html"] == "" and placeholder["author"]["name"] is None
    assert placeholder["replies"][0]["id"] == reply["id"]
    assert "regrettable" not in str(page)
    listed = admin.get("/dashboard/sites/blog/comments?status=deleted").get_data(as_text=True)
    assert "regrettable" in listed and ">Restore<" in listed
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "restore"})
    assert thread_html(client) == ["<p>regrettable</p>"]


def test_spam_hides_and_approve_brings_back(admin, client):
    comment = comment_on(client, "buy cheap things")
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "spam"})
    assert thread_html(client) == []
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "approve"})
    assert thread_html(client) == ["<p>buy cheap things</p>"]


def test_action_that_does_not_apply_is_refused_in_words(admin, client):
    comment = comment_on(client, "fine")
    reply = comment_on(client, "reply", parent_id=comment["id"])
    for cid, action, message in [(comment["id"], "approve", "cannot approve a comment that is approved"),
                                 (reply["id"], "pin", "only top-level comments can be pinned"),
                                 (comment["id"], "explode", "unknown action")]:
        response = submit(admin, f"/dashboard/sites/blog/comments/{cid}/moderate", {"action": action})
        assert response.status_code == 400 and message in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("sort", ["oldest", "newest", "top"])
def test_pinned_comment_leads_its_thread_in_every_sort_and_every_page(admin, client, sort):
    ids = [comment_on(client, f"comment {n}")["id"] for n in range(7)]
    pinned = ids[3]
    submit(admin, f"/dashboard/sites/blog/comments/{pinned}/moderate", {"action": "pin"})
    first = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE, "sort": sort}).get_json()
    assert first["comments"][0]["id"] == pinned and first["comments"][0]["pinned"] is True
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE, "sort": sort, "limit": 2}
                          | ({"cursor": cursor} if cursor else {})).get_json()
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen[0] == pinned and sorted(seen) == sorted(ids) and len(seen) == len(ids)
    submit(admin, f"/dashboard/sites/blog/comments/{pinned}/moderate", {"action": "unpin"})
    oldest = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()["comments"]
    assert [c["id"] for c in oldest] == ids


def test_moderator_edit_is_recorded_and_checked_like_an_authors(app, admin, client, set_site):
    comment = comment_on(client, "I said something rude")
    path = f"/dashboard/sites/blog/comments/{comment['id']}/edit"
    assert "I said something rude" in admin.get(path).get_data(as_text=True)
    set_site("max_links", 0)
    refused = submit(admin, path, {"body": "see https://spam.example"})
    assert refused.status_code == 400 and "this site allows 0" in refused.get_data(as_text=True)
    assert submit(admin, path, {"body": ""}).status_code == 400
    assert submit(admin, path, {"body": "I said *something*"}).status_code == 302
    (shown,) = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()["comments"]
    assert shown["html"] == "<p>I said <em>something</em></p>"
    assert shown["edited_by_moderator"] is True and shown["edited_at"]
    action, _, _, before, after = audit_rows(app)[-1]
    assert action == "comment.edit"
    assert before == {"body": "I said something rude"} and after == {"body": "I said *something*"}


def test_bulk_actions_apply_where_they_can_in_one_go(app, admin, client, set_site):
    set_site("moderation", "all")
    ids = [comment_on(client, f"bulk {n}")["id"] for n in range(4)]
    submit(admin, f"/dashboard/sites/blog/comments/{ids[0]}/moderate", {"action": "approve"})
    response = submit(admin, "/dashboard/sites/blog/comments/bulk",
                      {"action": "approve", "ids": [str(i) for i in ids], "next": "/dashboard/sites/blog/queue"})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/sites/blog/queue"
    flashed = admin.get("/dashboard/sites/blog/queue").get_data(as_text=True)
    assert "Approved: 3 comments. 1 skipped" in flashed
    assert len(thread_html(client)) == 4
    submit(admin, "/dashboard/sites/blog/comments/bulk", {"action": "spam", "ids": [str(i) for i in ids[:2]]})
    assert len(thread_html(client)) == 2
    assert [a for a, *_ in audit_rows(app)].count("comment.spam") == 2
    empty = submit(admin, "/dashboard/sites/blog/comments/bulk", {"action": "spam"})
    assert empty.status_code == 302
    bad = submit(admin, "/dashboard/sites/blog/comments/bulk", {"action": "spam", "ids": "1; DROP TABLE"})
    assert bad.status_code == 400


def test_all_comments_filter_by_status_page_author_and_text(admin, client):
    comment_on(client, "about cats", title="Pets")
    comment_on(client, "about dogs", url="https://blog.example.com/posts/other", title="Other post",
               author={"name": "Bob", "email": "bob@example.org"})
    spam = comment_on(client, "cheap watches", url="https://blog.example.com/posts/3",
                      author={"name": "Spammer", "email": "s@spam.example"})
    submit(admin, f"/dashboard/sites/blog/comments/{spam['id']}/moderate", {"action": "spam"})

    def shown(**query):
        text = admin.get("/dashboard/sites/blog/comments", query_string=query).get_data(as_text=True)
        return {body for body in ("about cats", "about dogs", "cheap watches") if body in text}

    assert shown() == {"about cats", "about dogs", "cheap watches"}
    assert shown(status="spam") == {"cheap watches"}
    assert shown(page="posts/other") == {"about dogs"}
    assert shown(page="Pets") == {"about cats"}
    assert shown(author="bob@") == {"about dogs"}
    assert shown(author="ada") == {"about cats"}
    assert shown(q="CATS") == {"about cats"}
    assert shown(q="100%_") == set()
    assert admin.get("/dashboard/sites/blog/comments?status=bogus").status_code == 400
    assert admin.get("/dashboard/sites/blog/comments?p=0").status_code == 400


def test_threads_list_lock_unlock_and_close_old_ones(app, admin, client, post):
    comment_on(client, "one", title="First page")
    comment_on(client, "two", url="https://blog.example.com/posts/2", title="Second page")
    page = admin.get("/dashboard/sites/blog/threads").get_data(as_text=True)
    assert page.index("Second page") < page.index("First page")  # most recent activity first
    from widget.extensions import db
    from widget.models import Thread

    with app.app_context():
        first_id = db.session.scalar(db.select(Thread.id).where(Thread.title == "First page"))
    submit(admin, f"/dashboard/sites/blog/threads/{first_id}/lock", {"locked": "yes"})
    refused = post(body="after the lock")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "thread_locked"
    assert "Locked" in admin.get("/dashboard/sites/blog/threads").get_data(as_text=True)
    submit(admin, f"/dashboard/sites/blog/threads/{first_id}/lock", {"locked": "no"})
    assert post(body="after unlocking").status_code == 201

    from helpers import age_threads

    age_threads(app, 10)
    assert submit(admin, "/dashboard/sites/blog/threads/close-after", {"close_after_days": "0"}).status_code == 302
    assert post(body="still open").status_code == 201  # 0 was refused: not saved
    submit(admin, "/dashboard/sites/blog/threads/close-after", {"close_after_days": "7"})
    closed = post(body="too late")
    assert closed.status_code == 403 and closed.get_json()["error"]["code"] == "thread_closed"
    assert "Closed (old)" in admin.get("/dashboard/sites/blog/threads").get_data(as_text=True)
    assert [a for a, *_ in audit_rows(app)].count("thread.lock") == 1


# People and bans ---------------------------------------------------------------------------------------

def test_author_history_spans_the_site(admin, client):
    first = comment_on(client, "ada on page one")
    comment_on(client, "ada on page two", url="https://blog.example.com/posts/2")
    comment_on(client, "someone else", author={"name": "Bob", "email": "bob@example.org"})
    page = admin.get(f"/dashboard/sites/blog/people/{first['id']}").get_data(as_text=True)
    assert "ada on page one" in page and "ada on page two" in page and "someone else" not in page
    people = admin.get("/dashboard/sites/blog/people?q=bob").get_data(as_text=True)
    assert "Bob" in people and "Ada" not in people


@pytest.mark.parametrize("kind", ["email", "ip"])
def test_banned_guest_is_refused_and_the_address_is_stored_hashed(app, admin, client, kind):
    first = comment_on(client, "first words", headers={"X-Forwarded-For": "ignored"})
    response = submit(admin, f"/dashboard/sites/blog/people/{first['id']}/ban",
                      {"kind": kind, "reason": "trolling", "days": "never"})
    assert response.status_code == 302
    if kind == "email":
        refused = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "again",
                                                        "author": {"name": "New name", "email": "ADA@example.org"}},
                              headers={"Origin": ORIGIN})
    else:  # same address, different email
        refused = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "again",
                                                        "author": {"name": "Other", "email": "other@example.org"}},
                              headers={"Origin": ORIGIN})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "banned"
    # Another site is unaffected by this site's ban.
    app.test_cli_runner().invoke(args=["site", "add", "other", "--name", "O", "--origin", OTHER_ORIGIN])
    assert client.post("/api/v1/comments", json={"site": "other", "url": OTHER_PAGE, "body": "elsewhere",
                                                 "author": GUEST}, headers={"Origin": OTHER_ORIGIN}).status_code == 201
    _assert_no_plain_addresses(app)
    bans_page = admin.get("/dashboard/sites/blog/bans").get_data(as_text=True)
    assert "trolling" in bans_page and "Ada" in bans_page


def _assert_no_plain_addresses(app):
    from widget.extensions import db

    with app.app_context():
        with db.engine.connect() as connection:
            for table in ("bans", "comments", "audit_log", "login_failures"):
                for row in connection.execute(db.text(f"SELECT * FROM {table}")):
                    text = " ".join(str(v) for v in row)
                    assert "127.0.0.1" not in text, table
                    if table != "comments":
                        assert "ada@example.org" not in text.lower(), table


def test_banned_user_can_be_held_instead_with_a_reason_and_lifted(app, admin, client, set_site, post):
    from widget.extensions import db
    from widget.models import Ban

    set_site("ban_action", "hold")
    first = comment_on(client, "hello")
    submit(admin, f"/dashboard/sites/blog/people/{first['id']}/ban",
           {"kind": "email", "reason": "spammy links", "days": "1"})
    held = post(body="held one")
    assert held.status_code == 201 and held.get_json()["comment"]["status"] == "pending"
    queue = admin.get("/dashboard/sites/blog/queue").get_data(as_text=True)
    assert "the author is banned (by email)" in queue
    with app.app_context():
        ban_id = db.session.scalar(db.select(Ban.id))
    assert submit(admin, f"/dashboard/sites/blog/bans/{ban_id}/lift").status_code == 302
    assert post(body="free again").get_json()["comment"]["status"] == "approved"
    actions = [a for a, *_ in audit_rows(app)]
    assert "ban.create" in actions and "ban.lift" in actions


def test_ban_expires_by_itself(app, admin, client, post):
    from widget.extensions import db
    from widget.models import Ban

    first = comment_on(client, "hello")
    submit(admin, f"/dashboard/sites/blog/people/{first['id']}/ban", {"kind": "email", "reason": "cool off",
                                                                      "days": "1"})
    assert post(body="no").status_code == 403
    with app.app_context():
        ban = db.session.scalar(db.select(Ban))
        ban.expires_at -= timedelta(days=2)
        db.session.commit()
    assert post(body="yes").status_code == 201


def test_logged_in_reader_is_banned_by_user(app, admin, make_app, client):
    from widget import readers
    from widget.web.providers import Profile

    with app.app_context():
        reader = readers.sign_in(Profile("https://id.example", "sub-1", "testid", "Rita", None, None, None))
        token, _ = readers.issue_token(reader, timedelta(days=1))
    headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    posted = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "as Rita"}, headers=headers)
    assert posted.status_code == 201
    cid = posted.get_json()["comment"]["id"]
    page = admin.get(f"/dashboard/sites/blog/people/{cid}").get_data(as_text=True)
    assert "Logged in with testid" in page
    submit(admin, f"/dashboard/sites/blog/people/{cid}/ban", {"kind": "user", "reason": "abuse", "days": "never"})
    again = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "again"}, headers=headers)
    assert again.status_code == 403 and again.get_json()["error"]["code"] == "banned"


def test_manual_bans_by_email_or_ip_and_their_validation(admin, client, post):
    assert submit(admin, "/dashboard/sites/blog/bans", {"kind": "email", "value": "Ada@Example.org",
                                                        "reason": "known troll", "days": "30"}).status_code == 302
    assert post().status_code == 403
    for form, message in [({"kind": "email", "value": "nope", "reason": "x"}, "not an email address"),
                          ({"kind": "ip", "value": "999.1.1.1", "reason": "x"}, "not an IP address"),
                          ({"kind": "ip", "value": "10.0.0.1", "reason": ""}, "give a reason"),
                          ({"kind": "ip", "value": "10.0.0.1", "reason": "x", "days": "42"}, "a ban lasts"),
                          ({"kind": "user", "value": "1", "reason": "x"}, "author page")]:
        response = submit(admin, "/dashboard/sites/blog/bans", {"days": "never"} | form)
        assert response.status_code == 400 and message in response.get_data(as_text=True), form
    assert submit(admin, "/dashboard/sites/blog/bans", {"kind": "ip", "value": "127.0.0.1", "reason": "local",
                                                        "days": "never"}).status_code == 302
    other = client.post("/api/v1/comments", json={"site": "blog", "url": PAGE, "body": "x",
                                                  "author": {"name": "Z", "email": "z@example.org"}},
                        headers={"Origin": ORIGIN})
    assert other.status_code == 403


# Audit log and chart ----------------------------------------------------------------------------------

def test_audit_log_shows_who_what_when_before_and_after(app, admin, client):
    comment = comment_on(client, "x")
    submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "spam"})
    page = admin.get("/dashboard/sites/blog/audit").get_data(as_text=True)
    assert "comment.spam" in page and "admin" in page
    row = re.search(r"<tr class=\"changed\"><th scope=\"row\">status</th><td>(\w+)</td><td>(\w+)</td>", page)
    assert row and row.groups() == ("approved", "spam")
    filtered = admin.get("/dashboard/sites/blog/audit?action=site.settings").get_data(as_text=True)
    assert "comment.spam</code>" not in filtered
    assert admin.get("/dashboard/sites/blog/audit?before=x").status_code == 400


def test_chart_counts_comments_per_day_and_totals_by_status(app, admin, client):
    from widget.extensions import db
    from widget.models import Comment

    ids = [comment_on(client, f"c{n}")["id"] for n in range(4)]
    with app.app_context():
        for cid, days_ago in zip(ids, (0, 0, 3, 40)):
            db.session.get(Comment, cid).created_at -= timedelta(days=days_ago)
        db.session.commit()
    submit(admin, f"/dashboard/sites/blog/comments/{ids[0]}/moderate", {"action": "spam"})
    page = admin.get("/dashboard/sites/blog").get_data(as_text=True)
    bars = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+) comments?</title>", page)
    assert len(bars) == 30
    assert [int(n) for _, n in bars][-1] == 2 and [int(n) for _, n in bars][-4] == 1
    assert sum(int(n) for _, n in bars) == 3  # the one 40 days old is outside the window
    assert "3 in all" in page
    assert re.search(r'<span class="stat-number">3</span><span class="stat-label">Published', page)
    assert re.search(r'<span class="stat-number">1</span><span class="stat-label">Spam', page)


def test_chart_geometry_scales_to_the_busiest_day():
    from datetime import date

    from widget.dashboard.chart import bar_chart

    days = [(date(2026, 1, 1) + timedelta(days=n), n % 5) for n in range(30)]
    chart = bar_chart(days)
    assert chart.peak == 4 and chart.total == sum(n % 5 for n in range(30))
    assert chart.scale == [5, None, 0]  # a round top above the busiest day
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.count == 4 and tallest.height == chart.height * 4 / 5
    assert tallest.y + tallest.height == chart.height  # bars stand on the baseline
    assert [bar.x for bar in chart.bars] == sorted(bar.x for bar in chart.bars)
    assert all(bar.height == 0 for bar in chart.bars if bar.count == 0)
    assert [span for _, span in chart.labels] == [7, 7, 7, 7, 2]
    assert bar_chart([(date(2026, 1, 1), 0)]).peak == 0
    assert bar_chart([(date(2026, 1, 1), 1), (date(2026, 1, 2), 1000)]).bars[0].height == 2  # still visible


# Social login for the dashboard -------------------------------------------------------------------------

def test_admin_links_a_provider_login_and_logs_in_with_it(make_app, runner):
    from oidc_provider import LoopbackProvider
    from test_auth import at_provider, follow, provider_config

    with LoopbackProvider() as provider:
        provider.redirect_uris.append("http://comments.test/auth/callback/testid")
        app = make_app(**provider_config(provider))
        create_admin(app.test_cli_runner())
        admin = logged_in(app)
        account_page = admin.get("/dashboard/account").get_data(as_text=True)
        link = re.search(r'href="(/dashboard/account/link/testid\?csrf_token=[^"]+)"', account_page).group(1)
        # Without the token, another site could link its own login to this account.
        assert admin.get("/dashboard/account/link/testid").status_code == 403
        start = admin.get(link.replace("&amp;", "&"))
        assert start.status_code == 302
        done = follow(admin, at_provider(start.headers["Location"], sub="boss", name="The Boss"))
        assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/account")
        assert "Linked" in admin.get("/dashboard/account").get_data(as_text=True)

        browser = app.test_client()
        start = browser.get("/dashboard/login/with/testid")
        done = follow(browser, at_provider(start.headers["Location"], sub="boss", name="The Boss"))
        assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")
        assert browser.get("/dashboard/sites").status_code == 200
        assert log_in(app.test_client()).status_code == 302  # the password still works too

        stranger = app.test_client()
        start = stranger.get("/dashboard/login/with/testid")
        refused = follow(stranger, at_provider(start.headers["Location"], sub="reader-9", name="Reader"))
        assert refused.headers["Location"].endswith("/dashboard/login")
        assert "has no access to the dashboard" in stranger.get("/dashboard/login").get_data(as_text=True)
        assert stranger.get("/dashboard/sites").status_code == 302


def test_invitation_accepted_with_a_provider_login(make_app):
    from oidc_provider import LoopbackProvider
    from test_auth import at_provider, follow, provider_config

    with LoopbackProvider() as provider:
        provider.redirect_uris.append("http://comments.test/auth/callback/testid")
        app = make_app(**provider_config(provider))
        runner = app.test_cli_runner()
        runner.invoke(args=["site", "add", "blog", "--name", "Blog", "--origin", ORIGIN])
        create_admin(runner)
        link = invitation_link(logged_in(app), "blog")
        invitee = app.test_client()
        assert "Accept with Test ID" in invitee.get(link).get_data(as_text=True)
        start = invitee.get(link + "/with/testid")
        done = follow(invitee, at_provider(start.headers["Location"], sub="mod-1", name="Moe"))
        assert done.headers["Location"].endswith("/dashboard/sites/blog")
        assert invitee.get("/dashboard/sites/blog/queue").status_code == 200
        # The widget's login flow is untouched: the same person logging in to comment gets a code, not a session.
        assert "moderator of blog" in runner.invoke(args=["user", "list"]).output


# No 500s ---------------------------------------------------------------------------------------------------

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


# Hostile input to the dashboard's filters and forms ----------------------------------------------------

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


def test_nul_in_a_moderators_edit_is_refused_and_changes_nothing(app, admin):
    comment = comment_on(app.test_client(), "as it was")
    response = submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/edit", {"body": "new\x00words"})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert stored_comment(app, comment["id"])["body"] == "as it was"


NEXT_TARGETS = ["https://%5B::1", "https://[::1", "http://[", "//[::1", "/dashboard%00/x"]


@pytest.mark.parametrize("target", NEXT_TARGETS)
def test_login_with_an_unparseable_next_stays_on_the_dashboard(app, runner, target):
    create_admin(runner)
    client = app.test_client()
    assert client.get(f"/dashboard/login?next={target}").status_code in (200, 400)
    token = csrf_token(client)
    response = client.post(f"/dashboard/login?next={target}",
                           data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/dashboard/"


@pytest.mark.parametrize("target", NEXT_TARGETS)
def test_every_form_that_takes_next_refuses_an_unparseable_one(app, admin, set_site, target):
    from urllib.parse import unquote

    client = app.test_client()
    pending = comment_on(client, "one")
    set_site("moderation", "all")
    held = comment_on(client, "two")
    thread_id = None
    from widget.extensions import db
    from widget.models import Thread

    with app.app_context():
        thread_id = db.session.scalar(db.select(Thread.id))
    forms = [
        (f"/dashboard/sites/blog/comments/{held['id']}/moderate", {"action": "approve"}),
        ("/dashboard/sites/blog/comments/bulk", {"action": "spam", "ids": str(pending["id"])}),
        (f"/dashboard/sites/blog/comments/{held['id']}/edit", {"body": "edited"}),
        (f"/dashboard/sites/blog/threads/{thread_id}/lock", {"locked": "yes"}),
    ]
    for path, data in forms:
        response = submit(admin, path, data | {"next": unquote(target)})
        assert response.status_code in (302, 400), (path, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/dashboard/sites/blog/"), response.headers["Location"]
