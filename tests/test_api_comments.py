"""Posting, replying, editing and deleting comments through the HTTP API."""
import pytest
from conftest import GUEST, ORIGIN, PAGE
from helpers import age_comment, age_threads, flatten, row_counts, stored_comment


def test_guest_comment_is_stored_rendered_and_shown(post, read):
    response = post(body="Hello **world**", title="Hello post")
    assert response.status_code == 201
    created = response.get_json()
    comment = created["comment"]
    assert comment["html"] == "<p>Hello <strong>world</strong></p>"
    assert comment["status"] == "approved"
    assert comment["author"]["name"] == "Ada"
    assert comment["author"]["website"] == "https://ada.example.org"
    assert comment["author"]["avatar_url"].endswith(".svg")
    assert comment["can_edit"] is True
    assert created["edit_token"] and created["reader_token"]

    page = read().get_json()
    assert page["thread"]["title"] == "Hello post"
    assert page["thread"]["comment_count"] == 1
    assert [c["id"] for c in page["comments"]] == [comment["id"]]


def test_email_never_leaves_the_server(post, read, client, site):
    post(author={"name": "Ada", "email": "secret.address@example.org"})
    for response in (read(), client.get("/api/v1/counts", query_string={"site": site, "url": PAGE})):
        assert "secret.address" not in response.get_data(as_text=True)


def test_the_same_page_under_tracking_parameters_is_one_thread(post, read):
    post(url=PAGE + "?utm_source=news&fbclid=abc#comments")
    post(url="HTTPS://Blog.Example.com:443/posts/hello")
    page = read().get_json()
    assert page["thread"]["comment_count"] == 2
    assert page["thread"]["url"] == PAGE


def test_explicit_thread_id_keeps_comments_when_the_page_moves(post, read):
    post(thread_id="post-42", url=PAGE)
    page = read(url="https://blog.example.com/2026/renamed-post", thread_id="post-42").get_json()
    assert page["thread"]["comment_count"] == 1
    assert read().get_json()["thread"]["comment_count"] == 0


def test_replies_nest_under_their_parent(post, read):
    parent = post(body="first").get_json()["comment"]["id"]
    reply = post(body="reply", parent_id=parent).get_json()["comment"]["id"]
    post(body="reply to reply", parent_id=reply)
    (top,) = read().get_json()["comments"]
    assert top["id"] == parent
    assert top["replies"][0]["id"] == reply
    assert top["replies"][0]["replies"][0]["html"] == "<p>reply to reply</p>"


def test_reply_beyond_max_depth_stays_at_deepest_level_and_says_whom_it_answers(post, read, set_site):
    set_site("max_depth", 3)
    ids = [post(body="level 1").get_json()["comment"]["id"]]
    for level in range(2, 6):
        ids.append(post(body=f"level {level}", parent_id=ids[-1],
                        author={"name": f"Author {level}", "email": f"a{level}@example.org"})
                   .get_json()["comment"]["id"])
    (top,) = read().get_json()["comments"]
    level2 = top["replies"][0]
    level3 = level2["replies"][0]
    assert level3["id"] == ids[2]
    # Levels 4 and 5 are shown beside level 3's replies, at level 3, each naming whom it answers.
    assert [c["id"] for c in level2["replies"]] == [ids[2], ids[3], ids[4]]
    assert level2["replies"][1]["in_reply_to"] == {"id": ids[2], "author": "Author 3"}
    assert level2["replies"][2]["in_reply_to"] == {"id": ids[3], "author": "Author 4"}
    assert level3["replies"] == []
    assert level3["in_reply_to"] is None


def test_reply_must_stay_in_its_thread(post, app):
    other = post(url="https://blog.example.com/other").get_json()["comment"]["id"]
    before = row_counts(app)
    response = post(parent_id=other)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "foreign_parent"
    assert row_counts(app) == before


def test_reply_to_unknown_parent_is_refused(post):
    response = post(parent_id=999_999)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "unknown_parent"


