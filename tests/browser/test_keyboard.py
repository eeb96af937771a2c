"""Keyboard only, with the focus visible at every stop: a reader's whole path, and a moderator's."""
import re

import pytest
from playwright.sync_api import expect

from browser.axe import assert_visible_focus, violations
from browser.test_login import _serving
from browser.test_widget import widget_frame
from tests.dashboard_helpers import PASSWORD, create_admin

pytestmark = pytest.mark.browser

IS_FOCUSED = "(selector) => document.hasFocus() && document.activeElement.matches(selector)"


def tab_to(page, where, selector, limit=60, key="Tab"):
    """Press Tab until `selector` in `where` (a page or the widget's frame) has the focus, checking at
    every stop on the way inside `where` that the focused element shows it has the focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        if where.evaluate("() => document.hasFocus() && document.activeElement !== document.body"):
            stops.append(assert_visible_focus(where))
            if where.evaluate(IS_FOCUSED, selector):
                return stops
    raise AssertionError(f"{selector} is not reachable with {key}; the stops were {stops}")


@pytest.fixture
def login_world(make_app):
    with _serving(make_app) as (world, _provider):
        yield world


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_reader_comments_replies_likes_and_edits_by_keyboard_alone(login_world, browser, theme):
    widget = login_world
    widget.site()
    first, _ = widget.comment("Has anyone tried this without a mouse?", name="Ada")
    context = browser.new_context(locale="en-US", color_scheme=theme, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    body = "background: #1d2327; color: #e8e8e8;" if theme == "dark" else ""
    frame = widget.open(page, container=f' data-parley-theme="{theme}"', body_style=body)
    inner = widget_frame(page)

    # From the top of the host page into the form, past the comment and its buttons.
    tab_to(page, inner, "#parley-comment")
    page.keyboard.type("Yes: every step of this was typed.")
    tab_to(page, inner, "#parley-name")
    page.keyboard.type("Kay Board")
    page.keyboard.press("Tab")
    page.keyboard.type("kay@example.org")
    tab_to(page, inner, "#parley-form [type=submit]")
    page.keyboard.press("Enter")
    mine = frame.locator("li.comment", has_text="every step of this was typed")
    expect(mine.locator(".comment-author")).to_have_text("Kay Board")

    # Like Ada's comment: back up the page with Shift+Tab.
    tab_to(page, inner, f"#comment-{first} > .comment-body [data-action=like]", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(frame.locator(f"#comment-{first} > .comment-body [data-action=like]")).to_have_attribute(
        "aria-pressed", "true")

    # Reply to it: the reply form opens under it with the focus in its text box.
    tab_to(page, inner, f"#comment-{first} > .comment-body [data-action=reply]", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(frame.locator(f"#comment-{first} #parley-comment")).to_be_focused()
    assert_visible_focus(inner)
    page.keyboard.type("And a reply, by keyboard too.")
    tab_to(page, inner, "#parley-form [type=submit]")
    page.keyboard.press("Enter")
    expect(frame.locator(f"#comment-{first} .children li.comment")).to_contain_text("And a reply, by keyboard too.")

    # Edit the first comment of their own.
    own_edit = f"#{mine.get_attribute('id')} > .comment-body [data-action=edit]"
    tab_to(page, inner, own_edit, key="Shift+Tab")
    page.keyboard.press("Enter")
    edit_box = mine.locator(".comment-edit textarea")
    expect(edit_box).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type(" Edited, still by keyboard.")
    tab_to(page, inner, ".comment-edit [type=submit]")
    page.keyboard.press("Enter")
    expect(mine.locator("> .comment-body .comment-content")).to_contain_text("Edited, still by keyboard.")

    # The login button is in reach too, and opens the provider's window.
    tab_to(page, inner, "[data-action=login]")
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    opened.value.close()
    context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_logged_in_reader_has_no_accessibility_violations(login_world, browser, theme):
    widget = login_world
    widget.site()
    widget.comment("A comment to read while logged in.", name="Ada")
    context = browser.new_context(locale="en-US", color_scheme=theme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    body = "background: #1d2327; color: #e8e8e8;" if theme == "dark" else ""
    frame = widget.open(page, container=f' data-parley-theme="{theme}"', body_style=body)
    with page.expect_popup() as opened:
        frame.get_by_role("button", name="Log in with Test ID").click()
    popup = opened.value
    popup.wait_for_url("**/authorize?**")
    popup.locator("input[name=name]").fill("Grace Hopper")
    popup.locator("#login").click()
    expect(frame.locator(".logged-in-text")).to_contain_text("Grace Hopper")
    found = violations(widget_frame(page))
    assert found == [], "\n".join(found)
    # Their own way out, in reach of the keyboard.
    tab_to(page, widget_frame(page), "[data-action=logout]", key="Shift+Tab")
    context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_moderator_logs_in_moderates_and_changes_settings_by_keyboard_alone(widget, browser, theme):
    create_admin(widget.runner, "owner@example.com", name="Olivia Owner")
    widget.site(moderation="all")
    for name in ("Ann", "Ben", "Cat"):
        widget.comment(f"A comment from {name} to review.", name=name)
    context = browser.new_context(locale="en-US", color_scheme=theme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    main = page.main_frame

    page.goto(f"{widget.server.url}/dashboard/login")
    tab_to(page, main, "input[name=email]")
    page.keyboard.type("owner@example.com")
    tab_to(page, main, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Test blog")).to_be_visible()

    # To the queue through the site's tabs.
    tab_to(page, main, ".site-nav a[href$='/queue']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()

    def act(name, action):
        row = page.locator(".comment-row", has_text=f"A comment from {name}")
        tab_to(page, main, f"#{row.get_attribute('id')} button[value={action}]")
        page.keyboard.press("Enter")
        expect(row).to_have_count(0)

    act("Ann", "approve")
    act("Ben", "spam")
    act("Cat", "delete")
    statuses = {c["author"]["name"] for c in widget.thread()["comments"]}
    assert statuses == {"Ann"}

    # Settings: change one and save, all by keyboard.
    tab_to(page, main, ".site-nav a[href$='/settings']", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    tab_to(page, main, "input[name=edit_window]")
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    tab_to(page, main, "button[type=submit]:is(.btn-primary)")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("input[name=edit_window]")).to_have_value("30")
    context.close()


def test_the_focus_check_sees_a_missing_ring(widget, page):
    """A control: an element whose focus ring is taken away fails the check."""
    widget.pages["/plain"] = ('<!doctype html><html lang="en"><title>x</title><style>a:focus { outline: none }</style>'
                              '<a href="#x">A link</a>')
    page.goto(f"{widget.host.url}/plain")
    with pytest.raises(AssertionError, match=re.escape("shows no focus ring")):
        tab_to(page, page.main_frame, "a", limit=2)
