"""Public reads answered from stored bytes for as long as the database says nothing changed.

A WSGI layer in front of the app. A GET of a thread page or of comment counts that carries no
reader token is looked up by its URL; while one indexed query finds the site and its threads at
the versions the stored answer was made from, the stored bytes go out (gzip and brotli made once
per version), and 304s cost no more than that query. Anything else, and every miss, goes to the
app; a view that answers a public read hands back a Ticket, which says how to check the answer
later. Every write to a thread bumps its version and every settings change the site's
updated_at, so a stored answer can never outlive what it shows, on any worker or machine: the
check is made against the shared database, not against messages that could be lost.
"""
import gzip
import hashlib
import itertools
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

import brotli
from werkzeug.http import parse_accept_header, parse_etags

from .compression import MIN_SIZE
from .extensions import db

log = logging.getLogger(__name__)

TICKET = "parley.read_cache"  # where a view leaves its Ticket in the WSGI environ
CACHED_PATHS = ("/api/v1/threads", "/api/v1/counts")
# Requests that may be personal: the answer depends on who asks, so it is never stored or served from here.
PERSONAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_READER_TOKEN")
# Headers of a stored answer that are made per response.
PER_RESPONSE = {"content-length", "content-encoding", "date", "server", "set-cookie"}
# What the stored answer also depends on, besides the path and query: the host and scheme (links in
# it are absolute when PUBLIC_URL is unset), what a trusted proxy says of them, and the caller's
# Origin (the CORS headers).
KEY_HEADERS = ("HTTP_HOST", "wsgi.url_scheme", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
               "HTTP_X_FORWARDED_PREFIX", "HTTP_ORIGIN")
GZIP_LEVEL = 6
BROTLI_QUALITY = 5  # near gzip's speed, smaller output; 11 would take a second per big thread

# The checks: the site's updated_at, and each named thread's id and version ({p}: the driver's placeholder).
# Sites are named by their public id, so a view can take its ticket before it reads anything else. A thread
# with nothing published on it (version 0) reads as none, as it does to readers (comments.readers_thread):
# held comments on a new page leave every stored answer good.
THREAD_CHECK = ("SELECT s.updated_at, t.id, t.version FROM sites s "
                "LEFT JOIN threads t ON t.site_id = s.id AND t.key = {p} AND t.version > 0 WHERE s.public_id = {p}")
COUNTS_CHECK = ("SELECT s.updated_at, t.id, t.version FROM sites s LEFT JOIN threads t "
                "ON t.site_id = s.id AND t.url_hash IN ({ps}) AND t.version > 0 WHERE s.public_id = {p} ORDER BY t.id")


@dataclass(frozen=True)
class Ticket:
    """How to tell that a stored answer is still current: a check query, its parameters and its result then."""

    sql: str
    params: tuple
    validator: tuple
    expires_at: float | None = None  # a moment the answer changes by the clock alone (a thread closing)


@dataclass(frozen=True)
class Entry:
    ticket: Ticket
    status: str
    headers: list
    etag: str | None
    body: bytes
    gzipped: bytes | None
    brotli: bytes | None

    @property
    def size(self):
        return len(self.body) + len(self.gzipped or b"") + len(self.brotli or b"") + 1024


class Checker:
    """Runs check queries on this thread's own connection, in autocommit: no transaction, no pool wait."""

    def __init__(self, engine):
        self.engine = engine
        self.placeholder = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.local = threading.local()
        self.opened: list = []  # every connection made, so close() can end them all

    def sql(self, template, count=1):
        p = self.placeholder
        return template.format(p=p, ps=", ".join([p] * count))

    def _connection(self):
        connection = getattr(self.local, "connection", None)
        if connection is None or self.local.pid != os.getpid():
            fairy = self.engine.raw_connection()
            connection = fairy.driver_connection
            fairy.detach()  # ours for this thread's life, outside the pool's resets and limits
            if self.engine.dialect.name == "postgresql":
                connection.rollback()  # the pool's liveness ping may have begun a transaction
                connection.autocommit = True
            self.local.fairy, self.local.connection, self.local.pid = fairy, connection, os.getpid()
            self.local.prepared = {}  # check SQL -> its statement's name on this connection (PostgreSQL)
            self.opened.append(connection)
        return connection

    def close(self):
        while self.opened:
            try:
                self.opened.pop().close()
            except Exception:  # noqa: S110  (closing what may already be broken)
                pass

    def run(self, sql, params):
        try:
            connection = self._connection()
            if self.engine.dialect.name == "postgresql":
                return self._run_prepared(connection, sql, params)
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                return tuple(tuple(row) for row in cursor.fetchall())
            finally:
                cursor.close()
        except Exception:
            # A dropped connection is replaced on the next call; meanwhile the app answers (or says why not).
            connection, self.local.connection = getattr(self.local, "connection", None), None
            if connection is not None:
                try:
                    connection.close()
                except Exception:  # noqa: S110  (already broken)
                    pass
            raise

    def _run_prepared(self, connection, sql, params):
        """The check as a statement prepared once per connection, run through libpq itself: a psycopg cursor
        costs more in Python than the query's round trip, on every thread read and every 304. Values come
        back as the server's text, which is all a comparison with the last check needs."""
        from psycopg import pq  # PostgreSQL's driver, loaded only where it is the database

        pgconn = connection.pgconn
        name = self.local.prepared.get(sql)
        if name is None:
            numbers = itertools.count(1)
            numbered = re.sub("%s", lambda _: f"${next(numbers)}", sql)
            name = f"parley_check_{len(self.local.prepared)}".encode()
            _raise_unless(pgconn.prepare(name, numbered.encode()), pq.ExecStatus.COMMAND_OK)
            self.local.prepared[sql] = name
        result = _raise_unless(pgconn.exec_prepared(name, [str(value).encode() for value in params]),
                               pq.ExecStatus.TUPLES_OK)
        return tuple(tuple(result.get_value(row, column) for column in range(result.nfields))
                     for row in range(result.ntuples))


