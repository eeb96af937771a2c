"""Pretending to be someone else: hidden characters, look-alike letters, staff names, typed addresses."""
import unicodedata

import pytest
from conftest import GUEST, ORIGIN, PAGE
from dashboard_helpers import accept_invitation, create_admin, invitation_link, logged_in, submit
from helpers import row_counts


@pytest.fixture
def team(app, runner, site):
    """The site's staff: an administrator ("Site Admin") and a moderator ("Grace Hopper")."""
    create_admin(runner, name="Site Admin")
    admin = logged_in(app)
    moderator = accept_invitation(app, invitation_link(admin, site), "grace@example.org", name="Grace Hopper")
    return admin, moderator


HOSTILE_NAMES = {
    "right-to-left override": ("\u202eAdmin", "name_reserved"),
    "zero-width space inside": ("Ad\u200bmin", "name_reserved"),
    "only invisible characters": ("\u200b\u200c\u200d\u2060", "invalid_name"),
    "hangul filler": ("\u3164\u3164", "invalid_name"),
    "blank braille": ("\u2800", "invalid_name"),
    "cyrillic look-alike of Admin": ("\u0410dmin", "name_reserved"),
    "greek look-alike of Admin": ("\u0391dmin", "name_reserved"),
    "plain admin": ("admin", "name_reserved"),
    "capitals": ("MODERATOR", "name_reserved"),
    "full-width letters": ("\uff21\uff44\uff4d\uff49\uff4e", "name_reserved"),
    "mathematical bold": ("\U0001d400\U0001d41d\U0001d426\U0001d422\U0001d427", "name_reserved"),
    "the moderator's name in cyrillic": ("Gr\u0430ce H\u043epper", "name_reserved"),
    "the administrator's name with a direction mark": ("\u200fsite admin", "name_reserved"),
    "a name the owner reserved": ("The Ed\u0456tor", "name_reserved"),
    "the site's own name": ("BLOG", "name_reserved"),
}


