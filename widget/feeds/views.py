"""The two feeds, built with feedgen: which comments go in comes from the comments service."""
import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import current_app, request

from .. import comments as service
from ..sites import get_site
from ..web import inputs
from ..web.headers import FEED_POLICY, secure_html
from ..web.public_url import own_origin, public_url_for
from . import bp

FEED_SIZE = 50
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
# Feed readers poll; five minutes of staleness spares the database most of their requests.
MAX_AGE = 300
# What XML 1.0 cannot carry (controls, U+FFFE, U+FFFF): input checks refuse most of it, but a
# single such character in a name or body would otherwise fail the whole feed.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text):
    return NOT_XML.sub("\ufffd", text)


def _utc(moment):
    return moment.replace(tzinfo=UTC)  # stored as naive UTC


def _host():
    return urlsplit(own_origin() or "").hostname or "localhost"


def _tag(host, day: datetime, specific):
    """A tag: URI (RFC 4151): this server's host, a fixed day, a name; it never changes for the same thing."""
    return f"tag:{host},{day.date().isoformat()}:{specific}"


def _page_name(thread):
    return thread.title or thread.url or "an untitled page"


def _add_entry(feed, host, comment):
    thread = comment.thread
    author = comment.author_name or "Anonymous"
    entry = feed.add_entry(order="append")
    # The creation day and the id: an edit, a moderator's change or a new title leave it alone.
    entry.id(_tag(host, comment.created_at, f"comment-{comment.id}"))
    entry.title(_xml(f"{author} on {_page_name(thread)}"))
    entry.author(name=_xml(author))  # the name only: never the email, nor the website
    entry.published(_utc(comment.created_at))
    entry.updated(_utc(comment.edited_at or comment.created_at))
    # The sanitised HTML, sent as escaped text (type="html"): markup only to a reader that renders it.
    entry.content(_xml(comment.html), type="html")
    if thread.url:  # a thread named only by an explicit thread id has no page to link to
        entry.link(href=f"{thread.url}#comment-{comment.id}", rel="alternate", type="text/html")


def _atom(feed_id, title, self_url, alternate, comments, updated_when_empty):
    """The feed's bytes, newest comment first, and when its newest entry last changed."""
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(_xml(title))
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    if alternate:
        feed.link(href=alternate, rel="alternate", type="text/html")
    feed.generator("Parley")
    host = _host()
    for comment in comments:
        _add_entry(feed, host, comment)
    updated = max((c.edited_at or c.created_at for c in comments), default=updated_when_empty)
    feed.updated(_utc(updated))
    return feed.atom_str(), updated


def _answer(body, updated):
    """The feed with validators: an ETag of its very bytes, so any change a reader could see changes it."""
    etag = hashlib.sha256(body).hexdigest()[:32]
    # Only the ETag answers 304: Last-Modified follows the newest entry, and a removed one does not move it.
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(body, content_type=CONTENT_TYPE)
    response.set_etag(etag)
    response.last_modified = _utc(updated)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return secure_html(response, FEED_POLICY, referrer="no-referrer")


@bp.get("/<site_id>.atom")
def site_feed(site_id):
    site = get_site(site_id)
    comments = service.latest_approved(site, limit=FEED_SIZE)
    body, updated = _atom(
        _tag(_host(), site.created_at, f"site/{site.public_id}"), site.name,
        public_url_for("feeds.site_feed", site_id=site.public_id), site.origins[0] if site.origins else None,
        comments, site.created_at)
    return _answer(body, updated)


@bp.get("/<site_id>/thread.atom")
def thread_feed(site_id):
    site = get_site(site_id)
    url = inputs.query_arg("url")
    thread_id = inputs.query_arg("thread_id", 200)
    key, normalised = service.thread_key(url, thread_id)
    thread = service.readers_thread(service.find_thread(site, url=url, thread_id=thread_id))
    page = (thread and thread.url) or normalised
    name = (thread and thread.title) or page or thread_id
    asked = {"url": normalised, "thread_id": thread_id}
    comments = service.latest_approved(site, thread, limit=FEED_SIZE) if thread else []
    body, updated = _atom(
        # From the thread's key, which exists before its first comment: the feed keeps its id.
        _tag(_host(), site.created_at, f"site/{site.public_id}/thread/{key}"), f"Comments on {name}",
        public_url_for("feeds.thread_feed", site_id=site.public_id, **{k: v for k, v in asked.items() if v}),
        page, comments, thread.created_at if thread else site.created_at)
    return _answer(body, updated)
