"""Colours a site sets for its widget, measured as WCAG does, and moved where they can be read.

A site picks its accent for its own page; the widget puts text on it (buttons, badges) and puts it
on its own backgrounds (links, reply and like buttons), in a light and a dark scheme. An accent
that reads badly in a scheme is darkened or lightened, keeping its hue, until it reads. Pure
functions: no Flask, no database.
"""
import re

import webcolors

Rgb = tuple[float, float, float]

# WCAG 2's minimum contrast for normal text (1.4.3, level AA).
TEXT_CONTRAST = 4.5
# What the widget puts the accent against in each scheme, and the text it writes on the accent:
# in light, white pages, soft grey panels and white button text; in dark, the dark page and fields,
# whose colours are also the text on dark-scheme buttons and badges (see static/widget/thread.css).
SCHEME_PARTNERS: dict[str, tuple[Rgb, ...]] = {
    "light": ((255, 255, 255), (246, 247, 247)),
    "dark": ((29, 35, 39), (44, 51, 56)),
}
# The widget's own accents (thread.css), for a scheme the site set no accent for.
DEFAULT_ACCENTS: dict[str, Rgb] = {"light": (34, 113, 177), "dark": (114, 174, 230)}
_HEX = re.compile(r"#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")
_FUNCTION = re.compile(r"(rgba?|hsla?)\(([^()]*)\)")


def _channel(text, scale):
    """One number of rgb() or hsl(): a percentage of `scale`, or a plain number."""
    if text.endswith("%"):
        return float(text[:-1]) * scale / 100
    return float(text.removesuffix("deg"))


def _hsl_to_rgb(hue, saturation, lightness):
    s, light = saturation / 100, lightness / 100
    a = s * min(light, 1 - light)

    def f(n):
        k = (n + hue / 30) % 12
        return 255 * (light - a * max(-1, min(k - 3, 9 - k, 1)))
    return (f(0), f(8), f(4))


def parse_colour(text: str) -> Rgb | None:
    """A CSS colour (#hex, rgb(), hsl() or a name) as red, green and blue from 0 to 255; None if unread.

    Alpha is ignored: an accent is drawn as a solid colour.
    """
    text = text.strip().lower()
    if match := _HEX.fullmatch(text):
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    if match := _FUNCTION.fullmatch(text):
        kind, parts = match.group(1), re.split(r"[\s,/]+", match.group(2).strip())
        try:
            if kind.startswith("rgb") and len(parts) in (3, 4):
                red, green, blue = (_channel(p, 255) for p in parts[:3])
                rgb: Rgb = (red, green, blue)
            elif kind.startswith("hsl") and len(parts) in (3, 4):
                rgb = _hsl_to_rgb(_channel(parts[0], 360), _channel(parts[1], 100), _channel(parts[2], 100))
            else:
                return None
        except ValueError:
            return None
        red, green, blue = (max(0.0, min(255.0, c)) for c in rgb)
        return (red, green, blue)
    try:
        named = webcolors.name_to_rgb(text)
    except ValueError:
        return None
    return (named.red, named.green, named.blue)


def luminance(rgb: Rgb) -> float:
    """Relative luminance, as WCAG 2 defines it."""
    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    red, green, blue = (linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a: Rgb, b: Rgb) -> float:
    """WCAG 2 contrast ratio, from 1 to 21."""
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def to_hex(rgb: Rgb) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def readable_accent(accent: Rgb, partners: tuple[Rgb, ...] | list[Rgb], minimum: float = TEXT_CONTRAST) -> Rgb:
    """The accent, or the nearest shade of it (towards black on light partners, white on dark) that
    contrasts `minimum` with every partner; where none does, the shade that comes closest."""
    def worst(colour):
        return min(contrast(colour, partner) for partner in partners)

    if worst(accent) >= minimum:
        return accent
    light_partners = sum(luminance(p) for p in partners) / len(partners) > 0.18
    target = (0.0, 0.0, 0.0) if light_partners else (255.0, 255.0, 255.0)
    best = accent
    for step in range(1, 101):
        t = step / 100
        red, green, blue = (c + (goal - c) * t for c, goal in zip(accent, target, strict=True))
        shade = (float(round(red)), float(round(green)), float(round(blue)))
        if worst(shade) >= minimum:
            return shade
        if worst(shade) > worst(best):
            best = shade
    return best


def scheme_accents(accent: str | None, accent_dark: str | None, background: str | None) -> tuple[str, str] | None:
    """The accent to draw in the light scheme and in the dark one, each readable there; None when the
    site set no accent that can be read (the widget's own then stay)."""
    light, dark = parse_colour(accent or ""), parse_colour(accent_dark or "")
    if light is None and dark is None:
        return None
    page = parse_colour(background or "")
    pair = []
    for scheme, given in (("light", light), ("dark", dark or light)):
        partners = SCHEME_PARTNERS[scheme]
        if page is not None:
            # The site's own background replaces the page's, in both schemes; text on buttons stays.
            partners = (page, partners[0])
        pair.append(to_hex(readable_accent(given or DEFAULT_ACCENTS[scheme], partners)))
    return pair[0], pair[1]
