"""Webmention (W3C Recommendation): other pages that link to a post, verified and shown in its thread.

A sender posts `source` and `target` to a site's endpoint; the request is checked at once and a
job queued (`accept`). The outbox's sender later fetches the source (`verify`) and, if it links to
the target, keeps one mention per source and page, held for moderation. Sending the same pair
again updates the mention, or removes it when the source is gone or no longer links.
"""
import json
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.http import parse_options_header

from . import charsets, markup, memberships, names, notifications, outbound, outbox, webhooks
from .comments import bump_thread, delete_comment, find_thread, get_or_create_thread, thread_key
from .errors import InvalidInput, NotFound
from .extensions import db
from .models import MAX_ID, Comment, Job, Site, Thread, utcnow
from .tokens import digest
from .urls import is_web_url, normalise_url, origin_of

KIND = "webmention"
MAX_URL = 2048
# Limits on what a sender can make this server fetch (Recommendation, 4.2): a few redirects and
# the first megabyte of the page, which holds the link on any reasonable one.
MAX_REDIRECTS = 5
MAX_SOURCE_BYTES = 1_000_000
ACCEPT = "text/html, application/xhtml+xml;q=0.9, application/json;q=0.8, text/plain;q=0.7, */*;q=0.1"
MAX_TITLE = 300
MAX_AUTHOR = 100
STATUS_SALT = "parley.webmention.status"
# Removed means the sender's own update or deletion went through: say so apart from a first refusal.
REMOVED = "removed: "
VERIFIED = "verified: "


# At the endpoint ---------------------------------------------------------------------------

def check_request(site, source, target, allow_private=False):
    """Raise InvalidInput unless the site may take this Webmention (Recommendation, 3.2.1)."""
    for name, value in (("source", source), ("target", target)):
        if not is_web_url(value):
            raise InvalidInput(f"{name} must be an absolute http or https URL", code=f"invalid_{name}")
    if normalise_url(source) == normalise_url(target):
        raise InvalidInput("source and target are the same URL", code="same_url")
    if origin_of(target) not in site.origins:
        shown = ", ".join(site.origins) or "none"
        raise InvalidInput(f"target is not a page of this site; it takes Webmentions for pages on {shown}",
                           code="target_not_accepted")
    try:
        outbound.check_url(source, allow_private)
    except outbound.Refused as refused:
        raise InvalidInput(f"source cannot be fetched from here: {refused}", code="source_not_allowed") from None


def accept(site, source, target, base_url=None, now=None):
    """Queue the check of the source and commit; returns the job, whose status `status_of` tells."""
    job = outbox.enqueue(KIND, {"source": source, "target": target, "site_id": site.id, "base": base_url},
                         site_id=site.id, now=now)
    db.session.commit()
    return job


def status_token(secret_key, job):
    # Signed, so that the status of one Webmention cannot be found by counting up job numbers.
    return URLSafeSerializer(secret_key, salt=STATUS_SALT).dumps(job.id)


def job_for_token(secret_key, site, token):
    """The Webmention job of the site a status token names; NotFound for any other token."""
    job_id = None
    if isinstance(token, str) and len(token) <= 200:
        try:
            job_id = URLSafeSerializer(secret_key, salt=STATUS_SALT).loads(token)
        except BadSignature:
            job_id = None
    valid = isinstance(job_id, int) and not isinstance(job_id, bool) and 0 < job_id <= MAX_ID
    job = db.session.get(Job, job_id) if valid else None
    if job is None or job.kind != KIND or job.site_id != site.id:
        raise NotFound("there is no Webmention with this status address", code="unknown_webmention")
    return job


def status_of(job):
    """{status: queued | verified | refused | removed, reason, source, target} of a Webmention job."""
    result = job.result or ""
    if job.status == "queued":
        status, reason = "queued", f"the source will be fetched again: {result}" if result else \
            "the source will be fetched"
    elif job.status == "failed":
        status, reason = "refused", result
    elif result.startswith(REMOVED):
        status, reason = "removed", result.removeprefix(REMOVED)
    else:
        status, reason = "verified", result.removeprefix(VERIFIED)
    return {"status": status, "reason": reason, "source": job.payload.get("source"),
            "target": job.payload.get("target")}


