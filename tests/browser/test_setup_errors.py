"""Set-up mistakes seen in a real browser: the host page says in words why its comments cannot show."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def console_errors(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def test_a_page_on_an_origin_the_site_does_not_list_says_so_and_how_to_fix_it(widget, page):
    # The site lists the host's origin by another name: the commonest mistake.
    widget.site(origins=[widget.host.url.replace("127.0.0.1", "localhost")])
    errors = console_errors(page)
    page.goto(widget.serve())

    line = f"Comments can't load here: {widget.host.url} is not an allowed origin of site blog."
    expect(page.locator("#parley-thread")).to_have_text(line, timeout=10_000)
    assert page.locator("iframe.parley-frame").evaluate("f => f.getBoundingClientRect().height") == 0
    assert any(f"add {widget.host.url} to the site's allowed origins" in error for error in errors), errors

    # The owner sees it in the dashboard and allows it in one click; the next visit shows the comments.
    with widget.app.app_context():
        from widget import sites
        site = sites.get_site("blog")
        assert [(r.origin, r.times) for r in sites.refused_origins(site)] == [(widget.host.url, 1)]
        sites.allow_refused_origin(None, site, widget.host.url)
    frame = widget.open(page)
    expect(frame.locator("#parley-title")).to_be_visible()
    expect(page.locator("#parley-thread")).not_to_contain_text("can't load")


def test_an_unknown_site_id_says_so_on_the_page(widget, page):
    widget.site()
    errors = console_errors(page)
    page.goto(widget.serve(site="blgo"))

    expect(page.locator("#parley-thread")).to_have_text(
        f"Comments can't load here: {widget.server.url} has no site blgo.", timeout=10_000)
    assert any("data-parley-site" in error for error in errors), errors


def test_a_comment_server_that_cannot_be_reached_says_so_on_the_page(widget, page):
    widget.site()
    url = widget.serve()
    frame = widget.open(page)
    expect(frame.locator("#parley-title")).to_be_visible()

    # The loader stays in the browser's cache (an hour), as it does for readers, while the server goes away.
    widget.server.stop()
    errors = console_errors(page)
    page.goto(url)
    line = f"Comments can't load here: {widget.server.url} can't be reached."
    expect(page.locator("#parley-thread")).to_have_text(line, timeout=10_000)
    assert line in errors


def test_a_working_widget_shows_no_set_up_error_and_asks_nothing(widget, page):
    widget.site()
    widget.comment("All fine here.")
    frame = widget.open(page)
    expect(frame.locator("#parley-title")).to_have_text("1 Comment")
    page.wait_for_timeout(2500)  # past the loader's wait after the frame loaded
    expect(page.locator("#parley-thread")).not_to_contain_text("can't load")
    assert widget.server.paths("/api/v1/embed-check") == []
