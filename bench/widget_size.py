"""Gzipped size of what a reader downloads: the loader, and the widget's JS and CSS, against their budgets.

The widget's JS is one file, widget.js, bundled from the modules in static/widget/ (see
widget/embed/bundler.py); the table lists the files as they are served.

Run: python bench/widget_size.py   (exits 1 when a budget is exceeded)
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from widget.embed.assets import build_loader, build_widget  # noqa: E402

# 2 KB until the loader learnt to read the colours a page paints behind its comments (150 bytes), so
# that a snippet pasted unchanged on a dark page is readable. A minifier that renames local names (esbuild,
# terser) takes it to 1.9 KB: with one, the budget goes back to 2 KB.
LOADER_BUDGET = 2 * 1024 + 128
WIDGET_BUDGET = 15 * 1024


def rows():
    """(name, raw bytes, gzipped bytes, budget or None) as the server sends them."""
    static = ROOT / "static"
    loader = build_loader(static)
    widget = build_widget(static)
    yield "embed.js (loader)", len(loader.body), len(loader.gzipped), LOADER_BUDGET
    for name, asset in sorted(widget.files.items()):
        yield f"  widget/{name}", len(asset.body), len(asset.gzipped), None
    yield ("widget JS + CSS, all files", sum(len(a.body) for a in widget.files.values()),
           sum(len(a.gzipped) for a in widget.files.values()), WIDGET_BUDGET)


def main():
    table = list(rows())
    width = max(len(name) for name, *_ in table)
    print(f"{'file':<{width}}  {'raw':>8}  {'gzipped':>8}  {'budget':>8}  verdict")
    over = False
    for name, raw, gzipped, budget in table:
        verdict = ""
        if budget is not None:
            verdict = "ok" if gzipped <= budget else "OVER BUDGET"
            over |= gzipped > budget
        shown_budget = f"{budget:>8}" if budget else " " * 8
        print(f"{name:<{width}}  {raw:>8}  {gzipped:>8}  {shown_budget}  {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
