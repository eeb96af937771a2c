"""Readers' privacy rights: an administrator exports, erases or anonymises one reader's data (CLI and
dashboard), a logged-in reader does both for themselves through the API, and the attacks on all of it."""
import json
import re
from datetime import timedelta

import pytest
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import (
    OTHER_ORIGIN,
    OTHER_PAGE,
    accept_invitation,
    comment_on,
    create_admin,
    csrf_token,
    invitation_link,
    logged_in,
    submit,
)
from helpers import flatten, row_counts, stored_comment
from jsonschema import Draft202012Validator, FormatChecker
from oidc_provider import LoopbackProvider
from test_auth import SERVER, provider_config, token_for

from widget import worker
from widget.extensions import db
from widget.models import (
    AuditEntry,
    AuthToken,
    Comment,
    DashboardAccount,
    Identity,
    Job,
    Recipient,
    Site,
    Subscription,
    User,
    Vote,
    Webhook,
)

OWN_ORIGIN = SERVER  # the comment frame's own origin
BOB = {"name": "Bob", "email": "bob@example.org"}
DEE = {"name": "Dee", "email": "dee@example.org"}


@pytest.fixture
def provider():
    with LoopbackProvider() as running:
        running.redirect_uris.append(f"{SERVER}/auth/callback/testid")
        yield running


@pytest.fixture
def app(make_app, provider):
    """A server whose readers log in through a real OpenID Connect provider on loopback."""
    return make_app(**provider_config(provider))


@pytest.fixture
def two_sites(runner, site):
    result = runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", OTHER_ORIGIN])
    assert result.exit_code == 0, result.output
    return site, "other"


def logged_in_as(client, **who):
    """A bearer token and the user id of a reader who logged in through the provider."""
    token = token_for(client, **who)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["user"]
    return token, me["id"]


def reader_headers(token, origin=ORIGIN):
    return {"Authorization": f"Bearer {token}", "Origin": origin}


