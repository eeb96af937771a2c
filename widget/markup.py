"""Comment bodies: CommonMark to HTML through markdown-it-py, cleaned by the nh3 allow-list."""
import re
from functools import lru_cache
from html.parser import HTMLParser

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


def link_urls(body):
    """The URLs of the links (written or bare) that the body will render, in order."""
    tokens = _parser().parse(body)
    return [str(tok.attrs.get("href", "")) for block in tokens for tok in (block.children or [])
            if tok.type == "link_open"]


def count_links(body):
    """Number of links (written or bare URLs) that the body will render."""
    return len(link_urls(body))


def render(body):
    """Safe HTML for a Markdown body."""
    return _clean(_parser().render(body))


# Imported comments -------------------------------------------------------------------------------

# Old systems wrote <b> and <i> where CommonMark gives <strong> and <em>; renamed before cleaning, so
# the emphasis survives the allow-list. Whatever this lets through, nh3 still decides.
_OLD_EMPHASIS = re.compile(r"<(/?)(b|i)(?=[\s>/])", re.IGNORECASE)
_EMPHASIS_NAMES = {"b": "strong", "i": "em"}


def _clean(html):
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    ).strip()


def from_html(html):
    """Safe HTML for a body that arrives as HTML (an imported comment): the same allow-list and link rules."""
    return _clean(_OLD_EMPHASIS.sub(lambda m: f"<{m[1]}{_EMPHASIS_NAMES[m[2].lower()]}", html))


class _TextWriter(HTMLParser):
    """HTML to the Markdown a reader would have typed for it: paragraphs, line breaks, emphasis, links, quotes."""

    BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table",
              "tr"}
    DROPPED = {"script", "style", "template", "head", "title"}
    MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "code": "`", "del": "~~", "s": "~~"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        # Each block: [quote depth, is a list item, its pieces of text].
        self.blocks: list[tuple[int, bool, list[str]]] = [(0, False, [])]
        self.links: list[str | None] = []
        self.quote = 0
        self.dropped = 0

    def _block(self, item=False):
        self.blocks.append((self.quote, item, []))

    def _add(self, text):
        self.blocks[-1][2].append(text)

    def handle_starttag(self, tag, attrs):
        if tag in self.DROPPED:
            self.dropped += 1
        elif tag == "br":
            self._add("\n")
        elif tag in self.BLOCKS:
            if tag == "blockquote":
                self.quote += 1
            self._block(item=tag == "li")
        elif tag in self.MARKS:
            self._add(self.MARKS[tag])
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            scheme, colon, _ = href.partition(":")
            safe = bool(colon) and scheme.lower() in URL_SCHEMES
            self.links.append(href if safe else None)
            if safe:
                self._add("[")

    def handle_endtag(self, tag):
        if tag in self.DROPPED:
            self.dropped = max(0, self.dropped - 1)
        elif tag in self.BLOCKS:
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            self._block()
        elif tag in self.MARKS:
            self._add(self.MARKS[tag])
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href is not None:
                self._add(f"]({href})")

    def handle_data(self, data):
        if not self.dropped:
            self._add(re.sub(r"\s+", " ", data))

    def text(self):
        self.close()
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


def html_to_text(html):
    """The Markdown-ish text of an HTML body, kept as an imported comment's `body` for edits, feeds and search."""
    writer = _TextWriter()
    writer.feed(html)
    return writer.text()
