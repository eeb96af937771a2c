"""Asking for emails from the widget, confirming from the email, and hearing of a reply: in Chromium."""
import pytest
from playwright.sync_api import expect
from smtp_server import links, text_of

pytestmark = pytest.mark.browser


def test_a_guest_ticks_notify_confirms_from_the_email_and_hears_of_a_reply(mail_widget, browser, artifacts):
    widget = mail_widget
    widget.site()
    page = browser.new_page()
    frame = widget.open(page)
    replies_box, all_box = frame.locator("#parley-notify-replies"), frame.locator("#parley-notify-all")
    # Both start unticked, and their labels say what they do.
    expect(replies_box).not_to_be_checked()
    expect(all_box).not_to_be_checked()
    expect(frame.get_by_label("Notify me of replies to my comment via email.")).to_have_count(1)
    frame.locator("#parley-comment").fill("Will anyone answer me?")
    frame.locator("#parley-name").fill("Grace")
    frame.locator("#parley-email").fill("grace@example.org")
    replies_box.check()
    page.locator("iframe.parley-frame").screenshot(path=str(artifacts / "widget-notify.png"))
    frame.locator("#parley-form [type=submit]").click()
    notice = frame.locator(".parley-confirm-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("confirm your address")
    expect(replies_box).not_to_be_checked()  # the next comment asks afresh

    # The server's own sender delivers the confirmation: nobody runs a worker here.
    confirmation = widget.mail.wait_for(1)[0]
    assert confirmation["To"] == "grace@example.org"
    confirm_url = next(url for url in links(confirmation) if "/mail/confirm/" in url)
    reader = browser.new_page()
    reader.goto(confirm_url)
    reader.get_by_role("button", name="Confirm my address").click()
    expect(reader.get_by_role("heading", name="Address confirmed")).to_be_visible()
    reader.screenshot(path=str(artifacts / "mail-confirmed.png"), full_page=True)

    grace = widget.thread()["comments"][0]["id"]
    widget.comment("Yes: me!", name="Ada", parent=grace)
    reply = widget.mail.wait_for(2)[1]
    assert reply["To"] == "grace@example.org" and "Yes: me!" in text_of(reply)
    assert f"{widget.page_url}#comment-" in text_of(reply)
    page.close()
    reader.close()
