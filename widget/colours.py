"""Colours a site sets for its widget, measured as WCAG does, and moved where they can be read.

A site picks its accent for its own page; the widget puts text on it (buttons, badges) and puts it
on its own backgrounds (links, reply and like buttons), in a light and a dark scheme. An accent
that reads badly in a scheme is darkened or lightened, keeping its hue, until it reads. Pure
functions: no Flask, no database.
"""
import math
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


# What a page paints behind its comments ---------------------------------------------------------
# The loader sends the background colours under the comments' container as the browser computed them,
# innermost first, and over a picture or a gradient the page's text colour there ("text <colour>").
# Browsers write a computed colour as rgb()/rgba() for the sRGB syntaxes (hex, names, hsl, hwb) and in its
# own space for the others: color(<space> …), lab(), lch(), oklab(), oklch().
Rgba = tuple[float, float, float, float]
MAX_LAYERS = 12
# The light theme is transparent and writes #1e1e1e (thread.css): it reads at 4.5:1 on a luminance of
# 0.233 and up. The dark theme paints its own background, so it reads on anything.
LIGHT_THEME_TEXT: Rgb = (30, 30, 30)
# Text lighter than this reads at 4.5:1 only on a dark background (and darker text only on a light one).
LIGHT_TEXT_LUMINANCE = 0.18
# The page's own canvas where it paints nothing: white, or Chromium's dark canvas under a dark scheme.
CANVAS = {"light": (255.0, 255.0, 255.0), "dark": (18.0, 18.0, 18.0)}
_COMPUTED = re.compile(r"(rgba?|color|lab|lch|oklab|oklch)\(([^()]{1,120})\)")
# Linear-light primaries to linear sRGB, through CIE XYZ (D65), as CSS Color 4 gives them.
_XYZ_D65_TO_SRGB = ((3.2409699419045226, -1.537383177570094, -0.4986107602930034),
                    (-0.9692436362808796, 1.8759675015077202, 0.04155505740717559),
                    (0.05563007969699366, -0.20397695888897652, 1.0569715142428786))
_XYZ_D50_TO_D65 = ((0.955473421488075, -0.02309845494876471, 0.06325924320057072),
                   (-0.0283697093338637, 1.0099953980813041, 0.021041441191917323),
                   (0.012314014864481998, -0.020507649298898964, 1.330365926242124))
_P3_TO_XYZ_D65 = ((0.4865709486482162, 0.26566769316909306, 0.1982172852343625),
                  (0.2289745640697488, 0.6917385218365064, 0.079286914093745),
                  (0.0, 0.04511338185890264, 1.043944368900976))
_OKLAB_TO_LMS = ((1.0, 0.3963377773761749, 0.2158037573099136),
                 (1.0, -0.1055613458156586, -0.0638541728258133),
                 (1.0, -0.0894841775298119, -1.2914855480194092))
_LMS_TO_SRGB = ((4.0767416621, -3.3077115913, 0.2309699292),
                (-1.2684380046, 2.6097574011, -0.3413193965),
                (-0.0041960863, -0.7034186147, 1.7076147010))


def _apply(matrix, vector):
    return tuple(sum(m * v for m, v in zip(row, vector, strict=True)) for row in matrix)


def _encode(linear):
    """A linear-light sRGB channel, clipped to the gamut, as 0 to 255."""
    c = max(0.0, min(1.0, linear))
    return 255 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055)


def _decode(encoded):
    """An sRGB (or Display P3) channel from 0 to 1, in linear light."""
    sign = -1 if encoded < 0 else 1
    c = abs(encoded)
    return sign * (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)


