"""Comment bodies: CommonMark to HTML through markdown-it-py, cleaned by the nh3 allow-list."""
import re
from functools import lru_cache
from html import escape, unescape
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
    """Safe HTML for a body that arrives as HTML (an imported comment): the same allow-list and link rules.

    Tables and definition lists, which the allow-list (and Markdown) lack, become lists first, so that their
    cells and terms stay apart instead of running into one another."""
    if _STRUCTURES.search(html):
        html = _flattened(html)
    return _clean(_OLD_EMPHASIS.sub(lambda m: f"<{m[1]}{_EMPHASIS_NAMES[m[2].lower()]}", html))


_STRUCTURES = re.compile(r"<(table|dl)[\s>]", re.IGNORECASE)
_CELL_SEPARATOR = " — "


class _Table:
    def __init__(self):
        self.rows: list[list[tuple[bool, str]]] = []  # each row's cells: (is a header cell, its HTML)
        self.row: list[tuple[bool, str]] | None = None
        self.header = False  # inside <thead>
        self.caption: str | None = None

    def html(self):
        """The table as a list, a row an item: with a header row, each cell is labelled with its header."""
        rows = [row for row in self.rows if any(html.strip() for _, html in row)]
        head: list[str] = []
        if rows and all(is_head for is_head, _ in rows[0]):
            head = [html.strip() for _, html in rows.pop(0)]
        items = []
        for row in rows:
            cells = []
            for n, (_, html) in enumerate(row):
                if not html.strip():
                    continue
                label = head[n] if n < len(head) else ""
                cells.append(f"<strong>{label}:</strong> {html.strip()}" if label else html.strip())
            items.append(f"<li>{_CELL_SEPARATOR.join(cells)}</li>")
        caption = f"<p>{self.caption.strip()}</p>" if self.caption and self.caption.strip() else ""
        return caption + (f"<ul>{''.join(items)}</ul>" if items else "")


class _Flattener(HTMLParser):
    """HTML passed through as it is, but for tables (a list of rows) and definition lists (each term in bold,
    its definitions a list under it)."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.sinks: list[list[str]] = [[]]  # where what is read goes: the page, a cell, a caption, or nowhere
        self.tables: list[_Table] = []
        self.cells: list[tuple[bool, bool]] = []  # of each open table: (a cell is open, it is a header cell)
        self.lists: list[str | None] = []  # of each open <dl>: the item open in it ("dt", "dd") or None

    def _emit(self, text):
        self.sinks[-1].append(text)

    def _close_cell(self):
        if self.tables and self.cells[-1][0]:
            html = "".join(self.sinks.pop())
            self.tables[-1].row = self.tables[-1].row if self.tables[-1].row is not None else []
            self.tables[-1].row.append((self.cells[-1][1], html))
            self.cells[-1] = (False, False)

    def _close_row(self):
        self._close_cell()
        table = self.tables[-1]
        if table.row is not None:
            table.rows.append(table.row)
            table.row = None

    def _close_item(self):
        item = self.lists[-1]
        if item == "dt":
            self._emit("</strong></p>")
        elif item == "dd":
            self._emit("</li></ul>")
        self.lists[-1] = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(_Table())
            self.cells.append((False, False))
            self.sinks.append([])  # what lies between a table's cells is not kept
        elif self.tables and tag in ("td", "th"):
            self._close_cell()
            if self.tables[-1].row is None:
                self.tables[-1].row = []
            self.cells[-1] = (True, tag == "th" or self.tables[-1].header)
            self.sinks.append([])
        elif self.tables and tag == "tr":
            self._close_row()
            self.tables[-1].row = []
        elif self.tables and tag == "thead":
            self.tables[-1].header = True
        elif self.tables and tag == "caption":
            self.sinks.append([])
        elif self.tables and tag in ("tbody", "tfoot", "colgroup", "col"):
            pass
        elif tag == "dl":
            self.lists.append(None)
        elif self.lists and tag in ("dt", "dd"):
            if tag == "dd" and self.lists[-1] == "dd":
                self._emit("</li><li>")
            else:
                self._close_item()
                self._emit("<p><strong>" if tag == "dt" else "<ul><li>")
            self.lists[-1] = tag
        else:
            self._emit(self.get_starttag_text() or "")

    def handle_startendtag(self, tag, attrs):
        self._emit(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if self.tables and tag == "table":
            self._close_row()
            self.sinks.pop()
            self.cells.pop()
            self._emit(self.tables.pop().html())
        elif self.tables and tag in ("td", "th"):
            self._close_cell()
        elif self.tables and tag == "tr":
            self._close_row()
        elif self.tables and tag == "thead":
            self._close_row()
            self.tables[-1].header = False
        elif self.tables and tag == "caption" and len(self.sinks) > 1:
            self.tables[-1].caption = "".join(self.sinks.pop())
        elif self.tables and tag in ("tbody", "tfoot", "colgroup", "col"):
            pass
        elif self.lists and tag == "dl":
            self._close_item()
            self.lists.pop()
        elif self.lists and tag == "dt" and self.lists[-1] == "dt":
            self._close_item()
        elif self.lists and tag in ("dt", "dd"):
            pass  # a definition's list stays open for the next one; it closes at the next term or the end
        else:
            self._emit(f"</{tag}>")

    def handle_data(self, data):
        self._emit(escape(data, quote=False))

    def handle_entityref(self, name):
        self._emit(f"&{name};")

    def handle_charref(self, name):
        self._emit(f"&#{name};")

    def close(self):
        super().close()
        while self.tables:
            self.handle_endtag("table")
        while self.lists:
            self.handle_endtag("dl")


def _flattened(html):
    parser = _Flattener()
    parser.feed(html)
    parser.close()
    return "".join(parser.sinks[0])


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
