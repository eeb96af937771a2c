"""Comment bodies: CommonMark to HTML through markdown-it-py, cleaned by the nh3 allow-list."""
import re
from functools import lru_cache
from html import escape, unescape

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "a", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser():
    # Raw HTML off; images off too: an image would make every reader's browser
    # fetch a URL chosen by the commenter.
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    md.enable(["linkify", "strikethrough"])
    md.disable("image")
    return md


@lru_cache(maxsize=16)
def _tokens(body):
    # A new comment's body is asked for its links by the form checks and twice by the spam checks, then
    # rendered: one parse serves them all (with linkify, a parse costs more than rendering and cleaning).
    # The tokens are only read, never changed, so sharing them is safe.
    env: dict = {}
    return tuple(_parser().parse(body, env)), env


def link_urls(body):
    """The URLs of the links (written or bare) that the body will render, in order."""
    return [str(tok.attrs.get("href", "")) for block in _tokens(body)[0] for tok in (block.children or [])
            if tok.type == "link_open"]


def count_links(body):
    """Number of links (written or bare URLs) that the body will render."""
    return len(link_urls(body))


def _clean(html):
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    ).strip()


def render(body):
    """Safe HTML for a Markdown body."""
    tokens, env = _tokens(body)
    return _clean(_parser().renderer.render(list(tokens), _parser().options, dict(env)))


def link(url, text):
    """Safe HTML for one paragraph holding one link (a Webmention's source and its title), both as plain text."""
    return _clean(f'<p><a href="{escape(url, quote=True)}">{escape(text, quote=False)}</a></p>')


# Imported comments -------------------------------------------------------------------------------

# Old systems wrote <b> and <i> where CommonMark gives <strong> and <em>; renamed before cleaning, so
# the emphasis survives the allow-list. Whatever this lets through, nh3 still decides.
_OLD_EMPHASIS = re.compile(r"<(/?)(b|i)(?=[\s>/])", re.IGNORECASE)
_EMPHASIS_NAMES = {"b": "strong", "i": "em"}


def from_html(html):
    """Safe HTML for a body that arrives as HTML (an imported comment): the same allow-list and link rules."""
    return _clean(_OLD_EMPHASIS.sub(lambda m: f"<{m[1]}{_EMPHASIS_NAMES[m[2].lower()]}", html))


# A tag of cleaned HTML (nh3's serialisation): attribute values are always double-quoted, so a ">" inside
# one cannot end the tag early.
_TAG = re.compile(r'<(/?)([a-z0-9]+)((?:\s+[^\s=/>]+(?:="[^"]*")?)*)\s*/?>', re.IGNORECASE)
_HREF = re.compile(r'\shref="([^"]*)"')
_BLOCKS = {"p", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
_MARKS = {"strong": "**", "em": "*", "code": "`", "del": "~~", "s": "~~"}


class _TextWriter:
    """Cleaned HTML to the Markdown a reader would have typed for it: paragraphs, breaks, emphasis, links, quotes."""

    def __init__(self):
        # Each block: (quote depth, is a list item, its pieces of text).
        self.blocks: list[tuple[int, bool, list[str]]] = [(0, False, [])]
        self.links: list[str | None] = []
        self.quote = 0

    def _block(self, item=False):
        self.blocks.append((self.quote, item, []))

    def _add(self, text):
        self.blocks[-1][2].append(text)

    def start(self, tag, attributes):
        if tag == "br":
            self._add("\n")
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self.quote += 1
            self._block(item=tag == "li")
        elif tag in _MARKS:
            self._add(_MARKS[tag])
        elif tag == "a":
            found = _HREF.search(attributes)
            href = unescape(found[1]).strip() if found else ""
            self.links.append(href or None)  # nh3 left only http, https and mailto ones
            if href:
                self._add("[")

    def end(self, tag):
        if tag in _BLOCKS:
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            self._block()
        elif tag in _MARKS:
            self._add(_MARKS[tag])
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href is not None:
                self._add(f"]({href})")

    def data(self, text):
        self._add(re.sub(r"\s+", " ", unescape(text)))

    def text(self):
        out: list[str] = []
        previous: tuple[int, bool] | None = None
        for quote, item, pieces in self.blocks:
            lines = [re.sub(r" {2,}", " ", line).strip() for line in "".join(pieces).split("\n")]
            body = "\n".join(lines).strip()
            if not body:
                continue
            if previous is not None:
                if item and previous == (quote, True):
                    out.append("\n")  # the next item of the same list
                elif quote and previous[0] == quote:
                    out.append("\n" + ">" * quote + "\n")  # the next paragraph of the same quote
                else:
                    out.append("\n\n")
            prefix = "> " * quote
            out.append("\n".join(prefix + ("- " if item and n == 0 else "  " if item else "") + line
                                 for n, line in enumerate(body.split("\n"))))
            previous = (quote, item)
        return "".join(out).strip()


def text_of(clean_html):
    """The Markdown-ish text of cleaned HTML (from from_html), kept as an imported comment's `body`:
    moderators' edits, restores and search work on it."""
    writer = _TextWriter()
    done = 0
    for tag in _TAG.finditer(clean_html):
        if tag.start() > done:
            writer.data(clean_html[done:tag.start()])
        if tag[1]:
            writer.end(tag[2].lower())
        else:
            writer.start(tag[2].lower(), tag[3])
        done = tag.end()
    writer.data(clean_html[done:])
    return writer.text()