# In the sender -------------------------------------------------------------------------------

def verify(job, allow_private, timeout, now=None):
    """Fetch the source and keep, update or remove its mention of the target; returns what was done."""
    payload = job.payload
    source, target, site_id, base = payload["source"], payload["target"], payload["site_id"], payload.get("base")
    # No transaction (nor SQLite's write lock) is held while another server takes its time to answer.
    db.session.commit()
    try:
        answer = outbound.request("GET", source, allow_private=allow_private, timeout=timeout,
                                  headers={"Accept": ACCEPT}, max_bytes=MAX_SOURCE_BYTES,
                                  max_redirects=MAX_REDIRECTS, cut=True)
    except outbound.TimedOut as late:
        raise outbox.after_timeout(job, f"the source {late}") from None
    site = db.session.get(Site, site_id)
    if site is None:
        raise outbox.GiveUp("the site is gone")
    now = now or utcnow()
    if answer.status in (404, 410):
        if _remove(site, source, target, now):
            return REMOVED + "source is gone"
        raise outbox.GiveUp(f"source not found (HTTP {answer.status})")
    if answer.status == 429 or answer.status >= 500:
        raise outbox.Retry(f"the source answered HTTP {answer.status}")
    if not 200 <= answer.status < 300:
        raise outbox.GiveUp(f"the source answered HTTP {answer.status}")
    page = read_source(answer.body, answer.headers.get("content-type"), answer.url, target)
    if not page.links:
        if _remove(site, source, target, now):
            return REMOVED + "updated source no longer links to target"
        raise outbox.GiveUp("source does not link to target")
    return _keep(site, source, target, page, base, now)


def _existing(site, source, target):
    """The mention of this source on the target page's thread, whichever way the thread is keyed."""
    _, page = thread_key(target)
    return db.session.scalar(
        db.select(Comment).join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id, Thread.url_hash == digest(page), Comment.kind == "mention",
               Comment.source_url == normalise_url(source))
        .order_by(Comment.id).limit(1))


def _thread(site, target):
    """The page's thread: keyed by its URL, else one an embed keyed by thread id for that URL, else a new one."""
    thread = find_thread(site, url=target)
    if thread is None:
        _, page = thread_key(target)
        thread = db.session.scalar(db.select(Thread).where(Thread.site_id == site.id, Thread.url_hash == digest(page))
                                   .order_by(Thread.id).limit(1))
    # Made for a mention that waits for a moderator: readers know nothing of it until something is published there.
    return thread or get_or_create_thread(site, target, None, None, published=False)


def _remove(site, source, target, now):
    """Remove the source's mention of the target, as the sender's deletion asks; False when there is none."""
    mention = _existing(site, source, target)
    if mention is None:
        return False
    delete_comment(mention, now)
    return True


def _author(site, page, source):
    """Who the source names as its author, unless the name passes for the site's staff; else its host."""
    host = urlsplit(source).hostname or source
    name = page.author
    team = memberships.staff(site)
    protected = [*names.RESERVED, site.name, *(site.reserved_names or []), *(shown for _, shown in team.values())]
    if not name or names.impersonated(name, protected):
        return host[:MAX_AUTHOR]
    return name


