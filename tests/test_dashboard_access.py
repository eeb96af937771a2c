"""Who may reach what on the dashboard: a CSRF token on every form, and each role kept to its own sites."""
import io
import re
from pathlib import Path

import pytest
from dashboard_helpers import (
    OTHER_ORIGIN,
    OTHER_PAGE,
    PASSWORD,
    accept_invitation,
    audit_rows,
    comment_on,
    csrf_token,
    invitation_link,
    logged_in,
    submit,
    thread_html,
)
from helpers import row_counts, stored_comment

# CSRF --------------------------------------------------------------------------------------------------

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
    values = _ids(app) | {"site_id": "blog", "token": "x" * 43, "name": "testid", "batch_id": 1}
    before = row_counts(app)
    tried = 0
    for _rule, path in _dashboard_posts(app, values):
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



# Roles: a moderator of one site cannot touch another ---------------------------------------------------

@pytest.fixture
def two_sites(app, admin, client, runner, tmp_path):
    """Site blog (with a moderator, mod@example.com) and site other, each with comments and records."""
    runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", OTHER_ORIGIN])
    runner.invoke(args=["site", "set", "other", "moderation", "all"])
    _populate(app, admin, client)
    app.config["IMPORT_FOLDER"] = str(tmp_path / "uploads")
    upload = {"kind": "json", "file": (io.BytesIO(b"{}\n"), "x.jsonl")}
    imported = submit(admin, "/dashboard/sites/other/import", upload, content_type="multipart/form-data")
    assert imported.status_code == 303, imported.get_data(as_text=True)[:2000]
    # An import run on the other site, to list and undo (the upload above waits for the sender).
    remark42 = Path(__file__).parent / "data" / "import" / "remark42.jsonl"
    result = runner.invoke(args=["import", "remark42", str(remark42), "--site", "other",
                                 "--map-url", f"https://old.example.com->{OTHER_ORIGIN}"])
    assert result.exit_code == 0, result.output
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
    from widget.models import Ban, Comment, ImportBatch, Invitation, Job, Membership, Site, Thread

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
            "job_id": db.session.scalar(db.select(Job.id).where(Job.site_id == other.id, Job.kind == "import")),
            "batch_id": db.session.scalar(db.select(ImportBatch.id).where(ImportBatch.site_id == other.id)),
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