def like(client, comment_id, headers):
    response = client.post(f"/api/v1/comments/{comment_id}/like", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def thread(client, url=PAGE, site="blog"):
    return list(flatten(client.get("/api/v1/threads", query_string={"site": site, "url": url}).get_json()["comments"]))


def shown(client, comment_id, **where):
    return next((c for c in thread(client, **where) if c["id"] == comment_id), None)


def export(runner, *args):
    result = runner.invoke(args=["reader", "export", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result


def audit_json(app):
    """Every audit entry as one JSON text, to search for what must not be kept."""
    with app.app_context():
        return json.dumps([{"actor": e.actor_name, "action": e.action, "type": e.target_type, "id": e.target_id,
                            "before": e.before, "after": e.after}
                           for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))])


def against_the_document(client, data):
    """What is wrong with an export by the API document's ReaderData: the one format of every export."""
    document = client.get("/api/v1/openapi.json").get_json()
    validator = Draft202012Validator({"components": document["components"],
                                      "$ref": "#/components/schemas/ReaderData"}, format_checker=FormatChecker())
    return [error.message for error in validator.iter_errors(data)]


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def email_jobs(app):
    with app.app_context():
        return [job.payload for job in db.session.scalars(db.select(Job).where(Job.kind == "email"))]


# Export -----------------------------------------------------------------------------------------------

def test_export_by_email_holds_the_guests_comments_on_both_sites_and_nothing_of_others(app, client, runner,
                                                                                      two_sites):
    first = comment_on(client, "Ada on the blog", notify="replies")
    second = comment_on(client, "Ada on the other site", url=OTHER_PAGE, site="other", origin=OTHER_ORIGIN)
    comment_on(client, "Bob's own words", author=BOB, notify="all")

    data, _ = export(runner, "--email", "ADA@Example.org")
    assert data["format"] == "parley-reader-data" and data["version"] == 1 and data["generated_at"].endswith("Z")
    assert data["reader"] == {"email": "ada@example.org", "account_id": None}
    assert data["account"] is None
    assert [(c["id"], c["site"], c["body"]) for c in data["comments"]] == [
        (first["id"], "blog", "Ada on the blog"), (second["id"], "other", "Ada on the other site")]
    mine = data["comments"][0]
    assert mine["page_url"] == PAGE and mine["author_email"] == "ada@example.org"
    assert mine["author_website"] == GUEST["website"] and mine["status"] == "approved" and mine["likes"] == 0
    assert mine["ip_address"] == "kept only as a keyed hash"
    assert [(s["site"], s["kind"], s["comment_id"], s["confirmed"]) for s in data["subscriptions"]] == [
        ("blog", "replies", first["id"], False)]
    assert [a["email"] for a in data["notification_addresses"]] == ["ada@example.org"]
    # Guests' likes are keyed by a browser token, not an address: the export says so.
    assert data["likes_given"] == [] and any("anonymous token of the browser" in note for note in data["notes"])
    text = json.dumps(data)
    assert "Bob" not in text and "bob@example.org" not in text


def test_export_by_account_holds_the_account_its_comments_and_its_likes(app, client, runner, site, provider):
    bobs = comment_on(client, "Bob writes first", author=BOB)
    token, user_id = logged_in_as(client, sub="grace-7", name="Grace Hopper")
    mine = comment_on(client, "Grace, logged in", author=None, headers=reader_headers(token))
    like(client, bobs["id"], reader_headers(token))
    comment_on(client, "A guest who typed Grace's address", author={"name": "Not Grace",
                                                                     "email": "grace-7@provider.test"})

    data, _ = export(runner, "--user", str(user_id))
    account = data["account"]
    assert account["id"] == user_id and account["display_name"] == "Grace Hopper"
    assert account["identity"] == {"realm": provider.issuer, "subject": "grace-7"}
    assert account["email"] == "grace-7@provider.test" and account["created_at"] and account["last_login_at"]
    # An account is never tied to comments by an address someone typed.
    assert [c["id"] for c in data["comments"]] == [mine["id"]] and data["comments"][0]["logged_in"] is True
    assert [(like_["comment_id"], like_["site"]) for like_ in data["likes_given"]] == [(bobs["id"], "blog")]


def test_export_goes_to_a_file_and_an_unknown_reader_is_told_clearly(runner, client, site, tmp_path):
    comment_on(client, "Something")
    target = tmp_path / "ada.json"
    result = runner.invoke(args=["reader", "export", "--email", "ada@example.org", "--output", str(target)])
    assert result.exit_code == 0 and len(json.loads(target.read_text())["comments"]) == 1

    data, result = export(runner, "--email", "nobody@example.org")
    assert data["comments"] == [] and data["account"] is None
    assert "Nothing is stored about email nobody@example.org." in result.stderr
    erased = runner.invoke(args=["reader", "erase", "--email", "nobody@example.org", "--yes"])
    assert erased.exit_code == 0 and "Nothing is stored about email nobody@example.org" in erased.output

    unknown = runner.invoke(args=["reader", "export", "--user", "999999"])
    assert unknown.exit_code != 0 and "there is no reader account 999999" in unknown.output
    bad = runner.invoke(args=["reader", "export", "--email", "not-an-address"])
    assert bad.exit_code != 0 and "not an email address" in bad.output
    nobody = runner.invoke(args=["reader", "export"])
    assert nobody.exit_code != 0 and "--email, --user or both" in nobody.output


# Erasure by an administrator ----------------------------------------------------------------------------

def test_erasing_a_guest_removes_their_comments_and_keeps_replied_ones_as_empty_placeholders(app, client, runner,
                                                                                            two_sites):
    replied = comment_on(client, "Ada, replied to", notify="replies")
    bobs_reply = comment_on(client, "Bob answers Ada", author=BOB, parent_id=replied["id"], notify="replies")
    bobs_top = comment_on(client, "Bob on his own", author=BOB)
    adas_reply = comment_on(client, "Ada answers Bob", parent_id=bobs_top["id"])
    elsewhere = comment_on(client, "Ada elsewhere", url=OTHER_PAGE, site="other", origin=OTHER_ORIGIN)
    like(client, replied["id"], {"Origin": ORIGIN})
    assert any(job.get("recipient_id") for job in email_jobs(app))  # Ada's confirmation email waits
    before = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE})

    asked = runner.invoke(args=["reader", "erase", "--email", "ada@example.org"], input="n\n")
    assert asked.exit_code != 0 and "3 comments, 0 likes, 1 subscriptions on 2 sites" in asked.output
    assert stored_comment(app, elsewhere["id"]) is not None  # a "no" changes nothing

    result = runner.invoke(args=["reader", "erase", "--email", "ada@example.org"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "2 comments deleted, 1 left as placeholders" in result.output

    assert stored_comment(app, adas_reply["id"]) is None and stored_comment(app, elsewhere["id"]) is None
    placeholder = shown(client, replied["id"])
    assert placeholder["status"] == "deleted" and placeholder["html"] == "" and placeholder["likes"] == 0
    assert placeholder["author"] == {"name": None, "website": None, "avatar_url": None, "provider": None,
                                     "badge": None}
    assert [r["id"] for r in placeholder["replies"]] == [bobs_reply["id"]]
    row = stored_comment(app, replied["id"])
    assert row["body"] == "" and row["author_name"] is None and row["author_email"] is None
    assert row["author_website"] is None and row["ip_hash"] is None and row["reader_key"] is None
    # The thread changed: a reader's cached copy is stale.
    again = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE},
                       headers={"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 200

    assert count(app, Recipient, Recipient.email == "ada@example.org") == 0
    assert count(app, Subscription, Subscription.comment_id == replied["id"]) == 0
    with app.app_context():
        recipients = set(db.session.scalars(db.select(Recipient.id)))
    assert all(job.get("recipient_id") in recipients for job in email_jobs(app))

    # Bob's data is untouched, and so is his subscription.
    assert shown(client, bobs_top["id"])["author"]["name"] == "Bob"
    assert shown(client, bobs_reply["id"])["html"] == "<p>Bob answers Ada</p>"
    assert count(app, Recipient, Recipient.email == "bob@example.org") == 1

    logged = audit_json(app)
    assert "ada@example.org" not in logged.lower() and "Ada" not in logged and "answers Bob" not in logged
    with app.app_context():
        entries = list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "reader.erase")))
    by_site = {e.site_id: e.after for e in entries}
    assert len(entries) == 3 and None in by_site
    assert sorted((after["comments"], after["subscriptions"]) for site_id, after in by_site.items()
                  if site_id is not None) == [(1, 0), (2, 1)]
    assert by_site[None]["comments"] == 3 and by_site[None]["account"] == 0
    assert {e.actor_name for e in entries} == {"command line"}