@pytest.mark.parametrize("status_maker", ["pending", "deleted", "spam"])
def test_reply_to_a_comment_that_is_not_published_is_refused(post, app, set_site, client, status_maker):
    created = post().get_json()
    parent = created["comment"]["id"]
    if status_maker == "pending" or status_maker == "spam":
        from widget.extensions import db
        from widget.models import Comment
        with app.app_context():
            db.session.get(Comment, parent).status = status_maker
            db.session.commit()
    else:
        post(body="reply", parent_id=parent)
        client.delete(f"/api/v1/comments/{parent}", headers={"X-Edit-Token": created["edit_token"]})
    before = row_counts(app)
    response = post(body="late reply", parent_id=parent)
    assert response.status_code == 400
    # A placeholder is there for all to see; a waiting comment exists for its author alone.
    assert response.get_json()["error"]["code"] == ("parent_not_open" if status_maker == "deleted"
                                                    else "unknown_parent")
    own = post(body="late reply", parent_id=parent, headers={"X-Reader-Token": created["reader_token"]})
    assert own.status_code == 400 and own.get_json()["error"]["code"] == "parent_not_open"
    assert row_counts(app) == before


def test_all_comments_held_for_moderation_are_seen_only_by_their_author(post, read, set_site):
    set_site("moderation", "all")
    created = post().get_json()
    assert created["comment"]["status"] == "pending"
    mine = read(headers={"X-Reader-Token": created["reader_token"]}).get_json()
    assert [c["status"] for c in mine["comments"]] == ["pending"]
    assert mine["thread"]["comment_count"] == 0
    assert read().get_json()["comments"] == []


def test_first_time_commenters_wait_once(post, app, set_site):
    set_site("moderation", "first-time")
    created = post().get_json()
    first = created["comment"]
    assert first["status"] == "pending"
    from widget.extensions import db
    from widget.models import Comment
    with app.app_context():
        db.session.get(Comment, first["id"]).status = "approved"
        db.session.commit()
    returning = {"X-Reader-Token": created["reader_token"]}
    assert post(body="again", headers=returning).get_json()["comment"]["status"] == "approved"
    stranger = {"name": "Bob", "email": "bob@example.org"}
    assert post(author=stranger).get_json()["comment"]["status"] == "pending"


def test_typing_an_approved_readers_email_does_not_skip_moderation(post, app, set_site):
    """'Previously approved' belongs to the browser that was approved, not to whoever knows the address."""
    set_site("moderation", "first-time")
    created = post().get_json()
    from widget.extensions import db
    from widget.models import Comment
    with app.app_context():
        db.session.get(Comment, created["comment"]["id"]).status = "approved"
        db.session.commit()
    impostor = post(body="I am Ada, honest", author={"name": "Ada", "email": "ADA@example.org"}).get_json()
    assert impostor["comment"]["status"] == "pending"
    # Her own browser, but another address: not the same proof either.
    other = post(body="new address", author={"name": "Ada", "email": "ada@elsewhere.example"},
                 headers={"X-Reader-Token": created["reader_token"]}).get_json()
    assert other["comment"]["status"] == "pending"


def test_guests_can_be_turned_away(post, set_site, app):
    set_site("guests_allowed", "no")
    before = row_counts(app)
    response = post()
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "guests_not_allowed"
    assert row_counts(app) == before


def test_locked_thread_takes_no_comments_but_still_shows_them(post, read, runner, site, app):
    post()
    result = runner.invoke(args=["thread", "lock", site, PAGE])
    assert result.exit_code == 0, result.output
    before = row_counts(app)
    response = post(body="too late")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "thread_locked"
    assert row_counts(app) == before
    page = read().get_json()
    assert page["thread"]["locked"] is True
    assert len(page["comments"]) == 1
    runner.invoke(args=["thread", "unlock", site, PAGE])
    assert post(body="open again").status_code == 201


def test_old_thread_closes_by_the_site_setting(post, read, set_site, app):
    post()
    set_site("close_after_days", 30)
    age_threads(app, days=31)
    response = post(body="after closing")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "thread_closed"
    assert read().get_json()["thread"]["locked"] is True
    set_site("close_after_days", "off")
    assert post(body="reopened").status_code == 201


def test_author_edits_within_the_window(post, client, read):
    created = post(body="tyop").get_json()
    comment_id = created["comment"]["id"]
    response = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "typo *fixed*"},
                            headers={"X-Edit-Token": created["edit_token"], "Origin": ORIGIN})
    assert response.status_code == 200
    edited = response.get_json()["comment"]
    assert edited["html"] == "<p>typo <em>fixed</em></p>"
    assert edited["edited_at"] is not None
    assert read().get_json()["comments"][0]["html"] == "<p>typo <em>fixed</em></p>"


