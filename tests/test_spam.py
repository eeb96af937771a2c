"""The spam pipeline: each check on its own, then the whole pipeline through the HTTP API."""
import re
import threading
import time
from datetime import datetime

import pytest
from conftest import ORIGIN, PAGE
from dashboard_helpers import submit
from helpers import stored_comment

from widget import spam
from widget.models import Ban, Site

NOW = datetime(2026, 12, 1, 12, 0)


def submission(site=None, **fields):
    values = {"site": site or Site(moderation="none"), "body": "A thoughtful comment.", "name": "Ada",
              "email": "ada@example.org", "website": None, "address": "198.51.100.7", "honeypot": None,
              "form_age": None, "min_form_seconds": 3, "first_time": False, "ban": None, "now": NOW}
    return spam.Submission(**(values | fields))


def test_honeypot_holds_what_a_bot_filled_in():
    assert spam.honeypot(submission(honeypot="http://spam.example")).action == spam.HOLD
    assert spam.honeypot(submission(honeypot="")) is None
    assert spam.honeypot(submission()) is None


def test_a_form_sent_faster_than_people_write_is_held():
    assert "less than 3 seconds after the form appeared" in spam.too_fast(submission(form_age=1.2)).reason
    assert spam.too_fast(submission(form_age=3.5)) is None
    assert spam.too_fast(submission(form_age=None)) is None  # an API client without the frame's form


def test_many_links_are_held():
    assert spam.links(submission(body="https://a.example https://b.example https://c.example")).reason \
        == "3 links in one comment"
    assert spam.links(submission(body="See https://a.example and https://b.example")) is None


@pytest.mark.parametrize("lists,fields,reason", [
    ({"blocked_words": ["casino"]}, {"body": "Best CASINO bonus!"}, "contains a blocked word (casino)"),
    ({"blocked_words": ["free money"]}, {"body": "Get FREE MONEY now"}, "contains a blocked word (free money)"),
    ({"blocked_words": ["casino"]}, {"name": "casino king"}, "contains a blocked word (casino)"),
    ({"blocked_emails": ["bot@spam.example"]}, {"email": "Bot@Spam.example"}, "the email address is blocked"),
    ({"blocked_domains": ["spam.example"]}, {"body": "see https://www.spam.example/x"}, "blocked domain"),
    ({"blocked_domains": ["spam.example"]}, {"website": "https://spam.example"}, "blocked domain"),
    ({"blocked_domains": ["spam.example"]}, {"email": "a@mail.spam.example"}, "blocked domain"),
    ({"blocked_networks": ["198.51.100.0/24"]}, {}, "blocked address range (198.51.100.0/24)"),
])
def test_block_lists_file_matches_as_spam(lists, fields, reason):
    found = spam.blocklist(submission(Site(**lists), **fields))
    assert found.action == spam.SPAM and reason in found.reason


@pytest.mark.parametrize("lists,fields", [
    ({"blocked_words": ["cialis"]}, {"body": "My specialist said so."}),  # a word, not a piece of one
    ({"blocked_domains": ["spam.example"]}, {"body": "see https://notspam.example"}),
    ({"blocked_networks": ["203.0.113.0/24"]}, {}),
    ({}, {"body": "Anything at all"}),
])
def test_block_lists_leave_everything_else_alone(lists, fields):
    assert spam.blocklist(submission(Site(**lists), **fields)) is None


def test_moderation_mode_and_bans_hold():
    assert spam.moderation(submission(Site(moderation="all"))).action == spam.HOLD
    assert spam.moderation(submission(Site(moderation="first-time"), first_time=True)).reason \
        == "first comment from this author"
    assert spam.moderation(submission(Site(moderation="first-time"), first_time=False)) is None
    assert "banned (by email)" in spam.ban(submission(ban=Ban(kind="email"))).reason


def test_the_strictest_finding_wins_and_scores_combine():
    clean = spam.judge(submission(), checks=(spam.honeypot, spam.too_fast, spam.links))
    assert clean == spam.Verdict(spam.PUBLISH, 0.0, [])
    held = spam.judge(submission(honeypot="x", form_age=0.5), checks=(spam.honeypot, spam.too_fast))
    assert held.action == spam.HOLD and held.score == pytest.approx(1 - 0.1 * 0.4)
    assert len(held.reasons) == 2
    filed = spam.judge(submission(Site(blocked_words=["casino"]), body="casino", honeypot="x"),
                       checks=(spam.honeypot, spam.blocklist))
    assert filed.action == spam.SPAM and filed.score == 1.0


