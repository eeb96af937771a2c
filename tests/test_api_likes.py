"""Likes: one per reader, counted, reflected in liked_by_me."""
import threading

from conftest import ORIGIN


def test_like_unlike_roundtrip(post, client, read):
    comment_id = post().get_json()["comment"]["id"]
    first = client.post(f"/api/v1/comments/{comment_id}/like", headers={"Origin": ORIGIN})
    assert first.status_code == 200
    state = first.get_json()
    assert state["likes"] == 1 and state["liked_by_me"] is True
    token = state["reader_token"]
    headers = {"X-Reader-Token": token}

    again = client.post(f"/api/v1/comments/{comment_id}/like", headers=headers).get_json()
    assert again["likes"] == 1, "a second like by the same reader must not count"
    assert "reader_token" not in again
    shown = read(headers=headers).get_json()["comments"][0]
    assert shown["likes"] == 1 and shown["liked_by_me"] is True
    assert read().get_json()["comments"][0]["liked_by_me"] is False

    other = client.post(f"/api/v1/comments/{comment_id}/like").get_json()
    assert other["likes"] == 2

    undone = client.delete(f"/api/v1/comments/{comment_id}/like", headers=headers).get_json()
    assert undone == {"id": comment_id, "likes": 1, "liked_by_me": False}
    assert client.delete(f"/api/v1/comments/{comment_id}/like", headers=headers).get_json()["likes"] == 1


def test_forged_reader_token_gets_a_fresh_identity(post, client):
    comment_id = post().get_json()["comment"]["id"]
    client.post(f"/api/v1/comments/{comment_id}/like", headers={"X-Reader-Token": "forged"})
    state = client.post(f"/api/v1/comments/{comment_id}/like", headers={"X-Reader-Token": "forged"}).get_json()
    assert state["likes"] == 2
    assert state["reader_token"] != "forged"


def test_pending_comment_cannot_be_liked(post, client, set_site):
    set_site("moderation", "all")
    comment_id = post().get_json()["comment"]["id"]
    response = client.post(f"/api/v1/comments/{comment_id}/like")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_comment"


def test_like_of_unknown_comment_is_404(client):
    assert client.post("/api/v1/comments/987654/like").status_code == 404
    assert client.post("/api/v1/comments/99999999999999999999/like").status_code == 404


def test_like_from_a_foreign_origin_is_refused(post, client):
    comment_id = post().get_json()["comment"]["id"]
    response = client.post(f"/api/v1/comments/{comment_id}/like", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "origin_not_allowed"


def test_one_readers_unlikes_sent_at_once_take_off_one_like(app, post, client, read):
    # Each request saw the like and took one off: on PostgreSQL a reader could push any comment below zero.
    comment_id = post().get_json()["comment"]["id"]
    url = f"/api/v1/comments/{comment_id}/like"
    headers = {"X-Reader-Token": client.post(url, headers={"Origin": ORIGIN}).get_json()["reader_token"]}

    def unlike(start, answers):
        start.wait()
        answers.append(app.test_client().delete(url, headers=headers).status_code)

    for _ in range(6):
        start, answers = threading.Barrier(4), []
        senders = [threading.Thread(target=unlike, args=(start, answers)) for _ in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(30)
        assert answers == [200] * 4
        assert read().get_json()["comments"][0]["likes"] == 0
        assert client.post(url, headers=headers).get_json()["likes"] == 1
