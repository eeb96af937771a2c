"""Accessibility checks run inside real pages: axe-core's WCAG 2.2 AA rules, and visible keyboard focus.

axe-core comes from npm: the version tests/browser/node/package-lock.json names, installed there by the suite
itself (`npm ci`) the first time a run needs it, so that the README's test command is the whole of it; its
node_modules is not committed. It is evaluated through the DevTools protocol, so the pages' CSP, which allows
no inline script, need not be loosened for it.
"""
import functools
import shutil
import subprocess
from pathlib import Path

from conftest import require

NODE = Path(__file__).resolve().parent / "node"
AXE = NODE / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: the rules axe tags for each.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN = """async (tags) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary.replace(/\\s+/g, " ").slice(0, 300)),
  }));
}"""


@functools.cache
def _installed():
    """None once axe-core is there, installing it from the lock file if need be; else why not. Once a run."""
    if AXE.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return ("axe-core is not installed, and npm, which installs it from tests/browser/node/package-lock.json, "
                "is not on PATH (on Debian or Ubuntu: apt-get install npm)")
    try:
        done = subprocess.run([npm, "ci", "--prefix", str(NODE), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "`npm ci --prefix tests/browser/node` did not finish within 5 minutes"
    if done.returncode != 0 or not AXE.exists():
        return f"`npm ci --prefix tests/browser/node` failed: {(done.stderr or done.stdout).strip()[-1500:]}"
    return None


def axe_source():
    problem = _installed()
    require(problem is None, problem)
    return AXE.read_text(encoding="utf-8")


def violations(frame):
    """axe-core's WCAG 2.2 AA violations in a page or frame, one readable line per failing element."""
    if not frame.evaluate("() => typeof axe !== 'undefined'"):
        frame.evaluate(axe_source())
    found = frame.evaluate(RUN, WCAG_AA)
    return [f"{v['id']} ({v['help']}) at {node}" for v in found for node in v["nodes"]]


# The focused element's own focus indicator: an outline, or a box-shadow ring, in a colour that
# stands out (3:1, WCAG's non-text contrast) from what is behind the element.
FOCUS = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return { tag: "body" };
  const style = getComputedStyle(element);
  const rgb = (text) => { const m = (text || "").match(/[\\d.]+/g); return m ? m.map(Number) : null; };
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  // What is behind: the first ancestor (or the element) with a background that is not transparent.
  let behind = [255, 255, 255];
  for (let e = element.parentElement; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c && (c.length < 4 || c[3] > 0.5)) { behind = c.slice(0, 3); break; }
  }
  // A translucent ring shows as its colour laid over what is behind.
  const blend = (c, under) => c.length < 4 ? c : c.slice(0, 3).map((v, i) => v * c[3] + under[i] * (1 - c[3]));
  let ring = null;
  if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1) ring = rgb(style.outlineColor);
  else if (style.boxShadow && style.boxShadow !== "none") ring = rgb(style.boxShadow);
  return {
    tag: element.tagName.toLowerCase(),
    name: (element.getAttribute("aria-label") || element.textContent || element.name || "").trim().slice(0, 40),
    ring: !!ring, contrast: ring ? ratio(blend(ring, behind), behind) : 0,
  };
}"""


def focus_indicator(frame):
    """What has the keyboard focus in a page or frame, and how well its focus ring shows."""
    return frame.evaluate(FOCUS)


def assert_visible_focus(frame):
    focused = focus_indicator(frame)
    assert focused["tag"] != "body", "nothing has the focus"
    assert focused["ring"], f"{focused} shows no focus ring"
    assert focused["contrast"] >= 3, f"{focused}: its focus ring contrasts only {focused['contrast']:.2f}:1"
    return focused
