"""Social login from the cross-origin comment frame, end to end, in Chromium against a real OpenID provider.

The provider (tests/oidc_provider.py) runs on loopback; nothing in Parley or Authlib is patched.
"""
import hashlib
import secrets
import time
from contextlib import contextmanager

import pytest
import requests
from oidc_provider import LoopbackProvider
from playwright.sync_api import expect

from browser.conftest import HostPages, LiveServer, Widget

pytestmark = pytest.mark.browser


def _login_widget(make_app, provider):
    app = make_app(SERVER_NAME=None, TESTID_CLIENT_ID=provider.client_id,
                   TESTID_CLIENT_SECRET=provider.client_secret, TESTID_ISSUER=provider.issuer,
                   TESTID_LABEL="Test ID")
    pages = HostPages()
    server = LiveServer(app, "127.0.0.1", "localhost")
    host = LiveServer(pages, "127.0.0.1", "127.0.0.1")
    provider.redirect_uris.append(f"{server.url}/auth/callback/testid")
    return Widget(app, server, host, pages)


@contextmanager
def _serving(make_app, opener_policy=False, remembered_user=None):
    """A provider, and a comment server with a host page that log in through it, for one test."""
    with LoopbackProvider(opener_policy=opener_policy) as provider:
        provider.remembered_user = remembered_user
        world = _login_widget(make_app, provider)
        try:
            yield world, provider
        finally:
            world.server.stop()
            world.host.stop()


@pytest.fixture(params=[False, True], ids=["opener-kept", "opener-severed-by-coop"])
def served(make_app, request):
    with _serving(make_app, opener_policy=request.param) as both:
        yield both


@pytest.fixture
def login_widget(served):
    return served[0]


@pytest.fixture
def provider(served):
    return served[1]


@pytest.fixture
def severed_login_widget(make_app):
    """The provider sends Cross-Origin-Opener-Policy, so the popup always loses its opener."""
    with _serving(make_app, opener_policy=True) as (world, _):
        yield world


@pytest.fixture
def remembering_login_widget(make_app):
    """The reader is logged in at the provider already: it shows no page and sends them straight back."""
    with _serving(make_app, remembered_user={"sub": "victim", "name": "Victim"}) as (world, _):
        yield world


def _log_in_through_popup(page, frame, name="Grace Hopper", action="login"):
    with page.expect_popup() as opened:
        frame.get_by_role("button", name="Log in with Test ID").click()
    popup = opened.value
    popup.wait_for_url("**/authorize?**")
    popup.locator("input[name=name]").fill(name)
    popup.locator(f"#{action}").click()
    return popup


def _type_pairing_code(window, frame):
    """What a reader does when the login window could not reach the page: copy its code into the form."""
    expect(window.locator("h1")).to_have_text("You are logged in")
    code = window.locator(".pairing-code").inner_text()
    expect(frame.locator(".login-pairing")).to_be_visible()
    frame.locator(".login-pairing-code").fill(code.lower())
    frame.locator(".login-pairing-code").press("Enter")
    window.close()


def test_reader_logs_in_comments_reloads_and_logs_out(login_widget, provider, real_chrome):
    """The whole story in a reader's Chromium: third-party cookies blocked, the frame's storage partitioned."""
    login_widget.site()
    page = real_chrome.contexts[0].new_page()
    page.set_default_timeout(15_000)
    try:
        frame = login_widget.open(page)
        expect(frame.locator(".login-intro")).to_have_text("Fill in your details below or click an icon to log in:")
        popup = _log_in_through_popup(page, frame)
        if provider.opener_policy:
            # The provider cut the popup off from the frame: the reader carries its code across.
            _type_pairing_code(popup, frame)
        expect(frame.locator(".logged-in-text")).to_have_text(
            "Grace Hopper: you are commenting using your Test ID account.")
        expect(frame.locator(".guest-details")).to_be_hidden()

        frame.locator("#parley-comment").fill("Posted as myself, no name or email typed.")
        frame.locator("#parley-form [type=submit]").click()
        mine = frame.locator("li.comment").first
        expect(mine.locator(".comment-author")).to_have_text("Grace Hopper")
        expect(mine.locator("[data-action=edit]")).to_be_visible()
        assert login_widget.thread()["comments"][0]["author"]["provider"] == "testid"

        page.reload()
        frame = page.frame_locator("iframe.parley-frame")
        frame.locator("html.is-live").wait_for(state="attached")
        expect(frame.locator(".logged-in-text")).to_contain_text("Test ID account")
        frame.locator("li.comment [data-action=edit]").click()
        expect(frame.locator(".comment-edit textarea")).to_have_value("Posted as myself, no name or email typed.")
        frame.locator(".comment-edit textarea").fill("Edited after a reload, with my login alone.")
        frame.locator(".comment-edit [type=submit]").click()
        expect(frame.locator(".comment-content")).to_have_text("Edited after a reload, with my login alone.")

        frame.get_by_role("button", name="Log Out").click()
        expect(frame.locator(".login-providers")).to_be_visible()
        expect(frame.locator(".guest-details")).to_be_visible()
        expect(frame.locator("li.comment [data-action=edit]")).to_have_count(0)
        page.reload()
        frame = page.frame_locator("iframe.parley-frame")
        frame.locator("html.is-live").wait_for(state="attached")
        expect(frame.locator(".logged-in")).to_be_hidden()
    finally:
        page.close()


