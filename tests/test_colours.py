"""The contrast arithmetic behind a site's accent colour (widget/colours.py), edge by edge."""
import pytest

from widget.colours import SCHEME_PARTNERS, contrast, parse_colour, readable_accent, scheme_accents, to_hex

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
