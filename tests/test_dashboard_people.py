"""People on a site: invitations to join it, each author's history, and bans."""
import re
import threading
from datetime import timedelta

import pytest
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import (
    OTHER_ORIGIN,
    OTHER_PAGE,
    PASSWORD,
    accept_invitation,
    audit_rows,
    comment_on,
    create_admin,
    csrf_token,
    invitation_link,
    logged_in,
    submit,
)

# Invitations -------------------------------------------------------------------------------------------

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


def test_one_link_accepted_by_several_new_accounts_at_once_makes_one_member(app, admin):
    # Someone who intercepted the link races the invitee: on PostgreSQL every one of them became a member.
    from widget.extensions import db
    from widget.models import Membership

    link = invitation_link(admin, "blog", role="owner")
    browsers = [app.test_client() for _ in range(4)]
    tokens = [csrf_token(browser, link) for browser in browsers]
    start, answers = threading.Barrier(len(browsers)), []

    def accept(browser, token, number):
        start.wait()
        answers.append(browser.post(link, data={"csrf_token": token, "email": f"racer{number}@example.com",
                                                "name": f"Racer {number}", "password": PASSWORD,
                                                "confirm": PASSWORD}).status_code)

    racers = [threading.Thread(target=accept, args=(browser, token, number))
              for number, (browser, token) in enumerate(zip(browsers, tokens, strict=True))]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    assert sorted(answers) == [302] + [409] * (len(browsers) - 1)
    with app.app_context():
        assert db.session.scalars(db.select(Membership.role)).all() == ["owner"]  # the server's admin holds none


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
    # Who it was, masked, kept at ban time: whichever way they were banned.
    assert "a•••@example.org" in bans_page


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