def test_login_works_where_the_frame_may_not_store_anything(login_widget, provider, page, artifacts):
    """Playwright's own launch refuses the third-party frame any storage: the login lives in memory."""
    login_widget.site()
    frame = login_widget.open(page)
    frame.locator("#respond").screenshot(path=artifacts / "widget-login-choices.png")
    popup = _log_in_through_popup(page, frame, name="Ada Lovelace")
    if provider.opener_policy:
        expect(frame.locator(".login-pairing")).to_be_visible()
        frame.locator("#respond").screenshot(path=artifacts / "widget-login-pairing.png")
        popup.screenshot(path=artifacts / "login-popup-pairing-code.png")
        _type_pairing_code(popup, frame)
    expect(frame.locator(".logged-in-text")).to_contain_text("Ada Lovelace")
    frame.locator("#respond").screenshot(path=artifacts / "widget-logged-in.png")
    if not popup.is_closed():
        popup.close()
    frame.locator("#parley-comment").fill("Logged in for this page only.")
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("li.comment .comment-author")).to_have_text("Ada Lovelace")


def test_cancelled_login_is_said_in_words_in_the_widget(login_widget, provider, page):
    login_widget.site()
    frame = login_widget.open(page)
    frame.locator("#parley-comment").fill("Words I do not want to lose.")
    popup = _log_in_through_popup(page, frame, action="deny")
    expect(frame.locator("#parley-form-error")).to_have_text("You cancelled the login.")
    expect(frame.locator("#parley-comment")).to_have_value("Words I do not want to lose.")
    expect(frame.locator(".login-providers")).to_be_visible()
    if not popup.is_closed():
        expect(popup.locator(".problem")).to_have_text("You cancelled the login.")
        popup.close()


def _usable_again_within(frame, seconds):
    """The login buttons take a click again and the "finish logging in" line is gone, within `seconds`."""
    button = frame.get_by_role("button", name="Log in with Test ID")
    started = time.monotonic()
    expect(frame.locator(".login-waiting")).to_be_hidden(timeout=seconds * 1000)
    expect(button).not_to_have_attribute("aria-disabled", "true", timeout=seconds * 1000)
    return time.monotonic() - started


def test_closing_the_login_window_ends_the_wait_at_once(login_widget, provider, page):
    login_widget.site()
    frame = login_widget.open(page)
    with page.expect_popup() as opened:
        frame.get_by_role("button", name="Log in with Test ID").click()
    popup = opened.value
    popup.wait_for_url("**/authorize?**")
    if not provider.opener_policy:
        expect(frame.locator(".login-waiting")).to_be_visible()
    popup.close()
    assert _usable_again_within(frame, 2) < 2
    expect(frame.locator("#parley-form-error")).to_be_hidden()
    # The reader tries again at once, and this time logs in.
    popup = _log_in_through_popup(page, frame, name="Second Try")
    if provider.opener_policy:
        _type_pairing_code(popup, frame)
    expect(frame.locator(".logged-in-text")).to_contain_text("Second Try")


def test_cancel_closes_the_login_window_and_ends_the_wait(make_app, page):
    with _serving(make_app) as (login_widget, _):
        _cancel_closes_the_login_window(login_widget, page)


def _cancel_closes_the_login_window(login_widget, page):
    login_widget.site()
    frame = login_widget.open(page)
    with page.expect_popup() as opened:
        frame.get_by_role("button", name="Log in with Test ID").click()
    popup = opened.value
    popup.wait_for_url("**/authorize?**")
    frame.locator(".login-waiting").get_by_role("button", name="Cancel").click()
    assert _usable_again_within(frame, 2) < 2
    deadline = time.monotonic() + 2
    while not popup.is_closed() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert popup.is_closed()


