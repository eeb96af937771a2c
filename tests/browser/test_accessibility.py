"""axe-core finds no WCAG 2.2 AA violation on any page a reader or a moderator sees, in light and dark."""

import pytest
from playwright.sync_api import expect

from browser.axe import violations
from tests.dashboard_helpers import PASSWORD, create_admin, invitation_link, logged_in

pytestmark = pytest.mark.browser

THEMES = ["light", "dark"]


def _conversation(widget):
    first, _ = widget.comment("A first comment, with a [link](https://example.org) and `code`.",
                              name="Ada", website="https://ada.example.org")
    widget.comment("> Quoted\n\nA reply under Ada's comment.", name="Bob", parent=first)
    widget.like(first, 2)
    return first


def _open(widget, page, theme, **options):
    """The host page in the theme's own colours, with the widget asked for that theme."""
    body = "background: #1d2327; color: #e8e8e8;" if theme == "dark" else ""
    frame = widget.open(page, container=f' data-parley-theme="{theme}"', body_style=body, **options)
    return frame, next(f for f in page.frames if "/embed/thread" in f.url)


def _no_violations(where, found):
    assert found == [], f"{where}:\n" + "\n".join(found)


@pytest.mark.parametrize("theme", THEMES)
def test_widget_with_a_thread_a_reply_form_and_an_error(widget, page, theme):
    widget.site()
    first = _conversation(widget)
    frame, inner = _open(widget, page, theme)
    expect(frame.locator("li.comment")).to_have_count(2)
    _no_violations(f"{theme}: a thread and the form", violations(inner))

    frame.locator(f"#comment-{first} > .comment-body [data-action=reply]").click()
    expect(frame.locator(f"#comment-{first} #respond")).to_be_visible()
    _no_violations(f"{theme}: the reply form open", violations(inner))

    frame.locator("#parley-form [type=submit]").click()
    expect(frame.locator("#parley-form-error")).to_be_visible()
    _no_violations(f"{theme}: an error shown", violations(inner))


@pytest.mark.parametrize("theme", THEMES)
def test_widget_of_an_empty_closed_thread(widget, page, theme):
    widget.site(guests_allowed="false")
    frame, inner = _open(widget, page, theme)
    expect(frame.locator(".no-comments")).to_be_visible()
    _no_violations(f"{theme}: no comments, no form", violations(inner))


@pytest.mark.parametrize("scheme", THEMES)
def test_the_page_that_says_why_comments_cannot_load(widget, browser, scheme):
    widget.site()
    context = browser.new_context(locale="en-US", color_scheme=scheme)
    page = context.new_page()
    response = page.goto(f"{widget.server.url}/embed/thread?site=no-such-site&url={widget.page_url}")
    assert response.status == 404
    _no_violations(f"{scheme}: the refusal page", violations(page.main_frame))
    context.close()


def test_the_checker_finds_what_it_should(widget, page):
    """A control: grey-on-grey text and an unlabelled image on the host page are reported."""
    widget.site()
    widget.open(page, before='<p style="color: #bbb; background: #ccc">Faint words</p><img src="/x.png">')
    found = " ".join(violations(page.main_frame))
    assert "color-contrast" in found and "image-alt" in found


def _dashboard_world(widget):
    """An administrator, a site with approved, pending and spam comments, and an open invitation."""
    create_admin(widget.runner, "owner@example.com", name="Olivia Owner")
    widget.site()
    first = _conversation(widget)
    widget.cli("site", "set", "blog", "blocked_words", "casino")
    widget.comment("Cheap casino chips here", name="Spammer")
    widget.cli("site", "set", "blog", "moderation", "all")
    widget.comment("Waiting for a moderator to look.", name="Newcomer")
    invitation = invitation_link(logged_in(widget.app, "owner@example.com"), "blog")
    return first, invitation


def _dashboard_pages(first):
    site = "/dashboard/sites/blog"
    return ["/dashboard/sites", "/dashboard/sites/new", site, f"{site}/settings", f"{site}/members",
            f"{site}/audit", f"{site}/webhooks", f"{site}/import", f"{site}/queue", f"{site}/comments",
            f"{site}/comments?status=spam", f"{site}/comments/{first}/edit", f"{site}/comments/{first}/reply",
            f"{site}/threads", f"{site}/people", f"{site}/people/{first}", f"{site}/bans", "/dashboard/readers",
            "/dashboard/readers?email=ada%40example.org", "/dashboard/account"]


@pytest.mark.parametrize("scheme", THEMES)
def test_every_dashboard_page(widget, browser, scheme):
    first, invitation = _dashboard_world(widget)
    server = widget.server.url
    context = browser.new_context(locale="en-US", color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{server}{invitation}")
    _no_violations(f"{scheme}: the invitation", violations(page.main_frame))
    page.goto(f"{server}/dashboard/login")
    _no_violations(f"{scheme}: the login page", violations(page.main_frame))
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Test blog")).to_be_visible()
    # An origin another site has, waiting for proof: the site's page shows it, with its actions.
    widget.cli("site", "add", "elsewhere", "--name", "Elsewhere", "--origin", "https://elsewhere.example")
    widget.cli("site", "set", "blog", "origins", f"{widget.host.url} https://elsewhere.example")

    for path in _dashboard_pages(first):
        response = page.goto(f"{server}{path}")
        assert response.status == 200, path
        _no_violations(f"{scheme}: {path}", violations(page.main_frame))

    # The confirmation before a reader's data is erased.
    page.goto(f"{server}/dashboard/readers?email=ada%40example.org")
    page.get_by_role("button", name="Erase…").click()
    expect(page.get_by_role("button", name="Yes, erase")).to_be_visible()
    _no_violations(f"{scheme}: the erase confirmation", violations(page.main_frame))
    context.close()
