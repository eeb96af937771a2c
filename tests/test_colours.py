"""The contrast arithmetic behind a site's accent colour (widget/colours.py), edge by edge."""
import pytest

from widget.colours import (
    SCHEME_PARTNERS,
    contrast,
    parse_colour,
    parse_computed_colour,
    readable_accent,
    scheme_accents,
    theme_for_page,
    to_hex,
)

WHITE, BLACK = (255, 255, 255), (0, 0, 0)


@pytest.mark.parametrize("text, expected", [
    ("#fc0", (255, 204, 0)),
    ("#FFCC00", (255, 204, 0)),
    ("#ffcc0080", (255, 204, 0)),
    ("rgb(255, 204, 0)", (255, 204, 0)),
    ("rgb(100% 80% 0% / .5)", (255, 204, 0)),
    ("rgba(255,204,0,0.5)", (255, 204, 0)),
    ("hsl(48, 100%, 50%)", (255, 204, 0)),
    ("hsl(48deg 100% 50%)", (255, 204, 0)),
    ("gold", (255, 215, 0)),
    ("Navy", (0, 0, 128)),
    ("rgb(300, -4, 0)", (255, 0, 0)),
])
def test_parse_colour(text, expected):
    assert tuple(round(c) for c in parse_colour(text)) == expected


@pytest.mark.parametrize("text", ["", "#ggg", "#12345", "banana", "rgb(1, 2)", "hsl(a b c)", "url(x)", "transparent"])
def test_parse_colour_refuses(text):
    assert parse_colour(text) is None


def test_contrast_matches_wcag():
    assert contrast(WHITE, BLACK) == pytest.approx(21)
    assert contrast(WHITE, WHITE) == pytest.approx(1)
    assert contrast((118, 118, 118), WHITE) == pytest.approx(4.54, abs=0.01)  # the lightest grey that passes


def test_a_readable_accent_is_kept_as_it_is():
    assert readable_accent((34, 113, 177), SCHEME_PARTNERS["light"]) == (34, 113, 177)


@pytest.mark.parametrize("accent, scheme", [
    ((255, 255, 153), "light"),  # pale yellow on white
    ((26, 26, 64), "dark"),  # very dark blue on the dark scheme
    ((255, 255, 255), "light"),
    ((0, 0, 0), "dark"),
])
def test_an_unreadable_accent_moves_until_it_reads_against_every_partner(accent, scheme):
    moved = readable_accent(accent, SCHEME_PARTNERS[scheme])
    assert moved != accent
    assert min(contrast(moved, p) for p in SCHEME_PARTNERS[scheme]) >= 4.5
    # Only as far as needed: one step back would not read.
    assert min(contrast(moved, p) for p in SCHEME_PARTNERS[scheme]) < 4.9


def test_a_hue_survives_the_move():
    red, green, blue = readable_accent((255, 255, 153), SCHEME_PARTNERS["light"])
    assert red == green > blue  # still a yellow, darkened


def test_where_no_shade_reads_the_closest_is_given():
    # Against black and white at once, 4.5:1 with both is out of reach for most hues.
    moved = readable_accent((255, 0, 0), [WHITE, BLACK, (118, 118, 118)])
    assert min(contrast(moved, p) for p in [WHITE, BLACK, (118, 118, 118)]) >= min(
        contrast((255, 0, 0), p) for p in [WHITE, BLACK, (118, 118, 118)])


def test_scheme_accents():
    assert scheme_accents(None, None, None) is None
    assert scheme_accents("nonsense", None, None) is None
    light, dark = scheme_accents("#ffff99", "#1a1a40", None)
    assert contrast(parse_colour(light), WHITE) >= 4.5
    assert contrast(parse_colour(dark), SCHEME_PARTNERS["dark"][0]) >= 4.5
    assert to_hex((34.4, 113, 177)) == "#2271b1"


# What a host page paints behind the comments, as browsers write computed colours ---------------------

@pytest.mark.parametrize("text, expected", [
    ("rgb(27, 27, 27)", (27, 27, 27, 1)),
    ("rgba(0, 0, 0, 0.85)", (0, 0, 0, 0.85)),
    ("rgb(0 0 0 / 50%)", (0, 0, 0, 0.5)),
    ("color(srgb 0.1 0.2 0.3)", (26, 51, 76, 1)),
    ("color(srgb-linear 0.5 0.5 0.5)", (188, 188, 188, 1)),
    ("color(display-p3 1 1 1 / 0.5)", (255, 255, 255, 0.5)),
    ("oklch(0.98 0 0)", (248, 248, 248, 1)),  # Tailwind's neutral-50
    ("oklch(0.205 0 0)", (23, 23, 23, 1)),  # Tailwind's neutral-900
    ("oklab(0.627955 0.224863 0.125846)", (255, 0, 0, 1)),  # red
    ("lab(54.29 80.82 69.89)", (255, 0, 0, 1)),  # red: CSS's Lab is under D50
    ("lch(20 0 none)", (48, 48, 48, 1)),
    ("color(xyz-d65 0.5 0.5 0.5)", (204, 183, 180, 1)),
])
def test_parse_computed_colour(text, expected):
    red, green, blue, alpha = parse_computed_colour(text)
    assert (round(red), round(green), round(blue), round(alpha, 2)) == expected


@pytest.mark.parametrize("text", ["", "transparent", "#123", "rgb(1, 2)", "rgb(nan, 1, 1)", "rgb(1e999, 1, 1)",
                                  "color(rec2020 1 1 1)", "oklch(0.5 0.1)", "url(x)", "rgb(" + "1 " * 200 + ")"])
def test_parse_computed_colour_refuses(text):
    assert parse_computed_colour(text) is None


@pytest.mark.parametrize("declared, behind, own, expected", [
    ("light", "", None, "light"),  # nothing painted: the page's own scheme
    ("dark", "", None, "dark"),
    ("auto", "|", None, "auto"),
    ("light", "rgb(27, 27, 27)|", None, "dark"),  # a dark blog that declares no color-scheme
    ("light", "rgb(245, 240, 225)|", None, "light"),  # a beige one
    ("light", "rgb(51, 102, 153)|", None, "dark"),  # the light theme's text reads at 3:1 on it
    ("light", "rgba(0, 0, 0, 0.85)|rgb(255, 255, 255)|", None, "dark"),  # a dark section on a white page
    ("light", "rgba(0, 0, 0, 0.2)|", None, "light"),  # a faint shade over the white canvas
    ("dark", "rgba(255, 255, 255, 0.05)|", None, "dark"),  # ... and over a dark one
    ("light", "rgb(255, 255, 255)|rgb(0, 0, 0)|", None, "light"),  # the innermost opaque colour wins
    ("light", "text rgb(238, 238, 238)|", None, "dark"),  # light text over a picture
    ("light", "text rgb(51, 51, 51)|", None, "light"),
    ("light", "rgb(250, 250, 250)|text rgb(238, 238, 238)", None, "light"),  # the picture is covered
    ("light", "", "#1b1b1b", "dark"),  # the site's own --parley-background
    ("light", "oklch(0.205 0 0)|", None, "dark"),
    ("light", "banana|rgb(20, 20, 20)|", None, "dark"),  # what cannot be read is passed over
])
def test_theme_for_page(declared, behind, own, expected):
    assert theme_for_page(declared, behind, own) == expected