def test_edit_token_of_one_comment_does_not_open_another(post, client, app):
    mine = post(body="mine").get_json()
    theirs = post(body="theirs", author={"name": "Eve", "email": "eve@example.org"}).get_json()
    response = client.patch(f"/api/v1/comments/{theirs['comment']['id']}", json={"body": "defaced"},
                            headers={"X-Edit-Token": mine["edit_token"]})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invalid_edit_token"
    assert stored_comment(app, theirs["comment"]["id"])["body"] == "theirs"


@pytest.mark.parametrize("token", [None, "", "garbage", "eyJjIjoxfQ.forged.signature"])
def test_missing_or_wrong_edit_token_is_refused(post, client, app, token):
    comment_id = post(body="original").get_json()["comment"]["id"]
    headers = {} if token is None else {"X-Edit-Token": token}
    for response in (client.patch(f"/api/v1/comments/{comment_id}", json={"body": "x"}, headers=headers),
                     client.delete(f"/api/v1/comments/{comment_id}", headers=headers)):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "invalid_edit_token"
    assert stored_comment(app, comment_id)["body"] == "original"


def test_edit_window_closes(post, client, app):
    created = post(body="original").get_json()
    comment_id = created["comment"]["id"]
    age_comment(app, comment_id, minutes=16)
    headers = {"X-Edit-Token": created["edit_token"]}
    response = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "late edit"}, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "edit_window_closed"
    assert client.delete(f"/api/v1/comments/{comment_id}", headers=headers).status_code == 403
    assert stored_comment(app, comment_id)["body"] == "original"


def test_expired_edit_token_is_refused(post, client, app, monkeypatch, set_site):
    """A token minted long ago (its signed timestamp is old) no longer opens the comment."""
    import time

    set_site("edit_window", 10_080)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 8 * 86_400)
    created = post(body="original").get_json()  # token stamped eight days ago
    monkeypatch.setattr(time, "time", real_time)
    response = client.patch(f"/api/v1/comments/{created['comment']['id']}", json={"body": "x"},
                            headers={"X-Edit-Token": created["edit_token"]})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invalid_edit_token"


def test_delete_without_replies_removes_the_comment(post, client, read):
    created = post().get_json()
    response = client.delete(f"/api/v1/comments/{created['comment']['id']}",
                             headers={"X-Edit-Token": created["edit_token"], "Origin": ORIGIN})
    assert response.status_code == 204
    page = read().get_json()
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0


def test_deleted_comment_with_replies_stays_as_a_placeholder(post, client, read, app):
    created = post(body="parent text").get_json()
    parent_id = created["comment"]["id"]
    reply = post(body="reply", parent_id=parent_id).get_json()
    client.delete(f"/api/v1/comments/{parent_id}", headers={"X-Edit-Token": created["edit_token"]})
    (placeholder,) = read().get_json()["comments"]
    assert placeholder["status"] == "deleted"
    assert placeholder["html"] == "" and placeholder["author"]["name"] is None
    assert placeholder["replies"][0]["html"] == "<p>reply</p>"
    stored = stored_comment(app, parent_id)
    assert stored["body"] == "" and stored["author_email"] is None
    # Once its last reply goes, the placeholder has nothing to hold and goes too.
    client.delete(f"/api/v1/comments/{reply['comment']['id']}", headers={"X-Edit-Token": reply["edit_token"]})
    assert read().get_json()["comments"] == []
    assert stored_comment(app, parent_id) is None


