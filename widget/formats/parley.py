"""Parley's own export (docs/export.md, docs/export.schema.json): JSON Lines, a header line first.

    {"format": "parley-export", "version": 1, "exported_at": "…", "site": {…}}
    {"type": "thread", "id": 3, "key": "…", "url": "https://…", "title": "…", "locked": false, "created_at": "…"}
    {"type": "comment", "id": 41, "thread": 3, "parent": null, "status": "approved", "kind": "comment", "body": "…",
     "html": "…", "author_name": "…", "author_email": "…", …}
    {"type": "subscription", "email": "…", "kind": "replies", "thread": 3, "comment": 41, …}

Each thread comes before its comments.
"""
from .lines import json_lines
from .records import Entry, FormatError, Note, Page, Source, parse_iso

FORMAT = "parley-export"
VERSION = 1
STATUSES = ("approved", "pending", "spam", "deleted")
KINDS = ("comment", "mention")


def _field(value, name, kind, number, required=True):
    found = value.get(name)
    if found is None and not required:
        return None
    if type(found) is not kind:  # exactly: true is no number here, nor 1 a flag
        raise FormatError(f"line {number}: {name!r} is missing or not a {kind.__name__}")
    return found


def _time(value, name, number, required=True):
    text = _field(value, name, str, number, required)
    if text is None:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        raise FormatError(f"line {number}: {name!r} is {text[:40]!r}, not an ISO 8601 time") from None


def _header(number, value):
    if value.get("format") != FORMAT:
        raise FormatError(f'line {number}: not a Parley export: the first line must be {{"format": "{FORMAT}", …}}')
    if value.get("version") != VERSION:
        raise FormatError(f"line {number}: Parley export version {value.get('version')!r}; this server reads "
                          f"version {VERSION}")


def _source(site):
    """The exported site, by its id and the moment it was made: what another server's site of the same id is not."""
    if isinstance(site, dict) and isinstance(site.get("id"), str) and isinstance(site.get("created_at"), str):
        return Source(f"{site['id']} {site['created_at']}")
    return None


def read(file):
    """Pages, entries and notes of a Parley export, in file order."""
    started = False
    threads: set[str] = set()
    for number, value in json_lines(file):
        if not started:
            _header(number, value)
            started = True
            if source := _source(value.get("site")):
                yield source
            continue
        kind = value.get("type")
        if kind == "thread":
            ref = str(_field(value, "id", int, number))
            threads.add(ref)
            yield Page(ref=ref, url=_field(value, "url", str, number, required=False),
                       key=_field(value, "key", str, number), title=_field(value, "title", str, number, False),
                       locked=_field(value, "locked", bool, number), created_at=_time(value, "created_at", number),
                       keep_empty=True)
        elif kind == "comment":
            yield _comment(number, value, threads)
        elif kind == "subscription":
            yield Note("subscriptions (a file cannot vouch for a reader's consent)")
        else:
            raise FormatError(f"line {number}: unknown record type {kind!r}; expected thread, comment or subscription")
    if not started:
        raise FormatError(f'line 1: the file is empty: a Parley export starts with {{"format": "{FORMAT}", …}}')


def _comment(number, value, threads):
    ref = str(_field(value, "id", int, number))
    thread = str(_field(value, "thread", int, number))
    if thread not in threads:
        raise FormatError(f"line {number}: comment {ref} is on thread {thread}, which no earlier line describes")
    status, kind = _field(value, "status", str, number), _field(value, "kind", str, number)
    if status not in STATUSES or kind not in KINDS:
        raise FormatError(f"line {number}: comment {ref} has status {status!r} and kind {kind!r}; expected a status "
                          f"among {', '.join(STATUSES)} and a kind among {', '.join(KINDS)}")
    parent = _field(value, "parent", int, number, required=False)
    body = _field(value, "body", str, number)
    entry = Entry(
        ref=ref, page_ref=thread, parent_ref=str(parent) if parent is not None else None,
        created_at=_time(value, "created_at", number), status=status, html=_field(value, "html", str, number),
        markdown=body, author_name=_field(value, "author_name", str, number, False),
        author_email=_field(value, "author_email", str, number, False),
        author_website=_field(value, "author_website", str, number, False),
        likes=_field(value, "likes", int, number), pinned=_field(value, "pinned", bool, number),
        edited_at=_time(value, "edited_at", number, required=False), kind=kind,
        source_url=_field(value, "source_url", str, number, False),
    )
    if kind == "mention":
        entry.source_title = body
    return entry
