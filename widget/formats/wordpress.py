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

from .records import MAX_TITLE, MAX_URL, Entry, FormatError, Page, Source
from .xml_stream import events, local, namespace

# The wp namespace of WXR 1.0 to 1.2, as WordPress's importer reads it: written with http, or https as
# some exports (WordPress's own theme test data among them) declare it.
NAMESPACES = frozenset(f"{scheme}://wordpress.org/export/1.{minor}/" for scheme in ("http", "https")
                       for minor in (0, 1, 2))
# rss > channel > item > wp:comment > wp:commentmeta > wp:meta_key is as deep as WordPress writes.
MAX_DEPTH = 8
ITEM_FIELDS = {"title", "link", "post_id", "post_date_gmt"}
# The blog the export is of, which its comment ids are numbered in: its address (a multisite network's
# sub-blogs share base_site_url, so the blog's own comes first), in the channel before the first item.
SOURCE_FIELDS = ("base_blog_url", "link", "base_site_url")
COMMENT_FIELDS = {"comment_id", "comment_author", "comment_author_email", "comment_author_url",
                  "comment_author_IP", "comment_date", "comment_date_gmt", "comment_content", "comment_approved",
                  "comment_type", "comment_parent"}
# comment_approved: 1, 0, spam, trash, or post-trashed (the comment of a post sent to the bin).
STATUSES = {"1": "approved", "0": "pending", "spam": "spam", "trash": "deleted", "post-trashed": "deleted"}
COMMENT_TYPES = {"", "comment"}
MENTION_TYPES = {"pingback", "trackback", "webmention"}
# The block elements of WordPress's wpautop(): text between them becomes paragraphs of its own.
_BLOCKS = (r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre|form|map|area|"
           r"blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section|article|aside|hgroup|header|footer|"
           r"nav|figure|figcaption|details|menu|summary)")
_BLOCK_START = re.compile(rf"<{_BLOCKS}[\s/>]", re.IGNORECASE)
_BLOCK_END = re.compile(rf"</{_BLOCKS}>", re.IGNORECASE)
_BLOCK_EDGE = re.compile(rf"^</?{_BLOCKS}[\s/>]", re.IGNORECASE)
_ENDS_BLOCK = re.compile(rf"</{_BLOCKS}>$", re.IGNORECASE)
_BREAK_AFTER_BLOCK = re.compile(rf"(</?{_BLOCKS}(?:\s[^<>]*)?/?>)<br>", re.IGNORECASE)
_BREAK_BEFORE_BLOCK = re.compile(rf"<br>(\n</?{_BLOCKS}[\s/>])", re.IGNORECASE)
_PRE = re.compile(r"<pre[\s>].*?</pre>", re.IGNORECASE | re.DOTALL)
# Past this the comment is left out for its length anyway (imports.MAX_BODY): not worth shaping.
_LONGEST = 200_000


def autop(text):
    """HTML for a comment as WordPress shows it (wpautop): text parted by blank lines, or by block elements, is
    paragraphs, and a newline within one is a line break; block elements and <pre> stay as they are."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text or len(text) > _LONGEST:
        return text
    kept: list[str] = []

    def keep(match):
        kept.append(match[0])
        return f"\n\n<pre>\x00{len(kept) - 1}\x00</pre>\n\n"
    text = _PRE.sub(keep, text)
    text = _BLOCK_END.sub(lambda m: m[0] + "\n\n", _BLOCK_START.sub(lambda m: "\n\n" + m[0], text))
    parts = []
    for part in re.split(r"\n\s*\n", text):
        part = part.strip()
        if part:
            # A part that starts or ends a block element is left as it is; any other is a paragraph.
            parts.append(part if _BLOCK_EDGE.match(part) or _ENDS_BLOCK.search(part) else f"<p>{part}</p>")
    html = "\n".join(parts).replace("\n", "<br>\n")
    html = _BREAK_BEFORE_BLOCK.sub(r"\1", _BREAK_AFTER_BLOCK.sub(r"\1", html))
    return re.sub(r"<pre>\x00(\d+)\x00</pre>", lambda m: kept[int(m[1])], html)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _date(value):
    """A MySQL DATETIME as WordPress writes it ("2024-01-31 18:05:00"), None for its zero date; or ValueError."""
    value = (value or "").strip()
    if not value or value.startswith("0000-00-00"):
        return None
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return datetime.fromisoformat(value)


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
    comment: dict[str, str] | None = None  # the fields of the <wp:comment> being read
    items = 0
    seen_wxr = False
    channel: dict[str, str] = {}  # the SOURCE_FIELDS met before the first item
    for event, tag, value, depth in events(file, MAX_DEPTH, text_depth=3, described="a WordPress export"):
        if event == "namespace":
            # As WordPress's importer does: the document says what the wp prefix stands for.
            if tag == "wp" and value not in NAMESPACES:
                raise FormatError(f"not a WordPress export: xmlns:wp is {value!r}; WordPress exports declare "
                                  "http://wordpress.org/export/1.0/ to 1.2/ (or https)")
            continue
        wxr = namespace(tag) in NAMESPACES
        seen_wxr = seen_wxr or wxr
        if event == "start":
            if depth == 1 and tag != "rss":
                raise FormatError(f"not a WordPress export: the root element is <{local(tag)}>, expected <rss>")
            if depth == 3 and tag == "item":
                items += 1
                item = _Item(items)
                if items == 1 and (source := _source(channel)):
                    yield source
            elif depth == 4 and item is not None and wxr and local(tag) == "comment":
                comment = {}
            continue
        name = local(tag)
        if depth == 3 and tag == "item" and item is not None:
            yield from _finish(item)
            item = None
        elif depth == 3 and not items and name in SOURCE_FIELDS and (wxr or (name == "link" and not namespace(tag))):
            channel.setdefault(name, value.strip().rstrip("/")[:MAX_URL])
        elif depth == 5 and comment is not None and name in COMMENT_FIELDS:
            comment[name] = value.strip()
        elif depth == 4 and item is not None:
            if comment is not None and wxr and name == "comment":
                entry = _entry(item, comment)
                comment = None
                if item.page is None and "link" not in item.fields:
                    item.waiting.append(entry)
                    continue
                if item.page is None:
                    item.page = _page(item)
                    yield item.page
                entry.page_ref = item.page.ref
                yield entry
            elif name in ITEM_FIELDS and (wxr or (name in ("title", "link") and not namespace(tag))):
                item.fields.setdefault(name, value.strip())
    if not seen_wxr:
        raise FormatError("not a WordPress export: no element in the WXR namespace (http://wordpress.org/export/1.2/)")


def _source(channel):
    name = next((channel[field] for field in SOURCE_FIELDS if channel.get(field)), None)
    return Source(name) if name else None


def _page(item):
    fields = item.fields
    try:
        created = _date(fields.get("post_date_gmt"))
    except ValueError:
        created = None
    ref = fields.get("post_id") or f"item-{item.number}"
    link = fields.get("link") or None
    # Titles in RSS are HTML-escaped text: "Don&#8217;t" is "Don’t".
    return Page(ref=ref, url=link if link and len(link) <= MAX_URL else None,
                title=html.unescape(fields.get("title", "")[:MAX_TITLE]) or None, created_at=created)


def _finish(item):
    if not item.waiting:
        return
    if item.page is None:
        item.page = _page(item)
        yield item.page
    for entry in item.waiting:
        entry.page_ref = item.page.ref
        yield entry
