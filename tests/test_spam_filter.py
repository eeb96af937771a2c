"""The local spam filter: its signs one by one, its learning through the dashboard, and its accuracy on the corpus."""
import json
from pathlib import Path

import pytest
from conftest import ORIGIN, PAGE
from dashboard_helpers import submit
from helpers import stored_comment

from bench.spam_filter import cross_validate, figures
from widget import spam_filter
from widget.extensions import db
from widget.models import Site

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "data" / "comments.jsonl").read_text().splitlines()]


def test_tokens_are_words_linked_hosts_and_the_authors_domains():
    found = spam_filter.tokens("Cheap pills at https://Pills.example/buy", "Best Pills", "x@mail.example",
                               "https://shop.example")
    assert {"cheap", "pills", "host:pills.example", "name:best", "email:mail.example", "site:shop.example",
            "links:1"} <= found


@pytest.mark.parametrize("body,website,first_time,script,reason", [
    ("Great casino bonus, free spins, order now", None, False, "LATIN", "reads like an advertisement (casino"),
    ("Купить недорого прямо сейчас", None, False, "LATIN", "written in Cyrillic script"),
    ("My shop: https://shop.example/a", "https://shop.example", False, None, "links its own website"),
    ("a https://a.example b https://b.example", None, False, None, "2 links in 4 words"),
    ("See https://a.example", None, True, None, "a first comment that links elsewhere"),
])
def test_each_heuristic_says_why(body, website, first_time, script, reason):
    assert any(reason in said for _, said in spam_filter.heuristics(body, website, first_time, script))


def test_an_ordinary_comment_shows_no_sign():
    assert spam_filter.heuristics("I made the soup and it was lovely. Thanks!", None, True, "LATIN") == []


def test_the_filter_stays_out_until_the_site_has_taught_it_enough():
    few = spam_filter.Knowledge(ham=19, spam=500, counts={"casino": (0, 400)})
    assert spam_filter.spam_probability({"casino"}, few) is None
    enough = spam_filter.Knowledge(ham=20, spam=500, counts={"casino": (0, 400), "soup": (15, 0)})
    assert spam_filter.spam_probability({"casino"}, enough) >= spam_filter.SPAM_AT
    assert spam_filter.spam_probability({"soup"}, enough) == pytest.approx(0.01)


def test_on_the_corpus_it_files_no_more_than_1_percent_of_ham_as_spam():
    learned = figures(cross_validate(CORPUS))
    assert learned["ham_as_spam"] <= 0.01
    assert learned["recall"] >= 0.85 and learned["precision"] >= 0.99
    fresh = figures(cross_validate(CORPUS, learned=False))
    assert fresh["ham_as_spam"] == 0.0 and fresh["caught"] >= 0.6  # heuristics alone only ever hold


def _post(client, row):
    payload = {"site": "blog", "url": PAGE, "body": row["body"],
               "author": {"name": row["name"][:100], "email": row["email"], "website": row["website"]}}
    response = client.post("/api/v1/comments", json=payload, headers={"Origin": ORIGIN})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["comment"]["id"]


def test_moderators_decisions_teach_the_filter_which_then_files_spam_by_itself(app, admin, client, set_site):
    set_site("moderation", "all")
    few_links = [row for row in CORPUS if row["body"].count("http") <= 2]
    ham = [row for row in few_links if row["label"] == "ham"][:20]
    spammy = [row for row in few_links if row["label"] == "spam" and "\n" not in row["body"]][:21]
    for row in ham:
        submit(admin, f"/dashboard/sites/blog/comments/{_post(client, row)}/moderate", {"action": "approve"})
    for row in spammy[:20]:
        submit(admin, f"/dashboard/sites/blog/comments/{_post(client, row)}/moderate", {"action": "spam"})
    with app.app_context():
        site = db.session.scalar(db.select(Site).where(Site.public_id == "blog"))
        assert (site.filter_ham, site.filter_spam) == (20, 20)

    set_site("moderation", "none")
    caught = stored_comment(app, _post(client, spammy[20]))
    assert caught["status"] == "spam" and caught["held_reasons"][0].startswith("this site's spam filter rates it")
    # A moderator who disagrees replaces the lesson rather than adding another.
    submit(admin, f"/dashboard/sites/blog/comments/{caught['id']}/moderate", {"action": "approve"})
    submit(admin, f"/dashboard/sites/blog/comments/{caught['id']}/moderate", {"action": "spam"})
    with app.app_context():
        site = db.session.scalar(db.select(Site).where(Site.public_id == "blog"))
        assert (site.filter_ham, site.filter_spam) == (20, 21)