def test_erasure_takes_the_text_out_of_a_moderators_edit_in_the_audit_log(app, client, runner, site, admin):
    comment = comment_on(client, "Words of mine")
    response = submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/edit", {"body": "Words, tidied"})
    assert response.status_code == 302
    assert "Words of mine" in audit_json(app)
    assert runner.invoke(args=["reader", "erase", "--email", "ada@example.org", "--yes"]).exit_code == 0
    logged = audit_json(app)
    assert "Words of mine" not in logged and "Words, tidied" not in logged and "[erased]" in logged


def test_webhook_deliveries_keep_no_copy_of_what_was_erased(app, client, runner, site):
    with app.app_context():
        blog = db.session.scalar(db.select(Site).where(Site.public_id == "blog"))
        db.session.add(Webhook(site_id=blog.id, url="https://hooks.example/parley",
                               events=["comment.created", "comment.deleted"]))
        db.session.commit()
    comment_on(client, "Words for the webhook")
    assert runner.invoke(args=["reader", "erase", "--email", "ada@example.org", "--yes"]).exit_code == 0
    with app.app_context():
        messages = [job.payload["message"] for job in db.session.scalars(
            db.select(Job).where(Job.kind == "webhook").order_by(Job.id))]
    assert [m["type"] for m in messages] == ["comment.created", "comment.deleted"]
    created, deleted = messages
    assert created["data"]["author"] == {"name": None, "website": None} and created["data"]["body"] == ""
    assert "author" not in deleted["data"] and "body" not in deleted["data"]  # a deletion names the comment only
    assert "Words for the webhook" not in json.dumps(messages)


