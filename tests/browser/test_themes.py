"""Themes on real pages: "auto" follows the host page, a site's accents stay readable, faces follow the theme."""
import base64

import pytest
from playwright.sync_api import expect

from browser.axe import violations
from browser.test_widget import widget_frame

pytestmark = pytest.mark.browser

LIGHT_TEXT, DARK_TEXT = "rgb(30, 30, 30)", "rgb(232, 232, 232)"
PHONE = {"width": 390, "height": 844}

PIXEL = """async ([data, x, y]) => {
  const image = new Image();
  image.src = "data:image/png;base64," + data;
  await image.decode();
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  return [...context.getImageData(x, y, 1, 1).data.slice(0, 3)];
}"""


def reader(browser, scheme="light", viewport=None):
    """A reader's browser whose system is set to a light or dark scheme."""
    context = browser.new_context(locale="en-US", color_scheme=scheme,
                                  viewport=viewport or {"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def drawn(frame):
    """(data-theme, body text colour) in the widget's frame: what the reader sees it draw."""
    return frame.evaluate("() => [document.documentElement.dataset.theme, getComputedStyle(document.body).color]")


@pytest.mark.parametrize("head, expected", [
    ("", ("light", LIGHT_TEXT)),  # declares nothing: the browser paints the page light, so is the widget
    ('<meta name="color-scheme" content="dark">', ("dark", DARK_TEXT)),
    ("<style>:root { color-scheme: dark; background: #111; color: #eee }</style>", ("dark", DARK_TEXT)),
    ('<meta name="color-scheme" content="light dark">', ("auto", DARK_TEXT)),  # offers both: the reader's system
])
def test_auto_follows_the_host_pages_own_scheme(widget, browser, head, expected):
    widget.site()
    context, page = reader(browser, scheme="dark")
    widget.open(page, container=' data-parley-theme="auto"', before=head)
    # A <meta> or <style> in the body still applies to the whole page, as in the <head>.
    assert drawn(widget_frame(page)) == list(expected)
    context.close()


def _contrast(first, second):
    def luminance(rgb):
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("body_style, before, after, expected", [
    ("background: #1b1b1b; color: #ddd;", "", "", "dark"),  # a dark blog that declares no color-scheme
    ("background: oklch(25% 0.02 260); color: #eee;", "", "", "dark"),
    ("background: linear-gradient(#111, #222); color: #eee;", "", "", "dark"),  # a picture: the page's text tells
    ("background: #336699; color: #fff;", "", "", "dark"),  # neither light nor dark enough for the light text
    ("", '<div style="background: rgba(0, 0, 0, .85); color: #eee; padding: 1px">', "</div>", "dark"),
    ("background: #f5f0e1; color: #333;", "", "", "light"),
    ("", "", "", "light"),
], ids=["dark-blog", "oklch", "gradient", "mid-blue", "dark-section", "beige", "plain"])
def test_the_snippet_pasted_unchanged_is_readable_on_any_page(widget, browser, body_style, before, after,
                                                              expected):
    widget.site()
    widget.comment("Readable wherever it is pasted.", name="Ada")
    context, page = reader(browser, scheme="light")
    widget.open(page, body_style=body_style, before=before, after=after)
    inner = widget_frame(page)
    expect(page.frame_locator("iframe.parley-frame").locator("html")).to_have_attribute("data-theme", expected)
    # What the reader sees: the frame's text colour against the pixel painted behind it (host and frame).
    text = [int(c) for c in inner.evaluate("() => getComputedStyle(document.body).color").strip("rgb()").split(",")]
    behind = _pixel(page, page.locator("iframe.parley-frame").screenshot(), 3, 3)
    assert _contrast(text, behind) >= 4.5, (text, behind)
    context.close()


def test_a_theme_the_site_names_wins_over_the_page(widget, browser):
    widget.site()
    context, page = reader(browser, scheme="dark")
    widget.open(page, container=' data-parley-theme="light"', body_style="background: #1b1b1b; color: #ddd;")
    assert drawn(widget_frame(page)) == ["light", LIGHT_TEXT]
    context.close()


@pytest.mark.parametrize("container, night", [
    (' data-parley-theme="auto"', "html.night { color-scheme: dark; background: #111; color: #eee }"),
    # A theme switch that changes colours alone and declares no scheme: the widget follows what is painted.
    ("", "html.night body { background: #121212; color: #ddd }"),
], ids=["declared-scheme", "colours-alone"])
def test_a_page_that_switches_its_scheme_switches_the_widget_without_a_reload(widget, browser, container, night):
    widget.site()
    context, page = reader(browser)
    frame = widget.open(page, container=container, before=f"<style>{night}</style>")
    frame.locator("#parley-comment").fill("Half a thought, typed before dark.")
    inner = widget_frame(page)
    assert drawn(inner) == ["light", LIGHT_TEXT]

    page.evaluate("() => document.documentElement.classList.add('night')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    assert drawn(inner) == ["dark", DARK_TEXT]
    # The same page, not a new one: what the reader typed is still there.
    expect(frame.locator("#parley-comment")).to_have_value("Half a thought, typed before dark.")

    page.evaluate("() => document.getElementById('parley-thread').setAttribute('data-parley-theme', 'light')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "light")
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("accent, light_shown, dark_shown", [
    ("#ffff99", "rgb(115, 115, 69)", "rgb(255, 255, 153)"),  # pale yellow: darkened where the page is light
    ("#1a1a40", "rgb(26, 26, 64)", "rgb(152, 152, 169)"),  # very dark: lightened where the page is dark
])
def test_any_accent_a_site_sets_keeps_its_contrast(widget, browser, scheme, accent, light_shown, dark_shown):
    widget.site()
    first, _ = widget.comment("A comment with a [link](https://example.org).", name="Ada")
    widget.comment("A reply.", name="Bob", parent=first)
    context, page = reader(browser, scheme=scheme)
    body = "background: #1d2327; color: #e8e8e8;" if scheme == "dark" else ""
    frame = widget.open(page, container=f' data-parley-theme="{scheme}"', body_style=body,
                        before=f"<style>#parley-thread {{ --parley-accent: {accent} }}</style>")
    submit = frame.locator("#parley-form [type=submit]")
    expect(submit).to_have_css("background-color", light_shown if scheme == "light" else dark_shown)
    frame.locator(f"#comment-{first} > .comment-body [data-action=reply]").click()
    found = violations(widget_frame(page))
    assert found == [], "\n".join(found)
    context.close()


def test_a_site_sets_its_own_dark_accent(widget, browser):
    widget.site()
    context, page = reader(browser, scheme="dark")
    style = "<style>#parley-thread { --parley-accent: #b4451f; --parley-accent-dark: #ff9966 }</style>"
    frame = widget.open(page, container=' data-parley-theme="dark"', before=style)
    expect(frame.locator("#parley-form [type=submit]")).to_have_css("background-color", "rgb(255, 153, 102)")
    page.evaluate("() => document.getElementById('parley-thread').setAttribute('data-parley-theme', 'light')")
    expect(frame.locator("#parley-form [type=submit]")).to_have_css("background-color", "rgb(180, 69, 31)")
    context.close()


def _pixel(page, png, x, y):
    return page.evaluate(PIXEL, [base64.b64encode(png).decode(), x, y])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_widget_has_inner_padding_and_faces_follow_the_theme(widget, browser, theme):
    widget.site()
    widget.comment("A comment from a guest, with a generated face.", name="Ada")
    context, page = reader(browser, scheme=theme)
    frame = widget.open(page, container=f' data-parley-theme="{theme}"')
    inner = widget_frame(page)
    # The heading and the avatar keep clear of the frame's edges, where a dark theme paints its background.
    left = inner.evaluate("() => document.getElementById('parley-title').getBoundingClientRect().left")
    top = inner.evaluate("() => document.getElementById('parley-title').getBoundingClientRect().top")
    assert left >= 12 and top >= 8

    # The face's margin (the grid's outer column has no cells) shows the theme's panel, faintly tinted.
    face = frame.locator("li.comment .avatar").first
    expect(face).to_be_visible()
    red, green, blue = _pixel(page, face.screenshot(), 4, 24)
    brightness = (red + green + blue) / 3
    assert (brightness > 180) if theme == "light" else (brightness < 90), (theme, red, green, blue)
    context.close()


def test_the_demo_page_fits_a_phone(widget, browser):
    context = browser.new_context(locale="en-US", viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{widget.server.url}/demo")
    page.frame_locator("iframe.parley-frame").locator("html.is-live").wait_for(state="attached")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the demo page is {width}px wide on a {PHONE['width']}px phone"
    context.close()


def _fits(page, what):
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} is {overflow}px wider than the screen"


# Fields side by side in the settings' two-column grids: each row's inputs share a top and a height.
MISALIGNED = """() => {
  const rows = new Map();
  for (const input of document.querySelectorAll(".grid-fields > label > :is(input, textarea, select)")) {
    const box = input.getBoundingClientRect(), row = Math.round(input.parentElement.getBoundingClientRect().top);
    rows.set(row, [...(rows.get(row) || []), [input.name, Math.round(box.top), Math.round(box.height)]]);
  }
  return [...rows.values()].filter((row) => new Set(row.map(([, top, height]) => top + "/" + height)).size > 1);
}"""


def _misaligned_fields(page):
    return page.evaluate(MISALIGNED)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_widget_and_the_dashboard(widget, browser, artifacts, scheme):
    """Light and dark, on a desktop and on a 390-pixel phone: saved for people to look at."""
    from tests.dashboard_helpers import PASSWORD, create_admin

    create_admin(widget.runner, "owner@example.com", name="Olivia Owner")
    widget.site()
    first, _ = widget.comment("Dark mode finally looks right on my blog. **Thank you!**", name="Ada",
                              website="https://ada.example.org")
    widget.comment("> finally\n\nIt follows the page now, not just the system.", name="Bob", parent=first)
    widget.like(first, 3)
    widget.cli("site", "set", "blog", "moderation", "all")
    widget.comment("A comment waiting for review.", name="Newcomer")
    body = "background: #1d2327; color: #e8e8e8;" if scheme == "dark" else ""
    for device, viewport in (("desktop", {"width": 1000, "height": 1400}), ("phone", PHONE)):
        # Tall enough that Chrome paints the whole cross-origin frame into the full-page screenshot.
        context, page = reader(browser, scheme=scheme, viewport={**viewport, "height": 2000})
        frame = widget.open(page, container=f' data-parley-theme="{scheme}"', body_style=body)
        expect(frame.locator("li.comment").first).to_be_visible()
        _fits(page, f"the host page with the {scheme} widget")
        page.screenshot(path=str(artifacts / f"widget-{scheme}-{device}.png"), full_page=True)
        context.close()

        context, page = reader(browser, scheme=scheme, viewport=viewport)
        page.goto(f"{widget.server.url}/dashboard/login")
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Test blog")).to_be_visible()
        for name, path in (("overview", ""), ("queue", "/queue"), ("settings", "/settings")):
            page.goto(f"{widget.server.url}/dashboard/sites/blog{path}")
            _fits(page, f"the {scheme} dashboard's {name}")
            if name == "settings" and device == "desktop":
                assert _misaligned_fields(page) == []
            page.screenshot(path=str(artifacts / f"dashboard-{name}-{scheme}-{device}.png"), full_page=True)
        context.close()
