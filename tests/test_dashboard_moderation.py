"""Moderating comments: the queue, the comment list, approve, spam, delete, pin, edit, bulk actions and threads."""
import pytest
from conftest import PAGE
from dashboard_helpers import NEXT_TARGETS, audit_rows, comment_on, submit, thread_html
from helpers import stored_comment


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
    # Only what the action changed: the comment stayed unpinned, so that is not logged.
    assert before == {"status": "pending"} and after == {"status": "approved"}
    # The log names the comment by its author and page, not by its number.
    log = admin.get("/dashboard/sites/blog/audit").get_data(as_text=True)
    assert "comment by Ada on “https://blog.example.com/posts/hello”" in log  # a page without a title: its URL
    assert f"comment #{comment['id']}" not in log


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



# Hostile input to the moderation forms -----------------------------------------------------------------

def test_nul_in_a_moderators_edit_is_refused_and_changes_nothing(app, admin):
    comment = comment_on(app.test_client(), "as it was")
    response = submit(admin, f"/dashboard/sites/blog/comments/{comment['id']}/edit", {"body": "new\x00words"})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert stored_comment(app, comment["id"])["body"] == "as it was"


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


@pytest.mark.parametrize("role", ["admin", "moderator"])
def test_one_approve_loads_the_moderators_account_once(app, admin, client, set_site, role):
    """An action's request reads who is acting once, and passes it on, however many checks it passes."""
    from dashboard_helpers import accept_invitation, csrf_token, invitation_link
    from sqlalchemy import event

    from widget.extensions import db

    acting = admin if role == "admin" else accept_invitation(app, invitation_link(admin, "blog"), "mo@example.com")
    set_site("moderation", "all")
    comment = comment_on(client, "wait for it")
    token = csrf_token(acting, "/dashboard/account")
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *rest: statements.append(" ".join(statement.split()))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = submit(acting, f"/dashboard/sites/blog/comments/{comment['id']}/moderate", {"action": "approve"},
                          token=token, headers={"Accept": "application/json"})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200 and response.get_json()["status"] == "approved"
    account_reads = [s for s in statements if s.startswith("SELECT") and "FROM dashboard_accounts" in s]
    assert len(account_reads) == 1, "\n".join(statements)
