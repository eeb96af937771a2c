"""Rate limits as a reader meets them in Chromium: how long to wait, said in words in the reader's language,
and a demo whose own limits let a newcomer try what it invites them to, twice."""
from playwright.sync_api import expect

from browser.test_widget import comment, fill_guest_form, own


def _post_twice(world, page, **options):
    frame = world.open(page, **options)
    fill_guest_form(frame, "The one comment of the hour.")
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("#parley-comments li.comment")).to_have_count(1)
    fill_guest_form(frame, "A second one, far too soon.")
    frame.locator("#parley-form [type=submit]").click()
    return frame


def test_a_rate_limited_reader_is_told_how_long_to_wait_in_words(rate_limited_widget, page):
    rate_limited_widget.site(comments_per_hour=1)
    frame = _post_twice(rate_limited_widget, page)
    expect(frame.locator("#parley-form-error")).to_have_text(
        "That was too many requests for now. Please try again in 60 minutes.")
    expect(frame.locator("#parley-comment")).to_have_value("A second one, far too soon.")


def test_the_wait_is_said_in_the_readers_language(rate_limited_widget, page):
    rate_limited_widget.site(comments_per_hour=1)
    frame = _post_twice(rate_limited_widget, page, container=' data-parley-lang="de"')
    expect(frame.locator("#parley-form-error")).to_have_text(
        "Das waren zu viele Anfragen. Bitte versuche es in 60 Minuten erneut.")


def _open_demo(world, page, path=""):
    page.goto(f"{world.server.url}/demo{path}")
    frame = page.frame_locator("iframe.parley-frame")
    frame.locator("html.is-live").wait_for(state="attached")
    return frame


def _post(frame, body):
    """Post from the open form; the comment shows and no error does. Returns its id."""
    frame.locator("#parley-comment").fill(body)
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("#parley-form-error")).to_be_hidden()
    posted = frame.locator("li.comment", has=frame.locator(".comment-content", has_text=body)).last
    expect(posted).to_have_count(1)
    return int(posted.get_attribute("data-id"))


def _newcomers_round(world, page, round_number):
    """What the demo invites a newcomer to do: on its first post, comment, reply, like, edit and delete; then
    leave a comment on its second post."""
    frame = _open_demo(world, page)
    fill_guest_form(frame, "")
    mine = _post(frame, f"Trying Parley out, round {round_number}.")
    own(frame, mine, "[data-action=reply]").click()
    reply = _post(frame, f"And replying to myself, round {round_number}.")
    own(frame, mine, "[data-action=like]").click()
    expect(own(frame, mine, "[data-action=like]")).to_have_attribute("aria-pressed", "true")
    own(frame, mine, "[data-action=edit]").click()
    own(frame, mine, ".comment-edit textarea").fill(f"Trying Parley out, round {round_number}, **edited**.")
    own(frame, mine, ".comment-edit [type=submit]").click()
    expect(own(frame, mine, ".comment-content strong")).to_have_text("edited")
    own(frame, reply, "[data-action=delete]").click()
    own(frame, reply, "[data-action=confirm-delete]").click()
    expect(comment(frame, reply)).to_have_count(0)
    frame = _open_demo(world, page, "/second-post")
    fill_guest_form(frame, "")
    _post(frame, f"A comment on the second post, round {round_number}.")


def test_the_demo_lets_a_newcomer_try_everything_it_invites_twice(paced_widget, page):
    for round_number in (1, 2):
        _newcomers_round(paced_widget, page, round_number)
