"""WordPress eXtended RSS (WXR 1.0 to 1.2), as Tools → Export writes it (wp-admin/includes/export.php).

    <rss><channel>
      <item> <title/> <link/> <wp:post_id/> <wp:post_date_gmt/> <wp:post_type/> ...
        <wp:comment> <wp:comment_id/> <wp:comment_author/> <wp:comment_author_email/>
          <wp:comment_author_url/> <wp:comment_author_IP/> <wp:comment_date/> <wp:comment_date_gmt/>
          <wp:comment_content/> <wp:comment_approved/> <wp:comment_type/> <wp:comment_parent/> ...
"""
import html
import re
from datetime import datetime

from .records import Entry, FormatError, Page
from .xml_stream import children_text, elements, local, namespace

_WXR = re.compile(r"^http://wordpress\.org/export/1\.\d+/$")
# comment_approved: 1, 0, spam, trash, or post-trashed (the comment of a post sent to the bin).
STATUSES = {"1": "approved", "0": "pending", "spam": "spam", "trash": "deleted", "post-trashed": "deleted"}
COMMENT_TYPES = {"", "comment"}
MENTION_TYPES = {"pingback", "trackback", "webmention"}
_BLOCK_TAG = re.compile(r"<(p|div|blockquote|ul|ol|pre|table|h[1-6])[\s>]", re.IGNORECASE)


def autop(text):
    """HTML for a comment as WordPress shows it: blank lines part paragraphs, a newline is a line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text or _BLOCK_TAG.search(text):
        return text
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _date(value):
    """A MySQL DATETIME as WordPress writes it ("2024-01-31 18:05:00"), None for its zero date; or ValueError."""
    value = (value or "").strip()
    if not value or value.startswith("0000-00-00"):
        return None
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return datetime.fromisoformat(value)


def _is_wxr(tag):
    return bool(_WXR.match(namespace(tag)))


class _Item:
    def __init__(self, number):
        self.number = number
        self.fields: dict[str, str] = {}
        self.page: Page | None = None
        self.waiting: list[Entry] = []  # comments met before the item's link (never so in WordPress's own files)

    def describe(self):
        title = self.fields.get("title")
        post = self.fields.get("post_id")
        return f"<item> {self.number}" + (f" (post {post}" + (f", {title[:60]!r})" if title else ")") if post else "")


def _entry(item, fields):
    number = fields.get("comment_id", "")
    if not number.isdigit():
        raise FormatError(f"{item.describe()}: a <wp:comment> without a numeric <wp:comment_id> (found {number!r})")
    where = f"{item.describe()}, comment {number}"
    parent = fields.get("comment_parent", "0") or "0"
    if not parent.isdigit():
        raise FormatError(f"{where}: <wp:comment_parent> is {parent!r}, not a comment id")
    try:
        created = _date(fields.get("comment_date_gmt")) or _date(fields.get("comment_date"))
    except ValueError:
        raise FormatError(f"{where}: <wp:comment_date_gmt> is {fields.get('comment_date_gmt')!r}, "
                          "not a date like 2024-01-31 18:05:00") from None
    approved = fields.get("comment_approved", "1")
    kind = fields.get("comment_type", "")
    entry = Entry(
        ref=number, page_ref=item.page.ref if item.page else "", parent_ref=None if parent == "0" else parent,
        created_at=created or datetime(1970, 1, 1), status=STATUSES.get(approved, "pending"),
        html=autop(fields.get("comment_content", "")),
        # WordPress stores names with &amp; and &#039; escaped.
        author_name=html.unescape(fields.get("comment_author", "")),
        author_email=fields.get("comment_author_email") or None,
        author_website=fields.get("comment_author_url") or None, ip=fields.get("comment_author_IP") or None,
    )
    if created is None:
        entry.skip = "no date"
    if kind in MENTION_TYPES:
        # A pingback's author is the linking page's title, its URL the linking page: what a mention shows.
        entry.kind, entry.source_url, entry.source_title = "mention", entry.author_website, entry.author_name
        entry.parent_ref = entry.html = entry.author_name = entry.author_website = entry.author_email = None
    elif kind not in COMMENT_TYPES:
        entry.skip = f"comment type {kind!r} (not a reader's comment)"
    return entry


def read(file):
    """Pages and entries of a WXR file, in file order."""
    item: _Item | None = None
    items = 0
    seen_wxr = False
    for event, element, depth in elements(file, keep_below=4):
        if depth == 1 and event == "start" and element.tag != "rss":
            raise FormatError(f"not a WordPress export: the root element is <{local(element.tag)}>, expected <rss>")
        if event == "start":
            if depth == 3 and element.tag == "item":
                items += 1
                item = _Item(items)
            continue
        if depth == 3 and element.tag == "item" and item is not None:
            yield from _finish(item)
            item = None
        elif depth == 4 and item is not None:
            name = local(element.tag)
            seen_wxr = seen_wxr or _is_wxr(element.tag)
            if name == "comment" and _is_wxr(element.tag):
                entry = _entry(item, children_text(element))
                if item.page is None and "link" not in item.fields:
                    item.waiting.append(entry)
                    continue
                if item.page is None:
                    item.page = _page(item)
                    yield item.page
                entry.page_ref = item.page.ref
                yield entry
            elif (name in ("title", "link") and not namespace(element.tag)) or _is_wxr(element.tag):
                item.fields.setdefault(name, (element.text or "").strip())
        elif depth == 3:
            seen_wxr = seen_wxr or _is_wxr(element.tag)
    if not seen_wxr:
        raise FormatError("not a WordPress export: no element in the WXR namespace (http://wordpress.org/export/1.2/)")


def _page(item):
    fields = item.fields
    try:
        created = _date(fields.get("post_date_gmt"))
    except ValueError:
        created = None
    ref = fields.get("post_id") or f"item-{item.number}"
    # Titles in RSS are HTML-escaped text: "Don&#8217;t" is "Don’t".
    return Page(ref=ref, url=fields.get("link") or None, title=html.unescape(fields.get("title", "")) or None,
                created_at=created)


def _finish(item):
    if not item.waiting:
        return
    if item.page is None:
        item.page = _page(item)
        yield item.page
    for entry in item.waiting:
        entry.page_ref = item.page.ref
        yield entry
