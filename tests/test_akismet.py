"""Akismet through its documented REST protocol, against a stand-in server on loopback."""
import time

import pytest
from akismet_server import FakeAkismet
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import submit
from helpers import stored_comment

KEY = "abc123def456"


@pytest.fixture
def akismet():
    with FakeAkismet() as server:
        yield server


@pytest.fixture
def app(make_app, akismet):
    return make_app(AKISMET_ENDPOINT=akismet.url)


@pytest.fixture
def with_key(runner, site):
    assert runner.invoke(args=["site", "set", "blog", "akismet_key", KEY]).exit_code == 0


def test_a_comment_akismet_calls_spam_is_filed_as_spam_with_what_was_sent(app, akismet, with_key, post):
    akismet.verdict = "true"
    response = post("Cheap watches, click here", headers={"User-Agent": "SpamBot/1.0"})
    assert response.status_code == 201 and response.get_json()["comment"]["status"] == "pending"
    stored = stored_comment(app, response.get_json()["comment"]["id"])
    assert (stored["status"], stored["held_reasons"]) == ("spam", ["Akismet says this is spam"])
    [sent] = akismet.calls("comment-check")
    assert sent | {"user_agent": None} == {
        "api_key": KEY, "blog": ORIGIN, "user_ip": "127.0.0.1", "user_agent": None, "permalink": PAGE,
        "comment_type": "comment", "comment_author": GUEST["name"], "comment_author_email": GUEST["email"],
        "comment_author_url": GUEST["website"],
        "comment_content": "Cheap watches, click here"}
    assert sent["user_agent"] == "SpamBot/1.0"


def test_a_comment_akismet_calls_ham_is_published(app, akismet, with_key, post):
    akismet.verdict = "false"
    assert post("A kind word").get_json()["comment"]["status"] == "approved"
    assert len(akismet.calls("comment-check")) == 1


@pytest.mark.parametrize("failure", ["error", "nonsense", "no answer"])
def test_when_akismet_fails_the_comment_is_held_never_published_unchecked(app, akismet, with_key, post, failure):
    if failure == "no answer":
        akismet.delay = 5
    else:
        akismet.verdict = failure
    started = time.monotonic()
    response = post("Checked or held")
    assert response.status_code == 201
    assert time.monotonic() - started < 4  # the client gives up after 2 seconds
    stored = stored_comment(app, response.get_json()["comment"]["id"])
    assert (stored["status"], stored["held_reasons"]) == ("pending", ["Akismet could not be reached to check it"])


def test_a_moderators_overrule_is_reported_to_akismet(app, akismet, with_key, admin, post):
    akismet.verdict = "true"
    caught = post("Akismet thinks this is spam").get_json()["comment"]
    submit(admin, f"/dashboard/sites/blog/comments/{caught['id']}/moderate", {"action": "approve"})
    [ham] = akismet.calls("submit-ham")
    assert ham == akismet.calls("comment-check")[0]  # the same data the check was sent, as Akismet asks
    akismet.verdict = "false"
    missed = post("Akismet let this one through").get_json()["comment"]
    submit(admin, f"/dashboard/sites/blog/comments/{missed['id']}/moderate", {"action": "spam"})
    [spam] = akismet.calls("submit-spam")
    assert spam["comment_content"] == "Akismet let this one through"
    # Deleting or pinning is no verdict on spam: nothing more is reported.
    submit(admin, f"/dashboard/sites/blog/comments/{caught['id']}/moderate", {"action": "pin"})
    assert len(akismet.calls("submit-ham")) == 1 and len(akismet.calls("submit-spam")) == 1


def test_without_a_key_nothing_leaves_the_server_and_the_form_says_so(client, akismet, site, runner, post):
    assert post("Private").get_json()["comment"]["status"] == "approved"
    assert akismet.received == []
    page = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    assert "checked for spam on this server; nothing is sent to anyone else" in page.get_data(as_text=True)
    assert runner.invoke(args=["site", "set", "blog", "akismet_key", KEY]).exit_code == 0
    page = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    text = page.get_data(as_text=True)
    assert "This site uses Akismet to reduce spam." in text and 'href="https://akismet.com/privacy/"' in text


def test_the_key_is_checked_and_never_listed_whole(runner, site):
    result = runner.invoke(args=["site", "set", "blog", "akismet_key", "not a key!"])
    assert result.exit_code == 1 and "Akismet API key" in result.output
    assert runner.invoke(args=["site", "set", "blog", "akismet_key", KEY]).exit_code == 0
    listing = runner.invoke(args=["site", "list"]).output
    assert KEY not in listing and "set, ending in f456" in listing


def test_a_bulk_release_from_spam_reports_each_comment_as_ham(app, akismet, with_key, admin, post):
    akismet.verdict = "true"
    caught = [post(f"Caught number {n}, but honest").get_json()["comment"]["id"] for n in range(3)]
    submit(admin, "/dashboard/sites/blog/comments/bulk", {"ids": [str(i) for i in caught], "action": "approve"})
    assert sorted(form["comment_content"] for form in akismet.calls("submit-ham")) == [
        f"Caught number {n}, but honest" for n in range(3)]