def _raise_unless(result, status):
    if result.status != status:
        raise RuntimeError(f"check failed: {result.error_message.decode(errors='replace').strip()}")
    return result


class Store:
    """Entries by key, least recently used dropped first once they pass `max_bytes`."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.entries: OrderedDict = OrderedDict()
        self.used = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key, entry):
        if entry.size > self.max_bytes // 4:
            return  # one huge answer must not push out everything else
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.used -= old.size
            self.entries[key] = entry
            self.used += entry.size
            while self.used > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.used -= dropped.size

    def drop(self, key, entry):
        with self.lock:
            if self.entries.get(key) is entry:
                self.used -= self.entries.pop(key).size


def kept_store(app, name, max_bytes):
    """The app's Store called `name`, made on first use (not on every call, as setdefault would)."""
    store = app.extensions.get(name)
    return store if store is not None else app.extensions.setdefault(name, Store(max_bytes))


def _encoding(environ, size):
    """The stored body to send: br, gzip or None (identity), by what the client accepts."""
    if size < MIN_SIZE:
        return None
    accepted = parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))
    if accepted["br"] > 0:
        return "br"
    return "gzip" if accepted["gzip"] > 0 else None


def _make_entry(ticket, status, headers, body):
    encoding = next((value for name, value in headers if name.lower() == "content-encoding"), None)
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding is not None:
        return None
    kept = [(name, value) for name, value in headers if name.lower() not in PER_RESPONSE]
    etag = next((value for name, value in kept if name.lower() == "etag"), None)
    big = len(body) >= MIN_SIZE
    return Entry(ticket, status, kept, etag, body,
                 gzip.compress(body, GZIP_LEVEL, mtime=0) if big else None,
                 brotli.compress(body, quality=BROTLI_QUALITY) if big else None)


class ReadCache:
    """The WSGI layer in front of the app; init_app() puts it there."""

    def __init__(self, wsgi_app, checker_factory, max_bytes):
        self.wsgi_app = wsgi_app
        self.checker_factory = checker_factory  # made on first use, in the serving process
        self.checker = None
        self.store = Store(max_bytes)

    def __call__(self, environ, start_response):
        if (environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("PATH_INFO") not in CACHED_PATHS
                or any(environ.get(name) for name in PERSONAL_HEADERS)):
            return self.wsgi_app(environ, start_response)
        key = (environ["PATH_INFO"], environ.get("QUERY_STRING", ""), *(environ.get(h) for h in KEY_HEADERS))
        entry = self.store.get(key)
        if entry is not None:
            if self._current(entry):
                return self._send(entry, environ, start_response)
            self.store.drop(key, entry)
        return self._fill(key, environ, start_response)

    def checker_or_none(self):
        if self.checker is None and self.checker_factory is not None:
            self.checker, self.checker_factory = self.checker_factory(), None
        return self.checker

    def close(self):
        """End the check connections (a test's app, a clean shutdown); the next check opens new ones."""
        if self.checker is not None:
            self.checker.close()

    def _current(self, entry):
        ticket = entry.ticket
        if ticket.expires_at is not None and time.time() >= ticket.expires_at:
            return False
        try:
            return self.checker_or_none().run(ticket.sql, ticket.params) == ticket.validator
        except Exception:
            log.warning("the read cache could not check the database; the app answers instead", exc_info=True)
            return False

    def _fill(self, key, environ, start_response):
        """Ask the app for the whole answer (a GET, no If-None-Match); keep it if its view allows."""
        inner = dict(environ, REQUEST_METHOD="GET")  # a HEAD's empty body must never be stored
        inner.pop("HTTP_IF_NONE_MATCH", None)
        captured: list = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers]
            return lambda data: None  # the legacy write() callable; Flask never uses it

        result = self.wsgi_app(inner, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured
        ticket = inner.get(TICKET)
        entry = None
        if ticket is not None and status.startswith("200 ") and not any(
                name.lower() == "set-cookie" for name, _ in headers):
            entry = _make_entry(ticket, status, headers, body)
        if entry is None:
            start_response(status, headers)
            return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        self.store.put(key, entry)
        return self._send(entry, environ, start_response)

    def _send(self, entry, environ, start_response):
        if entry.etag and parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(entry.etag.strip('"')):
            headers = [(name, value) for name, value in entry.headers if name.lower() != "content-type"]
            start_response("304 NOT MODIFIED", headers)
            return [b""]
        encoding = _encoding(environ, len(entry.body))  # None below MIN_SIZE, where nothing was compressed
        body = {"br": entry.brotli, "gzip": entry.gzipped}[encoding] if encoding else entry.body
        headers = list(entry.headers)
        if encoding:
            headers.append(("Content-Encoding", encoding))
        headers.append(("Content-Length", str(len(body))))
        start_response(entry.status, headers)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]


