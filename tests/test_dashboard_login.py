"""Logging in to the dashboard: admins made by the CLI, passwords, lock-out, devices, sessions, linked logins."""
import re
from datetime import timedelta

import pytest
from dashboard_helpers import NEXT_TARGETS, PASSWORD, create_admin, csrf_token, log_in, logged_in, submit

from widget.config import Config


def test_create_admin_stores_a_strong_hash_and_logs_in(make_app):
    app = make_app(PASSWORD_HASH_METHOD=Config.PASSWORD_HASH_METHOD)  # the server's default; other tests cheapen it
    runner = app.test_cli_runner()
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