def test_anonymising_keeps_the_text_and_leaves_no_email_in_the_database(app, client, site, admin):
    comment = comment_on(client, "Worth keeping", notify="replies")
    reply = comment_on(client, "Indeed", author=BOB, parent_id=comment["id"])

    ask = submit(admin, "/dashboard/readers/erase", {"email": "ada@example.org", "mode": "anonymise"})
    assert ask.status_code == 200 and "cannot be undone" in ask.get_data(as_text=True)
    assert shown(client, comment["id"])["author"]["name"] == "Ada"  # asking changes nothing
    done = submit(admin, "/dashboard/readers/erase",
                  {"email": "ada@example.org", "mode": "anonymise", "confirmed": "yes"}, follow_redirects=True)
    assert done.status_code == 200 and "1 comments anonymised" in done.get_data(as_text=True)

    kept = shown(client, comment["id"])
    assert kept["status"] == "approved" and kept["html"] == "<p>Worth keeping</p>"
    assert kept["author"]["name"] == "Anonymous" and kept["author"]["website"] is None
    assert [r["id"] for r in kept["replies"]] == [reply["id"]]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Comment).where(
            db.func.lower(Comment.author_email) == "ada@example.org")) == 0
        row = db.session.get(Comment, comment["id"])
        assert (row.reader_key, row.ip_hash, row.user_id, row.notify) == (None, None, None, None)
    assert count(app, Recipient, Recipient.email == "ada@example.org") == 0
    assert "Ada" not in audit_json(app) and "ada@example.org" not in audit_json(app)


# A reader, from the widget's API ------------------------------------------------------------------------

def test_a_reader_erases_themselves_likes_subscriptions_emails_and_account_included(app, client, site):
    token, user_id = logged_in_as(client, sub="grace-8", name="Grace Hopper")
    mine = reader_headers(token)
    replied = comment_on(client, "Grace, replied to", author=None, headers=mine, notify="all")
    alone = comment_on(client, "Grace, alone", author=None, headers=mine)
    bobs = comment_on(client, "Bob, liked by Grace", author=BOB, parent_id=replied["id"])
    dees = comment_on(client, "Dee, liked by two", author=DEE)
    like(client, bobs["id"], mine)
    like(client, dees["id"], mine)
    like(client, dees["id"], {"Origin": ORIGIN})
    worker.run_pending(app)  # the published fan-outs queue an email to Grace, who follows the page
    assert any(job.get("recipient_id") for job in email_jobs(app))

    data = client.get("/api/v1/me/data", headers=mine)
    assert data.status_code == 200 and data.headers["Content-Disposition"].startswith("attachment")
    assert len(data.get_json()["comments"]) == 2 and len(data.get_json()["likes_given"]) == 2

    erased = client.delete("/api/v1/me", json={"mode": "erase"}, headers=reader_headers(token, OWN_ORIGIN))
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json() | {} == {
        "mode": "erase", "comments": 2, "removed": 1, "placeholders": 1, "anonymised": 0, "likes": 2,
        "subscriptions": 2, "notification_addresses": 1, "emails": erased.get_json()["emails"], "account": 1,
        "sites": 1}
    assert erased.get_json()["emails"] >= 1

    assert shown(client, alone["id"]) is None
    assert shown(client, replied["id"])["status"] == "deleted"
    assert shown(client, bobs["id"])["likes"] == 0 and shown(client, dees["id"])["likes"] == 1
    assert count(app, Vote, Vote.voter == f"u:{user_id}") == 0
    assert count(app, Recipient, Recipient.email == "grace-8@provider.test") == 0
    assert count(app, Subscription) == 0
    for model in (Identity, AuthToken):
        assert count(app, model, model.user_id == user_id) == 0
    assert count(app, User, User.id == user_id) == 0
    gone = client.get("/api/v1/me", headers=mine)
    assert gone.status_code == 401

    logged = audit_json(app)
    assert "Grace" not in logged and "grace-8" not in logged and "the reader themselves" in logged


def test_a_reader_anonymises_themselves_in_their_own_language(app, client, site):
    token, _ = logged_in_as(client, sub="grace-9", name="Grace Hopper")
    comment = comment_on(client, "Meine Worte", author=None, headers=reader_headers(token))
    answer = client.delete("/api/v1/me", json={"mode": "anonymise", "lang": "de"},
                           headers=reader_headers(token, OWN_ORIGIN))
    assert answer.status_code == 200 and answer.get_json()["anonymised"] == 1
    kept = shown(client, comment["id"])
    assert kept["html"] == "<p>Meine Worte</p>" and kept["author"]["name"] == "Anonym"
    assert kept["author"]["provider"] is None and "grace" not in kept["author"]["avatar_url"]