# For views ---------------------------------------------------------------------------------

def _checker(app):
    cache = app.extensions.get("parley.read_cache")
    return cache.checker_or_none() if cache is not None else None


def _checked(checker, sql, params):
    """A Ticket with the check's result now; None when the check fails (the view's own reads then say why)."""
    try:
        return Ticket(sql, params, checker.run(sql, params))
    except Exception:
        log.warning("the read cache could not check the database", exc_info=True)
        return None


def thread_ticket(app, site_id, key):
    """The Ticket for a thread page of site `site_id` at thread `key`: checked now, before anything is read."""
    checker = _checker(app)
    if checker is None:
        return None
    sql = checker.sql(THREAD_CHECK)
    return _checked(checker, sql, (key, site_id))


def counts_ticket(app, site_id, url_hashes):
    """The Ticket for the comment counts of site `site_id`'s pages with these URL hashes, checked now."""
    checker = _checker(app)
    if checker is None:
        return None
    hashes = tuple(sorted(set(url_hashes)))
    sql = checker.sql(COUNTS_CHECK, len(hashes))
    return _checked(checker, sql, (*hashes, site_id))


def until(ticket, moment: datetime | None):
    """The ticket, ending at a naive UTC moment when the answer changes by the clock (a thread closing)."""
    if ticket is None or moment is None:
        return ticket
    return replace(ticket, expires_at=(moment - datetime(1970, 1, 1)).total_seconds())


# Shared between workers and instances through Redis ---------------------------------------------

SHARED_SECONDS = 86_400  # old versions are never asked for again; let Redis forget them within a day


def _redis(app):
    """This app's Redis client for stored pages, or None without REDIS_URL."""
    if not app.config["REDIS_URL"]:
        return None
    client = app.extensions.get("parley.read_cache_redis")
    if client is None:
        import redis  # only with REDIS_URL: the redis extra (pip install 'parley[redis]')

        client = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=0.25, socket_connect_timeout=0.25)
        app.extensions["parley.read_cache_redis"] = client
    return client


def _shared_key(app, ticket, parts):
    digest = hashlib.sha256(repr((ticket.validator, *parts)).encode()).hexdigest()
    return f"{app.config['RATELIMIT_KEY_PREFIX']}:page:{digest}"


@dataclass(frozen=True)
class _Body:
    body: bytes

    @property
    def size(self):
        return len(self.body) + 256


def public_body(app, ticket, parts, make, share=True):
    """The public answer's bytes at the ticket's versions: kept in this process, else another worker's
    from Redis, else `make()`-d here and kept in both. `parts` are what else the bytes depend on.

    Only answers a reader's widget asks for are `share`d: Redis has no bound of its own, and
    made-up variants (forged cursors, odd limits) must not fill it.
    """
    if ticket is None:
        return make()
    key = _shared_key(app, ticket, parts)
    local = kept_store(app, "parley.public_bodies", int(app.config["READ_CACHE_MB"] * 1024 * 256))
    kept = local.get(key)
    if kept is not None:
        return kept.body
    client = _redis(app) if share else None
    body = None
    if client is not None:
        try:
            body = client.get(key)
        except Exception:
            log.warning("Redis did not answer; the page is made here", exc_info=True)
    if body is None:
        body = make()
        if client is not None:
            try:
                client.set(key, body, ex=SHARED_SECONDS)
            except Exception:
                log.warning("Redis did not answer; the page is not shared", exc_info=True)
    local.put(key, _Body(body))
    return body


def init_app(app):
    """Put the read cache in front of the app, unless READ_CACHE_MB is 0."""
    max_bytes = int(app.config["READ_CACHE_MB"] * 1024 * 1024)
    if max_bytes <= 0:
        return

    def make_checker():
        with app.app_context():
            engine = db.engine
        if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
            return None  # one shared in-memory connection: nothing to check it with apart
        return Checker(engine)

    cache = ReadCache(app.wsgi_app, make_checker, max_bytes)
    app.wsgi_app = cache
    app.extensions["parley.read_cache"] = cache
