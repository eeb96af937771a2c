"""Generated avatars: a symmetric 5x5 pattern drawn from a hash, as SVG. No third-party request."""
import hashlib


def _identicon_shapes(seed):
    digest = hashlib.sha256(seed.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    cells = []
    for row in range(5):
        for col in range(3):
            if digest[2 + row * 3 + col] % 2:
                for x in {col, 4 - col}:
                    cells.append(f'<rect x="{x + 1}" y="{row + 1}" width="1" height="1"/>')
    # The face's own hue, and a faint wash of it over whatever is behind: the widget paints avatars on
    # its light or dark panel colour, so a face follows the theme instead of being a pale disc on dark.
    return (f'<g color="hsl({hue} 55% 50%)" fill="currentColor"><rect width="7" height="7" fill-opacity=".2"/>'
            f'{"".join(cells)}</g>')


def identicon_svg(seed):
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 7 7" width="56" height="56" '
            f'shape-rendering="crispEdges">{_identicon_shapes(seed)}</svg>')


def identicon_symbol(seed, symbol_id):
    """The same drawing as a <symbol> for a page's sprite: each face once, however many comments."""
    return f'<symbol id="{symbol_id}" viewBox="0 0 7 7">{_identicon_shapes(seed)}</symbol>'