def test_erasing_oneself_needs_a_live_token(app, client, site):
    token, _ = logged_in_as(client, sub="grace-10", name="Grace Hopper")
    comment_on(client, "Still mine", author=None, headers=reader_headers(token))
    before = row_counts(app)
    for headers in ({}, {"Authorization": "Bearer forged-token"}, {"Authorization": "Bearer"}):
        for method, path in (("delete", "/api/v1/me"), ("get", "/api/v1/me/data")):
            response = getattr(client, method)(path, headers=headers | {"Origin": OWN_ORIGIN})
            assert response.status_code == 401, (path, headers)
    with app.app_context():
        record = db.session.scalar(db.select(AuthToken))
        record.expires_at -= timedelta(days=365)
        db.session.commit()
    expired = client.delete("/api/v1/me", headers=reader_headers(token, OWN_ORIGIN))
    assert expired.status_code == 401 and expired.get_json()["error"]["code"] == "invalid_token"
    assert row_counts(app) == before


def test_a_reader_can_erase_only_themselves(app, client, site):
    token, _ = logged_in_as(client, sub="grace-11", name="Grace Hopper")
    other_token, other_id = logged_in_as(client, sub="linus-1", name="Linus")
    theirs = comment_on(client, "Linus's words", author=None, headers=reader_headers(other_token))
    before = row_counts(app)
    for body in ({"user_id": other_id}, {"mode": "erase", "user": other_id}, {"email": "linus-1@provider.test"}):
        refused = client.delete("/api/v1/me", json=body, headers=reader_headers(token, OWN_ORIGIN))
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "unknown_field"
    bad_mode = client.delete("/api/v1/me", json={"mode": "everyone"}, headers=reader_headers(token, OWN_ORIGIN))
    assert bad_mode.status_code == 400 and bad_mode.get_json()["error"]["code"] == "invalid_mode"
    assert row_counts(app) == before
    # With no body at all, the token's reader is erased, and only them.
    assert client.delete("/api/v1/me", headers=reader_headers(token, OWN_ORIGIN)).status_code == 200
    assert shown(client, theirs["id"])["author"]["name"] == "Linus"
    assert client.get("/api/v1/me", headers=reader_headers(other_token)).status_code == 200


@pytest.mark.parametrize("origin", [ORIGIN, "https://evil.example", "null"])
def test_erasing_oneself_is_refused_from_any_page_but_the_comment_frame(app, client, site, origin):
    token, _ = logged_in_as(client, sub="grace-12", name="Grace Hopper")
    before = row_counts(app)
    refused = client.delete("/api/v1/me", headers=reader_headers(token, origin))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "origin_not_allowed"
    assert row_counts(app) == before


def test_erasing_oneself_is_rate_limited_like_other_writes(make_app, provider):
    limited = make_app(**provider_config(provider), RATELIMIT_ENABLED=True, RATELIMIT_EDITS="1 per minute")
    client = limited.test_client()
    token, _ = logged_in_as(client, sub="grace-13", name="Grace Hopper")
    headers = reader_headers(token, OWN_ORIGIN)
    assert client.delete("/api/v1/me", json={"mode": "nonsense"}, headers=headers).status_code == 400
    assert client.delete("/api/v1/me", headers=headers).status_code == 429


# Staff and the dashboard ----------------------------------------------------------------------------------

def test_a_staff_account_is_not_erased_as_a_reader(app, client, runner, site, admin):
    with app.app_context():
        admin_user_id = db.session.scalar(db.select(DashboardAccount.user_id))
    refused = runner.invoke(args=["reader", "erase", "--user", str(admin_user_id), "--yes"])
    assert refused.exit_code != 0 and "staff accounts are not erased as readers" in refused.output
    page = submit(admin, "/dashboard/readers/erase", {"user": str(admin_user_id), "mode": "erase"},
                  follow_redirects=True)
    assert "staff accounts are not erased as readers" in page.get_data(as_text=True)

    token, user_id = logged_in_as(client, sub="mod-1", name="Mo")
    with app.app_context():
        db.session.add(DashboardAccount(user_id=user_id))
        db.session.commit()
    before = row_counts(app)
    answer = client.delete("/api/v1/me", headers=reader_headers(token, OWN_ORIGIN))
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "reader_is_staff"
    assert row_counts(app) == before


