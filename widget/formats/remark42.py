"""A Remark42 backup (the daily backup-SITE-DATE.gz, or an export): JSON Lines, gzip-compressed or not.

The first line is the site's metadata, then one comment a line (backend/app/migrator/native.go):

    {"version":1,"users":[…],"posts":[{"url":"https://…","read_only":true}]}
    {"id":"…","pid":"","text":"<p>HTML</p>","orig":"Markdown","user":{"name":"…","id":"…","ip":"<hash>"},
     "locator":{"site":"…","url":"https://…"},"score":1,"votes":{"user":true},"time":"2017-12-20T15:18:22-06:00",
     "edit":{"time":"…","summary":""},"pin":true,"delete":false,"title":"Post title"}

Remark42 keeps no email, and only a hash of the address, so neither comes along.
"""
from .lines import json_lines
from .records import Entry, FormatError, Page, Source, parse_iso

HEADER = 'the first line of a Remark42 backup is its header {"version": 1, "users": [...], "posts": [...]}'


def _header(number, value):
    if number != 1 or "version" not in value or "locator" in value:
        raise FormatError(f"line {number}: not a Remark42 backup: {HEADER}")
    if value["version"] not in (0, 1):
        raise FormatError(f"line 1: Remark42 backup version {value['version']!r}; this reads versions 0 and 1")
    posts = value.get("posts") or []
    return {post.get("url") for post in posts if isinstance(post, dict) and post.get("read_only")}


def _str(value):
    return value.strip() if isinstance(value, str) else ""


def read(file):
    """Pages and entries of a Remark42 backup, in file order."""
    read_only: set[str] | None = None
    pages: set[str] = set()
    site: str | None = None  # the Remark42 site (locator.site) of the first comment: the source of the file's ids
    for number, value in json_lines(file):
        if read_only is None:
            read_only = _header(number, value)
            continue
        locator, user = value.get("locator"), value.get("user")
        ref, url = _str(value.get("id")), _str(locator.get("url")) if isinstance(locator, dict) else ""
        if not ref or not url:
            raise FormatError(f"line {number}: a comment needs an id and a locator.url")
        try:
            created = parse_iso(_str(value.get("time")))
            edit = value.get("edit")
            edited = parse_iso(_str(edit.get("time"))) if isinstance(edit, dict) and edit.get("time") else None
        except ValueError:
            raise FormatError(f"line {number} (comment {ref}): time is not an RFC 3339 time") from None
        if site is None:
            site = _str(locator.get("site"))
            if site:
                yield Source(site)
        if url not in pages:
            pages.add(url)
            yield Page(ref=url, url=url, title=_str(value.get("title")) or None, locked=url in read_only)
        votes = value.get("votes")
        likes = sum(1 for up in votes.values() if up is True) if isinstance(votes, dict) else 0
        score = value.get("score")
        yield Entry(
            ref=ref, page_ref=url, parent_ref=_str(value.get("pid")) or None, created_at=created,
            status="deleted" if value.get("delete") is True else "approved",
            html=value.get("text") if isinstance(value.get("text"), str) else "",
            markdown=value["orig"] if isinstance(value.get("orig"), str) and value["orig"].strip() else None,
            author_name=_str(user.get("name")) if isinstance(user, dict) else None,
            likes=likes or (score if isinstance(score, int) and score > 0 else 0),
            pinned=value.get("pin") is True, edited_at=edited,
        )
    if read_only is None:
        raise FormatError(f"line 1: the file is empty: {HEADER}")
