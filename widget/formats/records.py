"""What every reader yields: pages (threads) and the entries (comments) on them."""
from dataclasses import dataclass
from datetime import UTC, datetime

# A page address longer than this cannot be stored (nor is one): its page is left out. Titles are cut to
# 300 characters when stored; this much is kept of one while the file is read.
MAX_URL = 2048
MAX_TITLE = 2000


class FormatError(Exception):
    """The file is not what it claims to be; the message says where."""


@dataclass
class Page:
    """A page of the old system, keyed in the file by `ref`."""

    ref: str
    url: str | None
    title: str | None = None
    # A Parley export's own thread key (a thread given an explicit id has no URL to derive it from).
    key: str | None = None
    locked: bool = False
    created_at: datetime | None = None
    # Made even when no entry refers to it (a Parley export keeps its empty threads).
    keep_empty: bool = False


@dataclass
class Entry:
    """One comment or mention, its text either HTML (`html`) or Markdown (`markdown`), never trusted."""

    ref: str  # the id the file gives it; unique within the file
    page_ref: str
    parent_ref: str | None
    created_at: datetime
    status: str  # approved, pending, spam or deleted
    html: str | None = None
    markdown: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    author_website: str | None = None
    ip: str | None = None  # hashed before it is stored; never kept as it is
    likes: int = 0
    pinned: bool = False
    edited_at: datetime | None = None
    kind: str = "comment"  # or "mention" (a pingback, trackback or Webmention)
    source_url: str | None = None
    source_title: str | None = None  # a mention's text: the title of the page that links here
    # Why it is left out, if it is (a pingback the owner did not want, a type we don't know).
    skip: str | None = None


@dataclass
class Source:
    """Whose ids the file's are: a blog's address, a Disqus forum, an Isso database's own key. Two sources
    number their comments alike (from 1, often), so an id means one comment only together with its source."""

    name: str


@dataclass
class Note:
    """A record of the file that is not imported, counted in the summary under `reason`."""

    reason: str


def naive_utc(moment):
    """A datetime as the database keeps it: UTC, without a zone."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def parse_iso(text):
    """An ISO 8601 time (`Z` allowed), as naive UTC; raises ValueError."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return naive_utc(datetime.fromisoformat(text))