def test_blocked_popup_gets_a_link_that_finishes_the_login(login_widget, provider, page):
    login_widget.site()
    # As a popup blocker does: window.open gives nothing back.
    page.add_init_script("window.open = () => null;")
    frame = login_widget.open(page)
    frame.get_by_role("button", name="Log in with Test ID").click()
    link = frame.get_by_role("link", name="Open the login page")
    expect(link).to_be_visible()
    with page.context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.locator("input[name=name]").fill("Linus")
    tab.locator("#login").click()
    # A link opens the tab without an opener: the reader types the code the tab shows.
    _type_pairing_code(tab, frame)
    expect(frame.locator(".logged-in-text")).to_contain_text("Linus")


def test_wrong_pairing_code_is_said_in_words_and_can_be_corrected(severed_login_widget, page):
    severed_login_widget.site()
    frame = severed_login_widget.open(page)
    popup = _log_in_through_popup(page, frame, name="Grace Hopper")
    expect(frame.locator(".login-pairing")).to_be_visible()
    frame.locator(".login-pairing-code").fill("BBBB-BBBB")
    frame.get_by_role("button", name="Finish logging in").click()
    expect(frame.locator("#parley-pairing-error")).to_have_text(
        "That is not the code the login window shows. Check it and try again.")
    expect(frame.locator(".login-pairing-code")).to_have_attribute("aria-invalid", "true")
    _type_pairing_code(popup, frame)
    expect(frame.locator(".logged-in-text")).to_contain_text("Grace Hopper")
    expect(frame.locator(".login-pairing")).to_be_hidden()


ATTACKER_PAGE = """<!doctype html><title>Win a prize</title>
<script>
window.received = [];
window.addEventListener("message", (event) => window.received.push(event.data));
function lure(url) { window.victim = window.open(url, "_blank", "popup"); }
</script>"""


def test_login_fixation_from_another_site_yields_nothing(remembering_login_widget, page):
    """An attacker's page opens a login link with the hash of its own secret for a reader the provider remembers."""
    login_widget = remembering_login_widget
    login_widget.site()
    login_widget.pages["/prize"] = ATTACKER_PAGE
    page.goto(f"{login_widget.host.url}/prize")
    secret = secrets.token_urlsafe(32)
    link = f"{login_widget.server.url}/auth/login/testid?site=blog&s={hashlib.sha256(secret.encode()).hexdigest()}"
    with page.expect_popup() as opened:
        page.evaluate("(url) => lure(url)", link)
    window = opened.value
    # The login finished in the victim's browser; its window posted the code to this server's
    # own origin only, and closed. The attacker's page, its opener, received nothing.
    if not window.is_closed():
        window.wait_for_event("close")
    assert login_widget.server.paths("/auth/callback/testid")
    page.wait_for_timeout(300)
    assert page.evaluate("window.received") == []
    exchange = f"{login_widget.server.url}/api/v1/auth/exchange"
    answer = requests.post(exchange, json={"secret": secret}, timeout=10)
    assert answer.status_code == 202 and answer.json() == {"status": "pairing"}


def test_site_that_takes_only_logged_in_readers_shows_no_guest_fields(login_widget, provider, page):
    login_widget.site(guests_allowed="no")
    frame = login_widget.open(page)
    expect(frame.locator(".login-intro")).to_have_text("Log in to comment:")
    expect(frame.locator("#parley-name")).to_have_count(0)
    frame.locator("#parley-comment").fill("Trying without logging in.")
    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("#parley-form-error")).to_have_text("Please log in to comment.")


def test_host_page_cannot_take_over_the_login_window_by_its_name(login_widget, provider, page):
    """The host page opens a window by the login popup's name to steer it to a look-alike login page."""
    login_widget.site()
    frame = login_widget.open(page)
    with page.expect_popup() as opened:
        frame.get_by_role("button", name="Log in with Test ID").click()
    login_window = opened.value
    login_window.wait_for_url("**/authorize?**")
    phishing = f"{login_widget.host.url}/phishing"
    login_widget.pages["/phishing"] = "<!doctype html><title>Log in</title><p>Type your password here"
    # A name lookup that finds the login window returns it, and the host page navigates it; otherwise
    # window.open makes a new window of that name, which gets the page instead.
    page.evaluate("""(url) => { window.open("", "parley-login").location.href = url; }""", phishing)
    deadline = time.monotonic() + 10
    while not any(p.url == phishing for p in page.context.pages) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert any(p.url == phishing for p in page.context.pages), "the host page's window never opened"
    assert "/authorize?" in login_window.url
    expect(login_window.locator("input[name=name]")).to_be_visible()
