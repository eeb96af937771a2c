"""The dashboard in a real browser: add a site, embed it on another origin, moderate by keyboard, ban."""
import re

import pytest
from playwright.sync_api import expect

from tests.dashboard_helpers import PASSWORD

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def reader_frame(browser, widget, url):
    """A reader's own browser on the host page; returns (context, frame) once the widget is live."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    frame = page.frame_locator("iframe.parley-frame")
    frame.locator("html.is-live").wait_for(state="attached")
    return context, page, frame


def post_as_guest(frame, body, name="Grace", email="grace@example.org"):
    frame.locator("#parley-comment").fill(body)
    frame.locator("#parley-name").fill(name)
    frame.locator("#parley-email").fill(email)
    frame.locator("#parley-form [type=submit]").click()


def screenshot_both(browser, page, url, name, artifacts):
    """The page at `url` on a desktop and on a 390-pixel-wide phone, logged in as `page` is."""
    page.set_viewport_size(DESKTOP)
    page.goto(url)
    page.screenshot(path=str(artifacts / f"dashboard-{name}-desktop.png"), full_page=True)
    phone = browser.new_context(locale="en-US", viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    phone.add_cookies(page.context.cookies())
    phone_page = phone.new_page()
    phone_page.goto(url)
    # Nothing may stick out sideways on a phone: the page scrolls only vertically.
    overflow = phone_page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than a 390px phone"
    phone_page.screenshot(path=str(artifacts / f"dashboard-{name}-phone.png"), full_page=True)
    phone.close()


def test_admin_adds_a_site_moderates_by_keyboard_and_bans(widget, browser, artifacts):
    result = widget.runner.invoke(args=["user", "create-admin", "owner@example.com", "--name", "Olivia Owner",
                                        "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    server = widget.server.url
    context = browser.new_context(locale="en-US", viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.set_default_timeout(10_000)

    # Log in as the administrator.
    page.goto(f"{server}/dashboard/sites")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your sites")).to_be_visible()

    # Add a site whose pages live on the host page's origin.
    page.get_by_role("link", name="Add a site").click()
    page.get_by_label("Name").fill("Grace's blog")
    page.get_by_label("Site id").fill("graces-blog")
    page.get_by_label("Allowed origins").fill(widget.host.url)
    page.get_by_role("button", name="Add the site").click()
    expect(page.get_by_role("heading", name="Grace's blog")).to_be_visible()

    # Copy the snippet with the button, as an owner would, and paste it into a page on the other origin.
    page.get_by_role("button", name="Copy snippet").click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    snippet = page.evaluate("() => navigator.clipboard.readText()")
    assert f'src="{server}/embed.js"' in snippet and 'data-parley-site="graces-blog"' in snippet
    widget.pages["/post"] = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A post</title>"
                             "</head><body><h1>A post</h1><p>Something worth discussing.</p>\n"
                             f"{snippet}\n</body></html>")
    post_url = f"{widget.host.url}/post"

    # Pre-moderation: every comment waits for review.
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Moderation").select_option("all")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flashes .flash-success")).to_have_text("Saved 1 change.")

    # Two earlier comments in the queue, then the reader's own through the widget.
    widget.comment("An older comment that also waits.", name="Bob", site="graces-blog")
    widget.comment("Another one, with a [link](https://example.com).", name="Cleo", site="graces-blog")
    author_context, author_page, author_frame = reader_frame(browser, widget, post_url)
    post_as_guest(author_frame, "Hello from the host page!")
    expect(author_frame.locator("li.comment.is-pending")).to_have_count(1)
    other_context, other_page, other_frame = reader_frame(browser, widget, post_url)
    expect(other_frame.locator("#parley-title")).to_have_text("No Comments")

    # The queue shows it first (newest first), with its page, author and why it waits.
    page.get_by_role("link", name=re.compile(r"^Queue")).click()
    rows = page.locator(".comment-row")
    expect(rows).to_have_count(3)
    first = rows.first
    expect(first.locator(".comment-body")).to_have_text("Hello from the host page!")
    expect(first.locator(".author")).to_have_text("Grace")
    expect(first.locator(".comment-where a")).to_have_text("A post")
    expect(first.locator(".reasons")).to_contain_text("this site holds every comment for review")
    screenshot_both(browser, page, page.url, "queue", artifacts)

    # Approve it by keyboard: j/k move between comments, a approves the current one.
    page.goto(page.url)
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("k")
    expect(rows.first).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("a")
    expect(page.locator("#live-status")).to_have_text("Approved: comment by Grace.")
    expect(rows).to_have_count(2)
    expect(page.locator("#pending-count")).to_have_text("2")
    expect(rows.first).to_have_class(re.compile(r"\bis-current\b"))

    # The widget shows it on the next read.
    other_page.reload()
    other_frame = other_page.frame_locator("iframe.parley-frame")
    expect(other_frame.locator("#parley-title")).to_have_text("1 Comment")
    expect(other_frame.locator("li.comment .comment-content")).to_have_text("Hello from the host page!")

    screenshot_both(browser, page, f"{server}/dashboard/sites/graces-blog", "site", artifacts)

    # Ban the author by email from their history page; their next comment is refused in the widget.
    page.goto(f"{server}/dashboard/sites/graces-blog/people")
    page.get_by_role("link", name="Grace").click()
    expect(page.get_by_role("heading", name="Grace")).to_be_visible()
    page.get_by_label("Their email address").check()
    page.get_by_label(re.compile(r"^Reason")).fill("Spamming the comments")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.locator(".flashes .flash-success")).to_have_text("Banned Grace by email.")
    expect(page.locator(".ban-line")).to_contain_text("Spamming the comments")

    author_page.reload()
    author_frame = author_page.frame_locator("iframe.parley-frame")
    author_frame.locator("html.is-live").wait_for(state="attached")
    post_as_guest(author_frame, "Let me back in!")
    expect(author_frame.locator("#parley-form-error")).to_have_text(
        "Sorry, the owner of this site has stopped accepting your comments.")
    expect(author_frame.locator("#parley-comment")).to_have_value("Let me back in!")
    assert "Let me back in!" not in str(widget.thread(site="graces-blog"))

    # The audit log recorded it all.
    page.goto(f"{server}/dashboard/sites/graces-blog/audit")
    for action in ("site.create", "site.settings", "comment.approve", "ban.create"):
        expect(page.locator("code.action", has_text=action)).to_have_count(1)
    for other in (author_context, other_context, context):
        other.close()