# Through the API ---------------------------------------------------------------------------------

def public_bodies(client):
    page = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE}).get_json()
    return [c["html"] for c in page["comments"]]


def test_a_bot_that_fills_the_honeypot_is_held_with_its_reason(app, client, site, post):
    response = post("Buy now", honeypot="https://spam.example")
    assert response.status_code == 201 and response.get_json()["comment"]["status"] == "pending"
    stored = stored_comment(app, response.get_json()["comment"]["id"])
    assert stored["status"] == "pending" and stored["verdict"] == "hold" and stored["spam_score"] >= 0.9
    assert stored["held_reasons"] == ["a field hidden from people was filled in, as bots do"]
    assert public_bodies(client) == []


def _form_token(client, seconds_ago=0, site="blog"):
    """A form token as API clients get one, issued `seconds_ago`."""
    real = time.time
    time.time = lambda: real() - seconds_ago  # itsdangerous stamps tokens with time.time()
    try:
        response = client.get("/api/v1/form-token", query_string={"site": site}, headers={"Origin": ORIGIN})
    finally:
        time.time = real
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()["form_token"]


@pytest.fixture
def app(make_app):
    return make_app(SPAM_MIN_FORM_SECONDS=3)  # the server's default, which the other test files turn off


@pytest.fixture
def tokens_required(app):
    app.config["SPAM_FORM_TOKENS"] = True  # the server's default, which the other tests turn off


NO_TOKEN = "sent without a valid form token (none, forged, another site's, expired or used before), as scripts post"


def test_the_form_token_holds_comments_sent_too_soon(app, tokens_required, client, site, post):
    at_once = post("Sent at once", form_token=_form_token(client)).get_json()["comment"]
    assert stored_comment(app, at_once["id"])["held_reasons"] == [
        "sent less than 3 seconds after the form appeared, faster than people write"]
    used = _form_token(client, 60)
    written = post("Written over a minute", form_token=used).get_json()
    assert written["comment"]["status"] == "approved"
    # The answer carries the next token, for the reader's next comment.
    assert written["form_token"] and written["form_token"] != used


def test_a_post_without_a_valid_unspent_form_token_is_held(app, tokens_required, client, site, runner, post):
    # A script skips the form: it leaves the token out, forges one, or sends one token again and again.
    assert runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", ORIGIN]).exit_code == 0
    aged = _form_token(client, 60)
    attempts = {
        "none": None,
        "forged": "not.a.token",
        "garbled": aged[:-4] + "AAAA",
        "another site's": _form_token(client, 60, site="other"),
        "expired": _form_token(client, 25 * 3600),
    }
    for what, token in attempts.items():
        response = post(f"Spam without a token ({what})", form_token=token,
                        author={"name": "Bot", "email": f"bot-{len(what)}@example.net"})
        assert response.status_code == 201 and response.get_json()["comment"]["status"] == "pending", what
        assert stored_comment(app, response.get_json()["comment"]["id"])["held_reasons"] == [NO_TOKEN], what
    first = post("The first use of a good token", form_token=aged,
                 author={"name": "Bot", "email": "bot@example.net"}).get_json()["comment"]
    assert first["status"] == "approved"
    replays = [post(f"The same token again, {n}", form_token=aged,
                    author={"name": "Bot", "email": f"bot{n}@example.net"}).get_json()["comment"] for n in range(5)]
    assert [c["status"] for c in replays] == ["pending"] * 5
    assert public_bodies(client) == ["<p>The first use of a good token</p>"]