def test_the_dashboard_looks_a_reader_up_and_downloads_their_data(app, client, two_sites, admin):
    first = comment_on(client, "Ada on the blog", notify="replies")
    comment_on(client, "Ada on the other site", url=OTHER_PAGE, site="other", origin=OTHER_ORIGIN)
    banned = submit(admin, f"/dashboard/sites/blog/people/{first['id']}/ban",
                    {"kind": "email", "reason": "shouting", "days": "7"})
    assert banned.status_code == 302
    page = admin.get("/dashboard/readers", query_string={"email": "ada@example.org"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Stored about ada@example.org" in html
    assert '<td data-label="Site">blog</td><td data-label="Comments">1</td>' in html
    assert '<td data-label="Site">other</td><td data-label="Comments">1</td>' in html
    download = admin.get("/dashboard/readers/export", query_string={"email": "ada@example.org"})
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(download.get_data())
    assert len(data["comments"]) == 2 and [(b["site"], b["kind"], b["reason"]) for b in data["bans"]] == [
        ("blog", "email", "shouting")]
    assert against_the_document(client, data) == []

    nobody = admin.get("/dashboard/readers", query_string={"email": "nobody@example.org"})
    assert nobody.status_code == 200 and "Nothing stored" in nobody.get_data(as_text=True)
    assert admin.get("/dashboard/readers", query_string={"user": "999999"}).status_code == 404
    assert admin.get("/dashboard/readers", query_string={"email": "no-at-sign"}).status_code == 400
    nothing = submit(admin, "/dashboard/readers/erase", {"email": "nobody@example.org", "mode": "erase"},
                     follow_redirects=True)
    assert "Nothing is stored about nobody@example.org" in nothing.get_data(as_text=True)


def test_owners_and_moderators_cannot_reach_readers_data(app, client, runner, site, admin):
    comment_on(client, "Ada's words")
    accept_invitation(app, invitation_link(admin, "blog", role="owner"), "owner@example.com", name="Owen")
    accept_invitation(app, invitation_link(admin, "blog"), "mod@example.com")
    before = row_counts(app)
    for email in ("owner@example.com", "mod@example.com"):
        staff = logged_in(app, email)
        assert staff.get("/dashboard/readers").status_code == 403
        assert staff.get("/dashboard/readers/export", query_string={"email": "ada@example.org"}).status_code == 403
        for confirmed in ("", "yes"):
            answer = submit(staff, "/dashboard/readers/erase",
                            {"email": "ada@example.org", "mode": "erase", "confirmed": confirmed})
            assert answer.status_code == 403
    assert app.test_client().get("/dashboard/readers").status_code == 302  # logged out: to the login page
    assert row_counts(app) == before


def test_a_dashboard_erasure_without_the_csrf_token_is_refused(app, client, site, admin):
    comment_on(client, "Ada's words")
    before = row_counts(app)
    for token in (None, "forged", csrf_token(app.test_client())):
        data = {"email": "ada@example.org", "mode": "erase", "confirmed": "yes"} | ({"csrf_token": token}
                                                                                     if token else {})
        assert admin.post("/dashboard/readers/erase", data=data).status_code == 400
    assert row_counts(app) == before


def test_the_admin_erases_from_the_dashboard_and_the_page_lists_it(app, client, runner, site):
    create_admin(runner, name="Alice Admin")
    admin = logged_in(app)
    comment_on(client, "Ada's words")
    done = submit(admin, "/dashboard/readers/erase", {"email": "ada@example.org", "mode": "erase",
                                                      "confirmed": "yes"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "The reader&#39;s data is gone: 1 comments deleted" in html
    assert "Alice Admin" in html and "reader.erase" in html and "ada@example.org" not in html
    site_log = admin.get("/dashboard/sites/blog/audit").get_data(as_text=True)
    assert "reader.erase" in site_log and "Ada" not in site_log


def test_save_my_details_starts_unticked_as_consent_requires(client, site):
    page = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    box = re.search(r'<input id="parley-remember"[^>]*>', page.get_data(as_text=True)).group(0)
    assert "checked" not in box
