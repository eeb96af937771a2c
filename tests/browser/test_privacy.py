"""A logged-in reader takes their data out of the cross-origin comment frame, then deletes it, in Chromium."""
import json

import pytest
from playwright.sync_api import expect

from browser.test_login import _log_in_through_popup, _serving
from widget.extensions import db
from widget.models import User

pytestmark = pytest.mark.browser


@pytest.fixture
def login_widget(make_app):
    with _serving(make_app) as (world, _):
        yield world


def _post(frame, body):
    frame.locator("#parley-comment").fill(body)
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("li.comment .comment-content", has_text=body)).to_be_visible()


def test_a_reader_downloads_their_data_and_deletes_their_account_from_the_widget(login_widget, page, artifacts):
    login_widget.site()
    others = login_widget.comment("A guest was here first.", name="Bob")[0]
    frame = login_widget.open(page)
    expect(frame.locator(".privacy-guest")).to_contain_text("ask the site's owner")
    popup = _log_in_through_popup(page, frame, name="Grace Hopper")
    expect(frame.locator(".logged-in-text")).to_contain_text("Grace Hopper")
    if not popup.is_closed():
        popup.close()
    expect(frame.locator(".privacy-guest")).to_be_hidden()
    _post(frame, "Grace starts a conversation.")
    _post(frame, "Grace, with nobody answering.")
    first, alone = (c["id"] for c in login_widget.thread()["comments"][1:])
    login_widget.comment("Bob answers Grace.", name="Bob", parent=first)

    toggle = frame.get_by_role("button", name="Your data")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(frame.locator(".your-data")).to_contain_text("every site that uses it")
    with page.expect_download() as downloaded:
        frame.get_by_role("button", name="Download my data").click()
    download = downloaded.value
    assert download.suggested_filename == "my-comments-data.json"
    with open(download.path(), encoding="utf-8") as saved:
        data = json.load(saved)
    assert data["account"]["display_name"] == "Grace Hopper" and data["account"]["provider"] == "testid"
    assert sorted(c["body"] for c in data["comments"]) == ["Grace starts a conversation.",
                                                           "Grace, with nobody answering."]
    assert "A guest was here first." not in json.dumps(data)

    frame.get_by_role("button", name="Delete my comments and account").click()
    question = frame.locator(".your-data .comment-delete-confirm")
    expect(question).to_contain_text("stay as “deleted” placeholders")
    frame.locator("#respond").screenshot(path=artifacts / "widget-your-data-delete.png")
    frame.get_by_role("button", name="Yes, delete").click()

    # Logged out, and the thread drawn again as everyone now sees it.
    expect(frame.locator(".login-providers")).to_be_visible()
    expect(frame.locator(".your-data")).to_be_hidden()
    expect(frame.locator("#parley-status")).to_have_text("Your comments and your account were deleted.")
    expect(frame.locator(f"#comment-{alone}")).to_have_count(0)
    placeholder = frame.locator(f"#comment-{first}")
    expect(placeholder.locator(":scope > .comment-body")).to_have_text("This comment was deleted.")
    expect(placeholder.locator("li.comment .comment-content")).to_have_text("Bob answers Grace.")
    expect(frame.locator(f"#comment-{others} .comment-author")).to_have_text("Bob")
    expect(frame.locator(".comments-title")).to_have_text("2 Comments")
    for gone in ("Grace Hopper", "Grace starts", "nobody answering"):
        expect(frame.locator("body")).not_to_contain_text(gone, use_inner_text=True)
    with login_widget.app.app_context():
        assert db.session.scalar(db.select(User).where(User.display_name == "Grace Hopper")) is None
