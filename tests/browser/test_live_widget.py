"""Live updates in a real browser: a comment posted in one reader's widget shows up in another's, offered by a bar."""
import pytest
from playwright.sync_api import expect

from browser.test_widget import fill_guest_form, is_focused, new_comment_id, own, wait_until

pytestmark = pytest.mark.browser


def test_a_comment_from_another_reader_is_offered_by_a_bar_without_a_reload(widget, page, browser):
    widget.site()
    first, _ = widget.comment("The first word.", name="Ada")
    reader = widget.open(page)
    bar = reader.locator('[data-action="show-new"]')
    expect(bar).to_be_hidden()
    wait_until(lambda: len(widget.server.paths("/api/v1/threads/live")) == 1, message="the reader's stream")

    other = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
    try:
        writer = widget.open(other.new_page())
        fill_guest_form(writer, "Hello from *another* reader.")
        writer.locator("#parley-form [type=submit]").click()
        expect(writer.locator("#parley-status")).to_have_text("Your comment was posted.")

        # The reader's list stays as it was; a bar at its top says what is new, politely.
        expect(bar).to_have_text("1 new comment")
        expect(reader.locator(".comments-new")).to_have_attribute("role", "status")
        assert bar.evaluate("b => b.tagName") == "BUTTON"
        expect(reader.locator("#parley-comments li.comment")).to_have_count(1)
        expect(reader.locator("#parley-title")).to_have_text("1 Comment")
        # Both widgets read the new page (with the version, for caches), and neither was reloaded.
        wait_until(lambda: len([p for p in widget.server.paths("/api/v1/threads?") if "&v=" in p]) == 2,
                   message="both widgets to read the new version")
        assert len(widget.server.paths("/embed/thread")) == 2
        # The writer's own comment is on their screen already: nothing new for them.
        expect(writer.locator('[data-action="show-new"]')).to_be_hidden()

        bar.click()
        mine = new_comment_id(widget, "another")
        expect(reader.locator("#parley-comments li.comment")).to_have_count(2)
        expect(own(reader, mine, ".comment-content em")).to_have_text("another")
        expect(reader.locator("#parley-title")).to_have_text("2 Comments")
        expect(bar).to_be_hidden()
        wait_until(lambda: is_focused(own(reader, mine, "").locator("xpath=.")), message="focus on the new comment")
        assert own(reader, first, "").count() == 1
        # One stream per widget for the page's whole life.
        assert len(widget.server.paths("/api/v1/threads/live")) == 2
    finally:
        other.close()