def _keep(site, source, target, page, base, now):
    source_url = normalise_url(source)
    title = page.title or _cut(source_url, MAX_TITLE)
    author = _author(site, page, source_url)
    thread = _thread(site, target)
    # Two senders checking the same source at once must still leave one mention (PostgreSQL; SQLite
    # writes one transaction at a time anyway).
    db.session.execute(db.select(Thread.id).where(Thread.id == thread.id).with_for_update())
    mention = _existing(site, source, target)
    html = markup.link(source_url, title)
    if mention is not None:
        if (mention.body, mention.author_name) == (title, author):
            return VERIFIED + "the mention is unchanged"
        mention.body, mention.author_name = title, author
        if mention.status != "deleted":  # a moderator's deletion stands; the text is kept for a restore
            mention.html = html
        mention.edited_at = now
        if mention.status == "approved":
            bump_thread(mention.thread_id)
        db.session.commit()
        return VERIFIED + "the mention was updated"
    if thread.locked:
        raise outbox.GiveUp("the page's thread is locked: it takes nothing new")
    mention = Comment(thread=thread, kind="mention", source_url=source_url, body=title, html=html,
                      author_name=author, author_website=origin_of(source_url), status="pending",
                      held_reasons=["mention"], verdict="hold", created_at=now)
    db.session.add(mention)
    db.session.flush()
    mention.root_id = mention.id
    notifications.comment_held(mention, base, now)
    webhooks.queue(site, "comment.created", mention, now)
    db.session.commit()  # held: nothing readers see changed, so no version moves (see comments.bump_thread)
    return VERIFIED + "the mention waits for moderation"


# Reading the source ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SourcePage:
    links: bool
    title: str | None = None
    author: str | None = None


def read_source(body, content_type, url, target):
    """Whether the fetched source links to the target, by its media type (Recommendation, 3.2.2), and
    the title and author name it gives. `url` is where the body came from, after redirects."""
    mimetype, options = parse_options_header(content_type or "")
    text = _decode(body, options.get("charset"), sniff=mimetype in ("", "text/html", "application/xhtml+xml"))
    if mimetype in ("", "text/html", "application/xhtml+xml"):
        return _read_html(text, url, target)
    if mimetype == "text/plain":
        return SourcePage(links=target in text)
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return _read_json(text, target)
    return SourcePage(links=False)


META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]{1,40})""", re.I)


def _decode(body, charset, sniff):
    """The source's text: in the encoding its Content-Type names, else (HTML) its <meta>, else UTF-8; only
    WHATWG labels count, so no page can pick a slow or odd Python codec (punycode took minutes a megabyte)."""
    if charsets.codec(charset) is None and sniff:
        found = META_CHARSET.search(body[:1024])
        if found:
            return charsets.decode(body, found.group(1).decode("ascii"), in_meta=True)
    return charsets.decode(body, charset)


def _same_page(value, base, target_key):
    try:
        return normalise_url(urljoin(base, value.strip())) == target_key
    except ValueError:  # a malformed URL (an unclosed IPv6 bracket, say) links nowhere
        return False


def _read_html(text, url, target):
    parser = _Page()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # what html.parser may raise on broken markup: keep what it read
        pass
    base = urljoin(url, parser.base) if parser.base else url
    target_key = normalise_url(target)
    links = any(_same_page(value, base, target_key) for value in parser.links)
    found = parser.found
    title = _cut(names.clean(found.get("entry_name") or found.get("title") or found.get("h1") or ""), MAX_TITLE)
    author = _cut(names.clean(found.get("author_name") or found.get("author_card") or found.get("meta_author") or ""),
                  MAX_AUTHOR)
    return SourcePage(links=links, title=title or None, author=author or None)


def _read_json(text, target):
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return SourcePage(links=False)
    target_key = normalise_url(target)
    stack, links, seen = [data], False, 0
    while stack and not links and seen < 100_000:
        value = stack.pop()
        seen += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            links = value == target or (is_web_url(value) and normalise_url(value) == target_key)
    title = None
    if isinstance(data, dict):
        named = data.get("name") or data.get("title")
        title = _cut(names.clean(named), MAX_TITLE) if isinstance(named, str) else None
    return SourcePage(links=links, title=title or None)


def _cut(text, limit):
    """Plain text shortened to `limit` characters (escaped only when shown, so cutting breaks no markup)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