def _number(text, percent_of=1.0):
    if text == "none":
        return 0.0
    number = float(text[:-1]) * percent_of / 100 if text.endswith("%") else float(text.removesuffix("deg"))
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def _lab_to_linear_srgb(lightness, a, b):
    """CIE Lab (D50, as CSS uses it) to linear-light sRGB."""
    fy = (lightness + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200

    def inverse(f):
        return f ** 3 if f ** 3 > 216 / 24389 else (116 * f - 16) * 27 / 24389
    xyz_d50 = (inverse(fx) * 0.3457 / 0.3585, inverse(fy), inverse(fz) * (1 - 0.3457 - 0.3585) / 0.3585)
    return _apply(_XYZ_D65_TO_SRGB, _apply(_XYZ_D50_TO_D65, xyz_d50))


def _oklab_to_linear_srgb(lightness, a, b):
    lms = tuple(c ** 3 for c in _apply(_OKLAB_TO_LMS, (lightness, a, b)))
    return _apply(_LMS_TO_SRGB, lms)


def _polar(chroma, hue):
    return chroma * math.cos(math.radians(hue)), chroma * math.sin(math.radians(hue))


def parse_computed_colour(text: str) -> Rgba | None:
    """A colour as browsers write computed values, as sRGB red, green, blue (0-255) and alpha (0-1); None
    for anything else."""
    match = _COMPUTED.fullmatch(text.strip().lower())
    if not match:
        return None
    kind, inside = match.groups()
    body, _, alpha_text = inside.partition("/")
    parts = body.replace(",", " ").split()
    try:
        if kind.startswith("rgb"):
            if len(parts) == 4 and not alpha_text:  # rgba(r, g, b, a)
                alpha_text = parts.pop()
            channels = [_number(p, 255) for p in parts]
            if len(channels) != 3:
                return None
            rgb = tuple(max(0.0, min(255.0, c)) for c in channels)
        else:
            space = parts.pop(0) if kind == "color" and parts else kind
            values = [_number(p) for p in parts]
            if len(values) != 3:
                return None
            x, y, z = values
            if space == "srgb":
                linear = tuple(_decode(c) for c in values)
            elif space == "srgb-linear":
                linear = tuple(values)
            elif space == "display-p3":
                linear = _apply(_XYZ_D65_TO_SRGB, _apply(_P3_TO_XYZ_D65, [_decode(c) for c in values]))
            elif space in ("xyz", "xyz-d65"):
                linear = _apply(_XYZ_D65_TO_SRGB, values)
            elif space == "xyz-d50":
                linear = _apply(_XYZ_D65_TO_SRGB, _apply(_XYZ_D50_TO_D65, values))
            elif space == "lab":
                linear = _lab_to_linear_srgb(x, y, z)
            elif space == "lch":
                linear = _lab_to_linear_srgb(x, *_polar(y, z))
            elif space == "oklab":
                linear = _oklab_to_linear_srgb(x, y, z)
            elif space == "oklch":
                linear = _oklab_to_linear_srgb(x, *_polar(y, z))
            else:
                return None
            rgb = tuple(_encode(c) for c in linear)
        alpha = _number(alpha_text.strip(), 1.0) if alpha_text.strip() else 1.0
    except (ValueError, OverflowError, ZeroDivisionError):
        return None
    return (rgb[0], rgb[1], rgb[2], max(0.0, min(1.0, alpha)))


def _over(top: Rgba, under: Rgb) -> Rgb:
    """`top` painted over an opaque colour, blended as browsers blend, in sRGB."""
    red, green, blue = (t * top[3] + u * (1 - top[3]) for t, u in zip(top[:3], under, strict=True))
    return (red, green, blue)


def theme_for_page(declared: str, behind: str, own_background: str | None = None) -> str:
    """The theme that reads on what the page paints behind the comments: "light" where the light theme's
    text reads on it at 4.5:1, else "dark"; over a picture, the one the page's own text there is written
    for; where the page paints nothing, `declared` (its color-scheme: light, dark or auto)."""
    layers = [part.strip() for part in behind.split("|")[:MAX_LAYERS] if part.strip()]
    painted: list[Rgba] = []
    own = parse_colour(own_background or "")
    if own is not None:
        painted.append((*own, 1.0))
    for layer in layers:
        if layer.startswith("text "):
            # A picture, under layers that do not cover it: the page's text there is written for it.
            ink = parse_computed_colour(layer.removeprefix("text "))
            if ink is not None:
                return "dark" if luminance(ink[:3]) > LIGHT_TEXT_LUMINANCE else "light"
            break
        colour = parse_computed_colour(layer)
        if colour is not None and colour[3] > 0:
            painted.append(colour)
            if colour[3] >= 1:
                break
    if not painted:
        return declared
    result = CANVAS["dark" if declared == "dark" else "light"]
    for colour in reversed(painted):
        result = _over(colour, result)
    return "light" if contrast(result, LIGHT_THEME_TEXT) >= TEXT_CONTRAST else "dark"
