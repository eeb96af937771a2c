"""An Isso database (SQLite), read as Isso's own code writes it (isso/db/threads.py, isso/db/comments.py).

    threads(id, uri, title)
    comments(tid, id, parent, created, modified, mode, remote_addr, text, author, email, website,
             likes, dislikes, voters, notification)

`uri` is a path ("/posts/hello/"): joined to a base URL to make the page's address. `text` is
Markdown; `mode` is 1 for published, 2 for waiting, 4 for deleted (kept because it has replies);
`created` and `modified` are Unix times. The database is opened read-only and read by cursor.
"""
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from .records import Entry, FormatError, Page, Source

MODES = {1: "approved", 2: "pending", 4: "deleted"}
COLUMNS = {
    "threads": {"id", "uri", "title"},
    "comments": {"tid", "id", "parent", "created", "modified", "mode", "remote_addr", "text", "author", "email",
                 "website", "likes"},
}


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"no file {path}")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {name: {row[1] for row in connection.execute(f"PRAGMA table_info({name})")} for name in COLUMNS}
    except sqlite3.DatabaseError as error:
        connection.close()
        raise FormatError(f"not an Isso database: {path.name} is not a SQLite database ({error})") from None
    # A view could make every read run a query of the file's author's choosing, forever if they like.
    kinds = dict(connection.execute("SELECT name, type FROM sqlite_master WHERE name IN ('threads', 'comments')"))
    for name, needed in COLUMNS.items():
        if kinds.get(name, "table") != "table":
            connection.close()
            raise FormatError(f"not an Isso database: {name!r} is a {kinds[name]}, not a table")
        if missing := needed - tables[name]:
            connection.close()
            what = f"no table {name!r}" if not tables[name] else f"table {name!r} lacks {', '.join(sorted(missing))}"
            raise FormatError(f"not an Isso database: {what}")
    return connection


def count(path):
    """How many comments the database holds (for progress)."""
    connection = _open(path)
    try:
        return connection.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    finally:
        connection.close()


def _time(value):
    return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None) if value is not None else None


def _edited(value):
    try:
        return _time(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _source(connection):
    """The database's own session key, which Isso makes at random when it makes the database (isso/db/preferences.py):
    what tells one Isso's comment 1 from another's. None where there is none."""
    kind = connection.execute("SELECT type FROM sqlite_master WHERE name = 'preferences'").fetchone()
    columns = {row[1] for row in connection.execute("PRAGMA table_info(preferences)")}
    if kind != ("table",) or not {"key", "value"} <= columns:
        return None
    found = connection.execute("SELECT substr(value, 1, 200) FROM preferences WHERE key = 'session-key'").fetchone()
    return Source(found[0]) if found and isinstance(found[0], str) and found[0] else None


def read(path, base_url):
    """Pages and entries of an Isso database, thread by thread; `base_url` turns its paths into URLs."""
    connection = _open(path)
    try:
        if source := _source(connection):
            yield source
        rows = connection.execute(
            "SELECT t.id, t.uri, t.title, c.id, c.parent, c.created, c.modified, c.mode, c.remote_addr, c.text, "
            "c.author, c.email, c.website, c.likes FROM comments c JOIN threads t ON t.id = c.tid "
            "ORDER BY c.tid, c.id")
        page = None
        for tid, uri, title, cid, parent, created, modified, mode, address, text, author, email, website, likes in rows:
            if page is None or page.ref != str(tid):
                page = Page(ref=str(tid), url=urljoin(base_url, uri) if uri else None, title=title or None)
                yield page
            try:
                created_at = _time(created)
            except (TypeError, ValueError, OverflowError):
                raise FormatError(f"comment {cid} (thread {uri!r}): created is {created!r}, not a Unix time") from None
            yield Entry(
                ref=str(cid), page_ref=page.ref, parent_ref=str(parent) if parent else None,
                created_at=created_at or datetime(1970, 1, 1), status=MODES.get(mode, "pending"),
                markdown=text or "", author_name=author, author_email=email, author_website=website, ip=address,
                likes=likes if isinstance(likes, int) and likes > 0 else 0, edited_at=_edited(modified),
            )
    except sqlite3.DatabaseError as error:
        raise FormatError(f"the Isso database could not be read: {error}") from None
    finally:
        connection.close()