# Elements and attributes that link somewhere, as the Recommendation lists them ("and other similar links").
LINK_ATTRIBUTES = {"a": ("href",), "area": ("href",), "link": ("href",), "img": ("src",),
                   "video": ("src", "poster"), "audio": ("src",), "source": ("src",), "track": ("src",),
                   "iframe": ("src",), "embed": ("src",), "object": ("data",), "blockquote": ("cite",),
                   "q": ("cite",), "ins": ("cite",), "del": ("cite",)}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
        "wbr"}
MAX_CAPTURE = 2_000
MAX_UNFINISHED = 16 * 1024


@dataclass
class _Open:
    """An open element, with what it inherits from the elements around it, so no tag looks back up the stack:
    a page of a million unclosed <div>s is read in one pass, not in a million."""

    tag: str
    root: frozenset[str]  # the classes of the nearest microformat root (h-*) open here, itself included
    in_svg: bool


@dataclass
class _Capture:
    what: str
    depth: int  # how many elements were open when it began
    parts: list[str]
    size: int = 0


class _Page(HTMLParser):
    """Links, <base href>, and the few texts a mention shows: the h-entry's name, <title>, the first
    <h1>, and the author's h-card name (microformats2, read only as far as these need)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.base: str | None = None
        self.found: dict[str, str] = {}
        self._open: list[_Open] = []
        self._open_tags: Counter[str] = Counter()  # how many of each tag are open: a stray end tag is seen at once
        self._captures: list[_Capture] = []

    def _capture(self, what, depth):
        if what not in self.found and all(c.what != what for c in self._captures):
            self._captures.append(_Capture(what, depth, []))

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for attribute in LINK_ATTRIBUTES.get(tag, ()):
            if values.get(attribute):
                self.links.append(values[attribute])
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        if tag == "meta" and (values.get("name") or "").lower() == "author" and values.get("content"):
            self.found.setdefault("meta_author", values["content"][:MAX_CAPTURE])
        if tag in VOID:
            return
        classes = frozenset((values.get("class") or "").split())
        parent = self._open[-1] if self._open else _Open("", frozenset(), False)
        root = parent.root  # the nearest root around this element, not counting it
        depth = len(self._open)
        is_root = any(c.startswith("h-") for c in classes)
        opened = _Open(tag, classes if is_root else root, parent.in_svg or tag == "svg")
        self._open.append(opened)
        self._open_tags[tag] += 1
        if tag == "title" and not opened.in_svg:
            self._capture("title", depth)
        elif tag == "h1":
            self._capture("h1", depth)
        if "p-name" in classes and "h-entry" in root and not is_root:
            self._capture("entry_name", depth)
        if "p-name" in classes and "h-card" in root and "p-author" in root:
            self._capture("author_name", depth)
        if "p-author" in classes:
            self._capture("author_card", depth)

    def close(self):
        try:
            # What an unfinished tag left unread is read again at the close one character at a time, each
            # time to the end: 100 kB of "<a" took 5 s (html.parser before Python 3.11.13). A real page
            # leaves a few bytes there; a long tail that is all one unfinished tag holds nothing to keep.
            if len(self.rawdata) <= MAX_UNFINISHED:
                super().close()
        finally:  # elements still open at the end of the page end there
            for capture in self._captures:
                self.found.setdefault(capture.what, "".join(capture.parts))
            self._captures.clear()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if not self._open_tags[tag]:
            return  # a stray end tag closes nothing
        while self._open:
            open_tag = self._open.pop().tag
            self._open_tags[open_tag] -= 1
            depth = len(self._open)
            while self._captures and self._captures[-1].depth >= depth:  # begun inside what just ended
                capture = self._captures.pop()
                self.found.setdefault(capture.what, "".join(capture.parts))
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._open and self._open[-1].tag in ("script", "style", "template"):
            return
        for capture in self._captures:
            if capture.size < MAX_CAPTURE:
                capture.parts.append(data[:MAX_CAPTURE])
                capture.size += len(capture.parts[-1])