@pytest.mark.parametrize("name,code", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_hostile_names_are_refused_and_nothing_is_written(app, team, post, set_site, name, code):
    set_site("reserved_names", "The Editor, Webmaster Joe")
    before = row_counts(app)
    response = post(author={"name": name, "email": "someone@example.org"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert row_counts(app) == before


def test_hidden_characters_are_dropped_from_a_name_that_is_kept(post, read):
    created = post(author={"name": "Ada\u200d  Love\u00adlace\u2066", "email": "ada@example.org"})
    assert created.status_code == 201
    # Without its override, "nimda" no longer shows as "admin": it shows as what it is.
    assert post(author={"name": "\u202enimda", "email": "b@example.org"}).status_code == 201
    assert [c["author"]["name"] for c in read().get_json()["comments"]] == ["Ada Lovelace", "nimda"]


def test_staff_reply_from_the_dashboard_as_themselves_with_a_badge(app, team, client, post, read):
    admin, moderator = team
    question = post(body="Is this thing on?").get_json()["comment"]
    page = moderator.get(f"/dashboard/sites/blog/comments/{question['id']}/reply")
    assert page.status_code == 200 and "Reply to Ada" in page.get_data(as_text=True)
    answered = submit(moderator, f"/dashboard/sites/blog/comments/{question['id']}/reply",
                      {"body": "It is, *loud and clear*."})
    assert answered.status_code == 302
    submit(admin, f"/dashboard/sites/blog/comments/{question['id']}/reply", {"body": "Seconded."})
    (shown,) = read().get_json()["comments"]
    assert shown["author"]["badge"] is None  # a guest never carries one
    replies = {r["author"]["name"]: r for r in shown["replies"]}
    assert replies["Grace Hopper"]["author"]["badge"] == "moderator"
    assert replies["Grace Hopper"]["html"] == "<p>It is, <em>loud and clear</em>.</p>"
    assert replies["Grace Hopper"]["status"] == "approved"
    assert replies["Site Admin"]["author"]["badge"] == "admin"
    # The widget's first paint says so in words.
    frame = client.get("/embed/thread", query_string={"site": "blog", "url": PAGE, "origin": ORIGIN})
    assert '<span class="comment-badge">Moderator</span>' in frame.get_data(as_text=True)


def test_the_post_author_is_marked_as_such(app, team, post, read):
    admin, moderator = team
    question = post(body="Who wrote this?").get_json()["comment"]
    submit(moderator, f"/dashboard/sites/blog/comments/{question['id']}/reply", {"body": "I did."})
    threads = admin.get("/dashboard/sites/blog/threads").get_data(as_text=True)
    assert "Post author" in threads
    from widget.extensions import db
    from widget.models import Thread, User

    with app.app_context():
        thread_id = db.session.scalar(db.select(Thread.id))
        grace = db.session.scalar(db.select(User.id).where(User.display_name == "Grace Hopper"))
    etag = read().headers["ETag"]
    assert submit(admin, f"/dashboard/sites/blog/threads/{thread_id}/author", {"author": str(grace)}).status_code == 302
    fresh = read(headers={"If-None-Match": etag})
    assert fresh.status_code == 200  # the badge changed: a cached copy is stale
    assert fresh.get_json()["comments"][0]["replies"][0]["author"]["badge"] == "author"
    stranger = submit(admin, f"/dashboard/sites/blog/threads/{thread_id}/author", {"author": "999999"})
    assert stranger.status_code == 400


def test_a_stranger_cannot_name_themselves_post_author_or_staff_by_role_words(team, post):
    for name in ("Moderator", "Site Owner", "owner", "Grace Hopper", "grace hopper"):
        response = post(author={"name": name, "email": "x@example.org"})
        assert response.get_json()["error"]["code"] == "name_reserved", name


def test_typing_someone_elses_address_does_not_give_their_avatar(post, read):
    ada = post(body="mine").get_json()
    ada_again = post(body="mine too", headers={"X-Reader-Token": ada["reader_token"]}).get_json()
    impostor = post(body="also Ada?", author=GUEST).get_json()
    avatars = {c["html"]: c["author"]["avatar_url"] for c in read().get_json()["comments"]}
    assert avatars["<p>mine</p>"] == avatars["<p>mine too</p>"]
    assert avatars["<p>also Ada?</p>"] != avatars["<p>mine</p>"]
    assert ada_again["comment"]["author"]["avatar_url"] == ada["comment"]["author"]["avatar_url"]
    assert impostor["comment"]["author"]["avatar_url"] != ada["comment"]["author"]["avatar_url"]


def test_reserved_names_setting_is_checked(runner, site):
    bad = runner.invoke(args=["site", "set", site, "reserved_names", "Fine, \u200b\u200b"])
    assert bad.exit_code != 0 and "not a name" in bad.output
    good = runner.invoke(args=["site", "set", site, "reserved_names", "The Editor,  Joe\u200b"])
    assert good.exit_code == 0 and "The Editor, Joe" in good.output


ZALGO = "a" + "\u0301" * 99
# Marks kept apart by invisible characters pile up all the same once those are dropped.
ZALGO_HIDDEN = "Ada" + "\u0301\u200b" * 12


@pytest.mark.parametrize("field,value", [("name", ZALGO), ("name", ZALGO_HIDDEN),
                                         ("name", "Zo\u0308\u0324\u0301\u0300\u0303e"),
                                         ("title", "Hello" + "\u0336\u0337\u0338" * 10)],
                         ids=["name of 99 marks", "marks between hidden characters", "five marks on one letter",
                              "title"])
def test_a_zalgo_name_or_title_is_refused_in_words_and_nothing_is_written(app, post, site, field, value):
    before = row_counts(app)
    response = post(author={"name": value if field == "name" else "Ada", "email": "z@example.org"},
                    title=value if field == "title" else None)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == f"invalid_{field}"
    assert "combining marks on one character; at most 4 are allowed" in error["message"]
    assert row_counts(app) == before


LEGITIMATE_NAMES = {
    "Vietnamese": "Nguyễn Thị Ánh Tuyết",
    "Vietnamese, decomposed": "Nguye\u0302\u0303n Thi\u0323 A\u0301nh",
    "Hindi": "अनुष्का शर्मा",
    "Tamil": "ஸ்ரீநிவாசன்",
    "Thai": "สมชาย ใจดี น้ำผึ้ง",
    "Hebrew with niqqud": "שָׁלוֹם יִצְחָק",
    "Hebrew, shin with dagesh, dot and vowel": "שּׁוּשַׁן",
    "Arabic with harakat": "مُحَمَّد عَلِيّ",
    "Tibetan stack": "ཧྲཱུྃ བསྒྲུབས",
    "Korean": "김민준",
    "emoji with a skin tone": "Ada 👋🏽",
    "emoji sequences": "👩🏽‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 1️⃣",
}


@pytest.mark.parametrize("name", LEGITIMATE_NAMES.values(), ids=LEGITIMATE_NAMES.keys())
def test_names_and_titles_in_every_script_are_taken(post, read, name):
    response = post(author={"name": name, "email": "someone@example.org"}, title=f"{name}: a post")
    assert response.status_code == 201, response.get_json()
    (shown,) = read().get_json()["comments"]
    # Shown as written (in NFKC, as every name is), emoji sequences whole.
    assert shown["author"]["name"] == unicodedata.normalize("NFKC", name)


def test_a_zalgo_site_name_account_name_or_reserved_name_is_refused(app, runner, site):
    for args in (["site", "add", "other", "--name", ZALGO, "--origin", "https://other.example"],
                 ["site", "set", site, "name", ZALGO], ["site", "set", site, "reserved_names", f"Editor, {ZALGO}"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and "99 combining marks" in result.output, (args, result.output)
    result = runner.invoke(args=["user", "create-admin", "z@example.com", "--password-stdin", "--name", ZALGO],
                           input="a long enough password\n")
    assert result.exit_code != 0 and "99 combining marks" in result.output, result.output