def test_deleted_comment_cannot_be_edited(post, client):
    created = post(body="parent").get_json()
    comment_id = created["comment"]["id"]
    post(body="reply", parent_id=comment_id)
    headers = {"X-Edit-Token": created["edit_token"]}
    client.delete(f"/api/v1/comments/{comment_id}", headers=headers)
    response = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "back"}, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_unknown_comment_is_404(client, method):
    response = getattr(client, method)("/api/v1/comments/424242", json={"body": "x"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_comment"


def test_each_comment_is_one_transaction(post, app, monkeypatch):
    """A failure after the thread row is made leaves neither thread nor comment behind."""
    from widget import comments

    def explode(_thread_id):
        raise RuntimeError("disk full")

    monkeypatch.setattr(comments, "bump_thread", explode)
    before = row_counts(app)
    response = post(url="https://blog.example.com/brand-new-page")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert row_counts(app) == before


def test_website_is_optional_and_author_is_required(post):
    assert post(author={"name": "Ada", "email": "ada@example.org"}).status_code == 201
    response = post(author=...)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_author"


def test_comment_count_ignores_pending_and_deleted(post, read, client, set_site):
    kept = post().get_json()
    post(body="reply", parent_id=kept["comment"]["id"])
    client.delete(f"/api/v1/comments/{kept['comment']['id']}", headers={"X-Edit-Token": kept["edit_token"]})
    set_site("moderation", "all")
    post(body="waiting")
    assert read().get_json()["thread"]["comment_count"] == 1


def test_flattened_list_has_every_visible_comment_once(post, read):
    roots = [post(body=f"root {i}").get_json()["comment"]["id"] for i in range(3)]
    for root in roots:
        post(body="reply", parent_id=root)
    ids = [c["id"] for c in flatten(read().get_json()["comments"])]
    assert len(ids) == len(set(ids)) == 6
    assert GUEST["email"] not in str(ids)


def test_moderator_deleted_parent_survives_its_last_reply_going(post, client, app):
    """A moderator's deletion is reversible, so the author removing the last reply must not erase it."""
    from widget.extensions import db
    from widget.models import Comment

    parent = post(body="removed by a moderator").get_json()["comment"]["id"]
    reply = post(body="reply", parent_id=parent).get_json()
    with app.app_context():
        removed = db.session.get(Comment, parent)
        removed.status, removed.html = "deleted", ""  # as the dashboard's delete leaves it
        db.session.commit()
    client.delete(f"/api/v1/comments/{reply['comment']['id']}", headers={"X-Edit-Token": reply["edit_token"]})
    assert stored_comment(app, parent)["body"] == "removed by a moderator"


def _answer(response, *ids):
    """(status, code, message) with the comment ids in the message written as N: what a prober compares."""
    error = response.get_json()["error"]
    message = error["message"]
    for comment_id in ids:
        message = message.replace(str(comment_id), "N")
    return response.status_code, error["code"], message


@pytest.mark.parametrize("origin", [ORIGIN, "https://evil.example"])
def test_probing_a_held_comments_id_answers_as_for_an_unknown_one(post, client, set_site, origin):
    # A held comment is seen by its author alone: everyone else must not learn that its id exists, on any
    # endpoint that takes a comment id, whatever the page they send from.
    set_site("moderation", "all")
    held = post(body="Waiting for a moderator").get_json()["comment"]
    assert held["status"] == "pending"
    unknown = held["id"] + 1000
    headers = {"Origin": origin}

    def probes(comment_id):
        return {
            "edit": client.patch(f"/api/v1/comments/{comment_id}", json={"body": "x"}, headers=headers),
            "delete": client.delete(f"/api/v1/comments/{comment_id}", headers=headers),
            "edit with a token of another comment": client.patch(
                f"/api/v1/comments/{comment_id}", json={"body": "x"},
                headers=headers | {"X-Edit-Token": post(body="mine").get_json()["edit_token"]}),
            "like": client.post(f"/api/v1/comments/{comment_id}/like", headers=headers),
            "unlike": client.delete(f"/api/v1/comments/{comment_id}/like", headers=headers),
            "replies": client.get(f"/api/v1/comments/{comment_id}/replies", headers=headers),
            "reply": client.post("/api/v1/comments", headers=headers, json={
                "site": "blog", "url": PAGE, "body": "a reply", "author": GUEST, "parent_id": comment_id}),
            "reply from another page": client.post("/api/v1/comments", headers=headers, json={
                "site": "blog", "url": PAGE + "-other", "body": "a reply", "author": GUEST, "parent_id": comment_id}),
        }

    told_apart = {what: (_answer(to_held, held["id"]), _answer(to_unknown, unknown))
                  for (what, to_held), to_unknown in zip(probes(held["id"]).items(), probes(unknown).values(),
                                                         strict=True)
                  if _answer(to_held, held["id"]) != _answer(to_unknown, unknown)}
    assert told_apart == {}


def test_a_held_comments_author_still_edits_and_deletes_it(post, client, set_site):
    set_site("moderation", "all")
    created = post(body="tyop").get_json()
    comment_id, headers = created["comment"]["id"], {"X-Edit-Token": created["edit_token"], "Origin": ORIGIN}
    edited = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "typo"}, headers=headers)
    assert edited.status_code == 200 and edited.get_json()["comment"]["status"] == "pending"
    assert client.delete(f"/api/v1/comments/{comment_id}", headers=headers).status_code == 204