def test_one_token_sent_with_eight_comments_at_once_passes_one(app, tokens_required, client, site):
    # Racing requests all find the token unspent when they read; the one INSERT that spends it picks one.
    token = _form_token(client, 60)
    barrier, statuses = threading.Barrier(8), []

    def post(n):
        barrier.wait()
        response = app.test_client().post("/api/v1/comments", headers={"Origin": ORIGIN}, json={
            "site": "blog", "url": PAGE, "body": f"At once, number {n}", "form_token": token,
            "author": {"name": "Bot", "email": f"bot{n}@example.net"}})
        statuses.append(response.get_json()["comment"]["status"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == ["approved"] + ["pending"] * 7


def test_other_evidence_of_a_person_lets_a_comment_without_a_token_through(app, tokens_required, client, site, post):
    # A guest whose comment was approved here before, from the same browser with the same email: they have
    # shown they are a person; a script reusing only the email has not.
    first = post("Written in the form", form_token=_form_token(client, 60)).get_json()
    assert first["comment"]["status"] == "approved"
    again = post("From the API, no token", headers={"X-Reader-Token": first["reader_token"]}).get_json()["comment"]
    assert again["status"] == "approved"
    stranger = post("Same email, another browser").get_json()["comment"]
    assert stranger["status"] == "pending"


def test_a_blocked_word_files_the_comment_as_spam_and_a_moderator_can_release_it(app, client, runner, admin,
                                                                                 post):
    assert runner.invoke(args=["site", "set", "blog", "blocked_words", "casino, free money"]).exit_code == 0
    response = post("The best casino in town")
    author_view = response.get_json()["comment"]
    assert author_view["status"] == "pending"  # the author learns nothing; it waits like a held one
    stored = stored_comment(app, author_view["id"])
    assert (stored["status"], stored["verdict"]) == ("spam", "spam")
    assert stored["held_reasons"] == ["contains a blocked word (casino)"]
    assert public_bodies(client) == []
    # Its author still sees it, waiting; nobody else does.
    mine = client.get("/api/v1/threads", query_string={"site": "blog", "url": PAGE},
                      headers={"X-Reader-Token": response.get_json()["reader_token"]}).get_json()
    assert [c["status"] for c in mine["comments"]] == ["pending"]
    folder = admin.get("/dashboard/sites/blog/comments", query_string={"status": "spam"}).get_data(as_text=True)
    assert "The best casino in town" in folder and "contains a blocked word (casino)" in folder
    submit(admin, f"/dashboard/sites/blog/comments/{author_view['id']}/moderate", {"action": "approve"})
    assert public_bodies(client) == ["<p>The best casino in town</p>"]


def test_the_same_long_text_again_is_held(app, client, site, post):
    text = "This exact paragraph is being pasted under every post on the site."
    assert post(text).get_json()["comment"]["status"] == "approved"
    second = post(text, author={"name": "Other", "email": "other@example.org"}).get_json()["comment"]
    assert stored_comment(app, second["id"])["held_reasons"] == [
        "the same text was posted on this site in the past week"]
    assert post("Thanks!").status_code == post("Thanks!").status_code == 201
    assert public_bodies(client).count("<p>Thanks!</p>") == 2  # short words are honestly repeated


@pytest.mark.parametrize("key,value", [("blocked_networks", "not-a-range"), ("blocked_emails", "nope"),
                                       ("blocked_domains", "-"), ("blocked_words", "x" * 101)])
def test_bad_block_list_entries_are_refused_in_words(runner, site, key, value):
    result = runner.invoke(args=["site", "set", "blog", key, value])
    assert result.exit_code == 1
    assert re.search(r"not an? (IP address|email address|domain)|at most 100 characters", result.output)


def test_block_lists_are_set_and_shown_by_the_cli(runner, site):
    assert runner.invoke(args=["site", "set", "blog", "blocked_networks", "203.0.113.7, 2001:db8::/32"]).exit_code == 0
    listing = runner.invoke(args=["site", "list"]).output
    assert "203.0.113.7/32, 2001:db8::/32" in listing and "blocked_words" in listing


def test_the_site_page_charts_spam_caught_per_day_and_the_spam_folder_says_not_spam(runner, admin, post):
    assert runner.invoke(args=["site", "set", "blog", "blocked_words", "casino"]).exit_code == 0
    post("An honest comment")
    caught = post("Casino night").get_json()["comment"]
    page = admin.get("/dashboard/sites/blog").get_data(as_text=True)
    assert "<h2>Comments per day</h2>" in page and "<h2>Spam caught per day</h2>" in page
    assert "Last 30 days (UTC): 2 in all" in page and "Last 30 days (UTC): 1 in all" in page
    folder = admin.get("/dashboard/sites/blog/comments", query_string={"status": "spam"}).get_data(as_text=True)
    assert 'value="approve">Not spam</button>' in folder and str(caught["id"]) in folder
