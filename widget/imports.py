"""Bringing another system's comments into a site: one function for the command line and the dashboard.

`run_import` reads the file as a stream (widget/formats/), writes threads and comments straight to the
tables (no notifications, no webhooks, no spam checks: this is history, not new comments) and returns
a summary. Each comment is keyed by the export's kind, its source (see `_Writer._store`) and its id there,
so a second run adds nothing.
"""
import io
import os
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from . import audit, bans, markup, names
from .comments import bump_thread, empty_placeholder, thread_key
from .emails import is_email
from .errors import InvalidInput, NotFound
from .extensions import db
from .formats import Entry, FormatError, Note, Page, Source, disqus, isso, parley, remark42, wordpress
from .models import (
    COMMENT_STATUSES,
    MAX_ID,
    Comment,
    ImportBatch,
    Subscription,
    Thread,
    body_digest,
    fixed_defaults,
    utcnow,
)
from .tokens import digest
from .urls import is_web_url, normalise_url, origin_of

KINDS = ("wordpress", "disqus", "isso", "remark42", "json")
LABELS = {"wordpress": "WordPress export", "disqus": "Disqus export", "isso": "Isso database",
          "remark42": "Remark42 backup", "json": "Parley export"}
# What an imported comment's key starts with: "wordpress:1234", or "wordpress@<source>:1234" for a file that
# names its source (see _Writer._store).
KEY_PREFIX = {"wordpress": "wordpress", "disqus": "disqus", "isso": "isso", "remark42": "remark42", "json": "parley"}
# Hex digits of a source's digest in a key, and of a comment's fingerprint (when it was written, by whom) after
# a key that another source's comment holds: "wordpress:1#<fingerprint>".
TAG_LENGTH = 12
MAX_KEY = 200 - 1 - TAG_LENGTH  # the longest key that still takes a fingerprint (the column holds 200)
PINGBACK_CHOICES = ("keep", "skip")
# Bodies over this are left out (and said so), never cut: cutting HTML after cleaning it is how stored
# XSS happens. It is far above any site's own limit, which old comments need not meet.
MAX_BODY = 100_000
# Parents looked up lately, by (thread id, id in the file); past this many the oldest are forgotten and
# looked up in the database again if needed, so memory stays the same whatever the file's size.
CACHE_SIZE = 20_000
# Progress is told every so many records, and at least every so many seconds of work whatever the file holds:
# a background job shows it and renews its lease with it (a job silent for its lease's length is taken up
# again by another sender).
PROGRESS_EVERY = 500
PROGRESS_SECONDS = 1.0
ANONYMOUS = "Anonymous"
COMMENTS = cast(Table, Comment.__table__)
THREADS = cast(Table, Thread.__table__)


class ImportFailed(InvalidInput):
    """The file is malformed (the message says where) and nothing was written."""

    code = "invalid_import_file"


@dataclass(frozen=True)
class UrlRule:
    """Page addresses starting with `old` start with `new` instead."""

    old: str
    new: str

    def apply(self, url):
        return self.new + url[len(self.old):] if url.startswith(self.old) else None


def parse_url_rule(text):
    """A rule from "OLD→NEW" (or "OLD->NEW"), both absolute http(s) URLs; raises InvalidInput."""
    for arrow in ("→", "->"):
        if arrow in text:
            old, new = (normalise_url(part.strip()) for part in text.split(arrow, 1))
            break
    else:
        raise InvalidInput(f"a URL rule is OLD→NEW (or OLD->NEW), got {text!r}", code="invalid_url_rule")
    if old is None or new is None:
        raise InvalidInput(f"both sides of {text!r} must be http or https URLs", code="invalid_url_rule")
    # Compared normalised (http://OLD.example:80 is http://old.example/), and ending alike, so that
    # "http://old.example→https://new.example/blog" gives https://new.example/blog/post, not …/blogpost.
    if old.endswith("/") != new.endswith("/"):
        new = new + "/" if old.endswith("/") else new.rstrip("/")
    return UrlRule(old, new)


@dataclass(frozen=True)
class ImportOptions:
    # The app's secret key: addresses in the file are kept only as keyed hashes (bans.ip_hash).
    secret_key: str
    map_urls: tuple[UrlRule, ...] = ()
    # Do everything in a transaction that is then rolled back: the summary is exactly what an import would do.
    dry_run: bool = False
    pingbacks: str = "keep"  # pingbacks and trackbacks become mentions, or are left out ("skip")
    base_url: str | None = None  # Isso keeps paths: where they live (default: the site's first origin)
    # None: one transaction, all or nothing. A number: commit after every that many comments read (imported or
    # skipped), so a long import on SQLite lets new comments in between; a failed run leaves what it committed,
    # and a rerun completes it.
    batch_size: int | None = None
    source_name: str | None = None  # the file's name as the owner knows it (default: the path's last part)
    run_by: str = "command line"  # who runs it, as the list of imports names them


@dataclass
class ImportSummary:
    kind: str
    dry_run: bool = False
    threads_created: int = 0
    threads_found: int = 0
    comments: int = 0  # comments and mentions written (on a dry run: that would have been)
    statuses: Counter = field(default_factory=Counter)  # of those, by status
    mentions: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> how many records were left out
    # Replies whose parent is not in the file (or not on the same page): kept, at the top level.
    orphans: int = 0
    # Origins of imported pages that the site does not list: the widget there won't show them.
    foreign_origins: list[str] = field(default_factory=list)
    batches: int = 0  # commits made before the last one, with batch_size
    # Comments of an earlier run found on another page than this run maps theirs to, moved there with every reply
    # in their branch (readers' replies included): rows moved.
    moved: int = 0
    batch: int | None = None  # the ImportBatch of this run (none for a dry run)

    def as_dict(self):
        """The summary as JSON-ready data (for a background job to keep)."""
        return {"kind": self.kind, "dry_run": self.dry_run, "threads_created": self.threads_created,
                "threads_found": self.threads_found, "comments": self.comments, "statuses": dict(self.statuses),
                "mentions": self.mentions, "skipped": dict(self.skipped), "orphans": self.orphans,
                "foreign_origins": self.foreign_origins, "moved": self.moved, "batch": self.batch}

    def lines(self):
        """The summary in words, a line each."""
        shown = [f"{'Dry run, nothing was written: would import' if self.dry_run else 'Imported'} "
                 f"{self.comments} comments"
                 + (f" ({', '.join(f'{n} {status}' for status, n in sorted(self.statuses.items()))})"
                    if self.comments else "")
                 + (f", {self.mentions} of them mentions" if self.mentions else "") + ".",
                 f"Threads: {self.threads_created} created, {self.threads_found} found."]
        if self.moved:
            shown.append(f"{'Would move' if self.dry_run else 'Moved'} {self.moved} comments, with the replies to "
                         "them, from the pages an earlier import put them on to the pages this one maps them to.")
        if self.skipped:
            shown.append(f"Skipped: {sum(self.skipped.values())}")
            shown += [f"  {reason}: {n}" for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))]
        if self.orphans:
            shown.append(f"Replies to a comment that is not in the file, kept at the top level: {self.orphans}")
        if self.foreign_origins:
            shown.append(f"Pages on origins this site does not list (add them, or use --map-url): "
                         f"{', '.join(self.foreign_origins)}")
        if self.batch is not None and self.comments:
            shown.append(f"This is import {self.batch}: to take back what it added, run import undo {self.batch}.")
        return shown


Progress = Callable[[int, int | None], None]


def run_import(kind, source, site, options, progress: Progress | None = None) -> ImportSummary:
    """Import the comments of `source` (a file path) into `site`; returns what was done.

    `progress(done, total)` is called now and then: bytes read of the file's size, or rows of an Isso
    database's. Raises ImportFailed, with nothing written, for a malformed file.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}", code="invalid_import_kind")
    if options.pingbacks not in PINGBACK_CHOICES:
        raise InvalidInput("pingbacks are kept or skipped", code="invalid_pingbacks")
    base_url = options.base_url or (site.origins[0] if site.origins else None)
    if kind == "isso" and (base_url is None or normalise_url(base_url) is None):
        raise InvalidInput("an Isso import needs the site's address (--base-url https://blog.example.com)",
                           code="missing_base_url")
    summary = ImportSummary(kind, options.dry_run)
    batch = ImportBatch(site_id=site.id, kind=kind, source=_cut(options.source_name or os.path.basename(source), 300),
                        run_by=_cut(options.run_by, 200), options=_options_of(options))
    db.session.add(batch)
    db.session.flush()
    summary.batch = None if options.dry_run else batch.id
    writer = _Writer(site, kind, options, summary, batch.id)
    report = progress or (lambda done, total: None)
    batched = bool(options.batch_size) and not options.dry_run
    ticker = _Ticker(report, writer.commit if batched else None)
    try:
        with _records(kind, source, base_url, ticker.tick) as (records, position, total):
            ticker.position, ticker.total = position, total
            for number, record in enumerate(records, 1):
                if number % PROGRESS_EVERY == 0:
                    report(position(), total)
                ticker.tick()
                writer.take(record)
                if batched and writer.since_commit >= options.batch_size:
                    writer.commit()
            writer.finish()
            report(position() if total is None else total, total)
    except FormatError as error:
        db.session.rollback()
        done = (f" The {summary.batches} batches committed before it stay; fix the file and run the import "
                "again to complete it.") if summary.batches else " Nothing was imported."
        raise ImportFailed(f"{LABELS[kind]}: {error}.{done}") from None
    except BaseException:
        db.session.rollback()
        raise
    if options.dry_run:
        db.session.rollback()
    else:
        batch.summary = summary.as_dict()
        db.session.commit()
    return summary


def _options_of(options):
    """What the owner chose, as the list of imports shows it."""
    return {"map_url": [f"{rule.old}→{rule.new}" for rule in options.map_urls], "pingbacks": options.pingbacks,
            "base_url": options.base_url}


class _Ticker:
    """Tells the progress every PROGRESS_SECONDS of work, and commits with it when the import commits as it goes.

    Called between records, and as the file is read between two of them however long that takes, so
    that the writer is always between records when it commits."""

    def __init__(self, report, commit):
        self.report, self.commit = report, commit
        self.position: Callable[[], int] = lambda: 0
        self.total: int | None = None
        self.last = time.monotonic()

    def tick(self):
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.report(self.position(), self.total)
            if self.commit is not None:
                self.commit()  # the progress, and a background job's renewed lease, reach others with it


class _Counting(io.RawIOBase):
    """A file that counts the bytes read from it, for progress, and calls `tick()` as it is read."""

    def __init__(self, file, tick):
        self.file, self.count, self.tick = file, 0, tick

    def readable(self):
        return True

    def readinto(self, buffer):
        self.tick()
        size = self.file.readinto(buffer)
        self.count += size
        return size


@contextmanager
def _records(kind, source, base_url, tick):
    """(records, position(), total) for the source; position and total in bytes, or rows for Isso."""
    if kind == "isso":
        total = isso.count(source)
        seen = [0]

        def counted():
            for record in isso.read(source, base_url):
                seen[0] += isinstance(record, Entry)
                yield record
        yield counted(), lambda: seen[0], total
        return
    reader = {"wordpress": wordpress.read, "disqus": disqus.read, "remark42": remark42.read, "json": parley.read}[kind]
    try:
        raw = open(source, "rb")  # noqa: SIM115 - closed below, after the records are read
    except OSError as error:
        raise FormatError(f"cannot read {source}: {error.strerror}") from None
    counting = _Counting(raw, tick)
    try:
        yield reader(io.BufferedReader(counting, 256 * 1024)), lambda: counting.count, os.fstat(raw.fileno()).st_size
    finally:
        raw.close()


def _cut(text, length):
    return text[:length].strip() if text else text


# The columns an import writes; the others keep their defaults.
COMMENT_COLUMNS = ("thread_id", "parent_id", "root_id", "depth", "status", "kind", "body", "html", "author_name",
                   "author_email", "author_website", "source_url", "created_at", "edited_at", "likes", "pinned",
                   "ip_hash", "import_key", "body_digest", "import_site_id", "import_batch_id")


class _NewComment:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, compiled once and run on the driver's own cursor.

    An import runs it hundreds of thousands of times, and SQLAlchemy's work on each call would cost more
    than the database's. Values still go through each column type's bind processor, so they are stored
    exactly as the ORM stores them (SQLite's datetime text, say). No row back: it was there already.
    """

    def __init__(self):
        dialect = db.session.get_bind().dialect
        insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        # The model's own defaults for the other columns (Core would fill them in at execution, which this skips).
        self.defaults = {name: value for name, value in fixed_defaults(COMMENTS).items() if name not in COMMENT_COLUMNS}
        names = (*COMMENT_COLUMNS, *self.defaults)
        statement = (insert(COMMENTS)
                     .values({name: bindparam(name, type_=COMMENTS.c[name].type) for name in names})
                     .on_conflict_do_nothing(index_elements=["import_site_id", "import_key"]).returning(COMMENTS.c.id))
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = compiled.positiontup  # None for named parameter styles (psycopg's)
        self.processors = {name: processor for name, bind in compiled.binds.items()
                           if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        self.cursor: Any = None
        self.connection: Any = None

    def run(self, values):
        values = self.defaults | values
        for name, process in self.processors.items():
            values[name] = process(values[name])
        # The session's own connection, so the row is in its transaction; a new one after a commit, maybe.
        connection = db.session.connection().connection.driver_connection
        if connection is not self.connection:
            self.connection, self.cursor = connection, connection.cursor()  # type: ignore[union-attr]
        self.cursor.execute(self.sql, tuple(values[name] for name in self.order) if self.order else values)
        found = self.cursor.fetchone()
        return found[0] if found else None


# Statements run for many rows at once (executemany), built once.
_HANG = (update(COMMENTS).where(COMMENTS.c.id == bindparam("child"))
         .values(parent_id=bindparam("parent"), pinned=False))
_MOVE_BRANCH = (update(COMMENTS).where(COMMENTS.c.thread_id == bindparam("thread"),
                                       COMMENTS.c.root_id == bindparam("branch"))
                .values(root_id=bindparam("root"), depth=COMMENTS.c.depth + bindparam("offset")))


class _Writer:
    """Writes the records of one import, keeping in memory only what stays small."""

    def __init__(self, site, kind, options, summary, batch_id):
        self.site_id, self.origins, self.batch_id = site.id, set(site.origins or []), batch_id
        self.kind, self.prefix, self.options, self.summary = kind, KEY_PREFIX[kind], options, summary
        self.source: str | None = None  # the digest of the Source the file names, once it has named it
        # Comments imported before sources were part of keys (the upgrade put them in an "earlier" batch): a
        # file that names its source looks for its comments under their key of then too.
        self.legacy = db.session.scalar(db.select(ImportBatch.id).where(
            ImportBatch.site_id == self.site_id, ImportBatch.kind == "earlier", ImportBatch.undone_at.is_(None))
            .limit(1)) is not None
        self.pages: dict[str, Page | int | None] = {}  # ref in the file -> its page, then its thread id
        self.bumped: set[int] = set()
        # (thread id, id in the file) -> (comment id, root id, depth), a bounded cache.
        self.known: dict[tuple[int, str], tuple[int, int, int]] = {}
        # (thread id, parent's id in the file) -> replies stored before it, at the top level for now.
        self.waiting: dict[tuple[int, str], list[int]] = {}
        self.new_roots: list[int] = []  # top-level comments whose root_id is yet to be set to their id
        # Replies hung under their parent since the last commit, whose branch is yet to follow them:
        # reply id -> (thread id, the root and depth of its parent as stored). See _adopt.
        self.hung: dict[int, tuple[int, int, int]] = {}
        self.parents: list[dict[str, int]] = []  # {"child", "parent"} of each, to be stored with it
        self.since_commit = 0
        self.insert_comment = _NewComment()
        self.insert_thread = THREADS.insert().returning(THREADS.c.id)
        # A key is unique in the site: the comment it names may be on another thread than this run maps it to.
        self.find_key = (db.select(COMMENTS.c.id, func.coalesce(COMMENTS.c.root_id, COMMENTS.c.id), COMMENTS.c.depth,
                                   COMMENTS.c.thread_id, COMMENTS.c.import_batch_id, COMMENTS.c.created_at,
                                   COMMENTS.c.author_name)
                         .where(COMMENTS.c.import_site_id == self.site_id, COMMENTS.c.import_key == bindparam("key")))

    # Records -------------------------------------------------------------------------------------

    def take(self, record):
        # Every comment read counts toward a batch, skipped ones too: a rerun that finds them all there
        # still commits as it goes, letting other writers in (and a background job renew its lease).
        self.since_commit += isinstance(record, (Entry, Note))
        if isinstance(record, Note):
            self.summary.skipped[record.reason] += 1
        elif isinstance(record, Source):
            self.source = self.source or digest(f"{self.kind}\n{record.name}")[:TAG_LENGTH]
        elif isinstance(record, Page):
            self.pages[record.ref] = record
            if record.keep_empty:
                self._thread(record.ref)
        else:
            self._entry(record)

    def _entry(self, entry: Entry):
        skip = entry.skip
        if skip is None and entry.kind == "mention" and self.options.pingbacks == "skip":
            skip = "pingback or trackback (--pingbacks skip)"
        if skip is None and len(entry.html or entry.markdown or entry.source_title or "") > MAX_BODY:
            skip = f"body over {MAX_BODY:,} characters"
        if skip is None and len(self._key(entry.ref)) > MAX_KEY:
            skip = "id too long to keep"
        row = None
        if skip is None:
            row, skip = self._row(entry)
        thread_id = None
        if skip is None:
            thread_id, skip = self._thread(entry.page_ref, entry.created_at)
        if skip is not None or row is None or thread_id is None:
            self.summary.skipped[skip or "left out"] += 1
            return
        parent = None
        parent_ref = entry.parent_ref if entry.kind == "comment" else None
        if parent_ref is not None:
            parent = self._parent(thread_id, parent_ref)
        row.update(thread_id=thread_id, parent_id=parent and parent[0], root_id=parent and parent[1],
                   depth=parent[2] + 1 if parent else 1, import_site_id=self.site_id, import_batch_id=self.batch_id)
        if parent is not None:
            row["pinned"] = False  # only top-level comments are pinned
        row["body_digest"] = body_digest(row["body"])
        new_id, found = self._store(row, entry.ref)
        if new_id is None:
            self.summary.skipped["already imported"] += 1
            if found is not None:
                self._found(thread_id, entry.ref, found)
            return
        root, depth = (parent[1], parent[2] + 1) if parent else (new_id, 1)
        if parent is None:
            self.new_roots.append(new_id)
            if parent_ref is not None:
                self.waiting.setdefault((thread_id, parent_ref), []).append(new_id)
        self._remember((thread_id, entry.ref), (new_id, root, depth))
        for child in self.waiting.pop((thread_id, entry.ref), []):
            self._adopt(thread_id, child, new_id, root, depth)
        if thread_id not in self.bumped:
            self.bumped.add(thread_id)
            bump_thread(thread_id)
        self.summary.comments += 1
        self.summary.statuses[row["status"]] += 1
        self.summary.mentions += row["kind"] == "mention"
        if len(self.new_roots) >= 1000:
            self._set_roots()

    # Keys ----------------------------------------------------------------------------------------

    def _key(self, ref):
        return f"{self.prefix}@{self.source}:{ref}" if self.source else f"{self.prefix}:{ref}"

    def _keys(self, ref):
        """The keys a comment of the file with this id may be stored under: its own, and the one of before sources
        were part of keys (on a site that may have such)."""
        key = self._key(ref)
        return (key, f"{self.prefix}:{ref}") if self.source and self.legacy else (key,)

    def _find(self, key):
        return db.session.execute(self.find_key, {"key": key}).first()

    def _store(self, row, ref):
        """Insert the comment, or find it where an earlier run stored it: (new id, None) or (None, the row found).

        Ids are numbered per source (two blogs, two Isso databases, a copy of a blog that went its own way all
        have a comment 1), and the key holds the source only where the file names one. So a row under the key
        is this comment only if it was written at the same moment under the same name; when it is another's,
        this comment goes under the key followed by that fingerprint, where the next run finds it in turn.
        (None, None): both places hold other comments, which only a fingerprint's collision makes.
        """
        fingerprint = _fingerprint(row["created_at"], row["author_name"])
        key, *earlier = self._keys(ref)
        for old in earlier:
            for candidate in (old, f"{old}#{fingerprint}"):
                found = self._find(candidate)
                if found is not None and _same(found, row):
                    return None, found
        for candidate in (key, f"{key}#{fingerprint}"):
            row["import_key"] = candidate
            new_id = self.insert_comment.run(row)
            if new_id is not None:
                return new_id, None
            found = self._find(candidate)
            # A row of this run under the key: the file names one id twice, and the first one stays.
            if found is not None and (found.import_batch_id == self.batch_id or _same(found, row)):
                return None, found
        return None, None

    def _found(self, thread_id, ref, found):
        """A comment imported before: if an earlier run put it on another page than this one maps it to, its
        branch moves here, readers' replies in it too. (The owner ran the import again to correct --map-url;
        adding it a second time on the new page is what they did not want.)"""
        if found.import_batch_id == self.batch_id:
            return  # the file names one id twice: the first one stays where it is
        comment_id, root, depth, old_thread = found.id, found[1], found.depth, found.thread_id
        if old_thread != thread_id:
            moved = db.session.execute(update(COMMENTS).where(COMMENTS.c.thread_id == old_thread,
                                                              COMMENTS.c.root_id == root)
                                       .values(thread_id=thread_id))
            self.summary.moved += moved.rowcount  # type: ignore[attr-defined]
            for changed in (old_thread, thread_id):
                if changed not in self.bumped:
                    self.bumped.add(changed)
                    bump_thread(changed)
        self._remember((thread_id, ref), (comment_id, root, depth))

    def _row(self, entry):
        """The comment's columns from the record, cleaned; or (None, why it is left out)."""
        status = entry.status if entry.status in COMMENT_STATUSES else "pending"
        row = {"status": status, "kind": entry.kind, "created_at": entry.created_at, "edited_at": entry.edited_at,
               "likes": max(0, min(entry.likes, MAX_ID)), "pinned": entry.pinned and status == "approved",
               "ip_hash": bans.ip_hash(self.options.secret_key, entry.ip) if entry.ip else None,
               "source_url": None}
        if entry.kind == "mention":
            source: str = (entry.source_url or "").strip()
            if len(source) > 2048 or not is_web_url(source):
                return None, "mention without a web address"
            title = _cut(names.clean(entry.source_title or ""), 300) or urlsplit(source).hostname or source
            html = markup.from_html(entry.html or f'<p><a href="{escape(source)}">{escape(title)}</a></p>')
            row.update(source_url=source, body=title, author_email=None, html="" if status == "deleted" else html,
                       author_name=_cut(names.clean(entry.author_name or ""), 100) or urlsplit(source).hostname,
                       author_website=entry.author_website if _website(entry.author_website) else origin_of(source))
            return row, None
        if entry.html is not None:
            html = markup.from_html(entry.html)
            body = entry.markdown if entry.markdown is not None else markup.text_of(html)
        else:
            body = entry.markdown or ""
            html = markup.render(body)
        if status != "deleted" and not (body.strip() and html):
            return None, "empty body"
        name = _cut(names.clean(entry.author_name or ""), 100)
        email = (entry.author_email or "").strip()
        row.update(body=body, html="" if status == "deleted" else html,
                   author_name=name or (None if status == "deleted" else ANONYMOUS),
                   author_email=email if len(email) <= 254 and is_email(email) else None,
                   author_website=entry.author_website.strip() if _website(entry.author_website) else None)
        return row, None

    # Threads -------------------------------------------------------------------------------------

    def _thread(self, ref, first_comment_at=None):
        """(thread id, None) for a page of the file, made or found on first use; or (None, why not).

        A new thread is as old as its page, when the file says, else as its first comment: the site's
        close_after_days counts from then, as the old system did."""
        page = self.pages.get(ref)
        if isinstance(page, int):
            return page, None
        if page is None:
            return None, "its page is not in the file"
        url = normalise_url(page.url) if page.url else None
        if page.url and url is None:
            return None, "its page's address is not an http(s) URL"
        mapped = url and self._map(url)
        key = page.key
        if mapped and (key is None or key == digest(f"url:{url}")):
            key, mapped = thread_key(url=mapped)
        if key is None or (mapped and len(mapped) > 2048):
            return None, "its page has no usable address"
        found = db.session.execute(db.select(THREADS.c.id, THREADS.c.title)
                                   .where(THREADS.c.site_id == self.site_id, THREADS.c.key == key)).first()
        title = _cut(" ".join((page.title or "").split()), 300) or None
        if found is not None:
            thread_id = found.id
            self.summary.threads_found += 1
            if found.title is None and title:
                db.session.execute(update(Thread).where(Thread.id == thread_id).values(title=title))
        else:
            thread_id = db.session.execute(self.insert_thread, {
                "site_id": self.site_id, "key": key, "url": mapped, "url_hash": mapped and digest(mapped),
                "title": title, "locked": page.locked, "import_batch_id": self.batch_id,
                "created_at": page.created_at or first_comment_at or utcnow()}).scalar()
            self.summary.threads_created += 1
        origin = mapped and origin_of(mapped)
        if origin and origin not in self.origins and origin not in self.summary.foreign_origins \
                and len(self.summary.foreign_origins) < 10:
            self.summary.foreign_origins.append(origin)
        self.pages[ref] = thread_id
        return thread_id, None

    def _map(self, url):
        for rule in self.options.map_urls:
            if (mapped := rule.apply(url)) is not None:
                return normalise_url(mapped) or url
        return url

    # Replies -------------------------------------------------------------------------------------

    def _remember(self, key, value):
        self.known[key] = value
        if len(self.known) > CACHE_SIZE:
            del self.known[next(iter(self.known))]

    def _parent(self, thread_id, ref):
        """(id, root id, depth) of the comment with this id in the file on this thread, or None."""
        found = self.known.get((thread_id, ref))
        if found is None:
            # Past the cache, by key. On another page it is no parent here (a file whose replies name a comment of
            # another page, or another source's comment of the same id). One stored under a fingerprint (beside
            # another source's of the same id) is not found so: its replies stay at the top level.
            for key in self._keys(ref):
                row = self._find(key)
                if row is not None and row.thread_id == thread_id:
                    return row.id, row[1], row.depth
        return found

    def _adopt(self, thread_id, child, parent, root, depth):
        """Hang a reply stored before its parent (at the top level) under it, with the replies it has since.

        The reply's branch keeps its rows as they are (their root the reply, their depths counted from it)
        and the reply is noted as now lying under `root` at `depth`: `_settle` moves every branch once, at
        the next commit, however many times the branches were hung under one another in between. (Moving
        them at once made a file that lists each reply before its parent cost quadratic time.)
        """
        if self._final(root)[0] == child:
            self.summary.orphans += 1  # the parent is the reply's own descendant: a loop in the file
            return
        self.hung[child] = (thread_id, root, depth)
        self.parents.append({"child": child, "parent": parent})

    def _final(self, root):
        """(the top-level comment a branch's root now lies under, how much deeper it lies), shortening the
        path for the next look-up."""
        path = []
        while root in self.hung:
            path.append(root)
            root = self.hung[root][1]
        offset = 0
        for branch in reversed(path):
            thread_id, _, depth = self.hung[branch]
            offset += depth
            self.hung[branch] = (thread_id, root, offset)
        return root, (self.hung[path[0]][2] if path else 0)

    def _settle(self):
        """Give every comment its real root and depth: each branch hung under another moves, once."""
        self._set_roots()
        if not self.hung:
            return
        db.session.execute(_HANG, self.parents)
        moves = []
        for branch in list(self.hung):
            root, offset = self._final(branch)
            moves.append({"thread": self.hung[branch][0], "branch": branch, "root": root, "offset": offset})
        db.session.execute(_MOVE_BRANCH, moves)
        self.hung.clear()
        self.parents.clear()
        self.known.clear()  # cached roots and depths under those branches are stale now

    def _set_roots(self):
        if self.new_roots:
            db.session.execute(update(COMMENTS).where(COMMENTS.c.id.in_(self.new_roots)).values(root_id=COMMENTS.c.id))
            self.new_roots = []

    # Ends ----------------------------------------------------------------------------------------

    def commit(self):
        self._settle()
        db.session.commit()
        self.summary.batches += 1
        self.since_commit = 0
        self.bumped.clear()  # a thread that gets more in the next batch changes again for its readers

    def finish(self):
        self._settle()
        # Whoever still waits has no parent in the file (or a loop): they stay at the top level.
        self.summary.orphans += sum(len(children) for children in self.waiting.values())
        self.waiting.clear()


def _fingerprint(created_at, author_name):
    """When a comment was written and by whom, in a few characters: what tells apart two sources' comments of one id.
    (Migration 0015 gives comments that shared a key before it the same, so keep the two alike.)"""
    return digest(f"{created_at:%Y-%m-%dT%H:%M:%S.%f}\n{author_name or ''}")[:TAG_LENGTH]


def _same(found, row):
    """Whether a stored comment is the one in `row`: written at the same moment, under the same name."""
    return found.created_at == row["created_at"] and found.author_name == row["author_name"]


def _website(value):
    value = (value or "").strip()
    return bool(value) and len(value) <= 500 and is_web_url(value)



# Listing and undoing ---------------------------------------------------------------------------

@dataclass
class Undone:
    """What undoing an import did (or, on a dry run, would do)."""

    batch: int
    dry_run: bool = False
    removed: int = 0  # comments deleted
    # Imported comments that readers have replied to since: kept as "deleted" placeholders holding the replies.
    kept: int = 0
    threads_removed: int = 0  # threads the import made that nothing is left on

    def lines(self):
        shown = [f"{'Dry run, nothing was changed: would remove' if self.dry_run else 'Removed'} {self.removed} "
                 f"comments of import {self.batch}, and {self.threads_removed} pages it had made."]
        if self.kept:
            shown.append(f"{self.kept} imported comments have replies posted here since: "
                         f"{'they would stay' if self.dry_run else 'they stay'} as deleted placeholders, "
                         "holding those replies in place.")
        return shown


def batches_of(site, limit=50):
    """The site's imports, newest first, each with how many of its comments are still there."""
    remaining = (db.select(func.count()).where(COMMENTS.c.import_batch_id == ImportBatch.id)
                 .correlate(ImportBatch).scalar_subquery())
    return db.session.execute(db.select(ImportBatch, remaining).where(ImportBatch.site_id == site.id)
                              .order_by(ImportBatch.id.desc()).limit(limit)).all()


def batch_of(site, batch_id):
    """The site's import with this number; NotFound for any other, another site's above all."""
    batch = db.session.get(ImportBatch, batch_id) if 0 < batch_id <= MAX_ID else None
    if batch is None or batch.site_id != site.id:
        raise NotFound(f"site {site.public_id} has no import {batch_id}", code="unknown_import")
    return batch


def undo(site, batch_id, dry_run=False, now=None, actor=None) -> Undone:
    """Take back what one import added to `site`: its comments and the threads it made that end up empty.

    Comments posted here since in reply to imported ones are never deleted: the imported comments they hang
    under stay, as empty "deleted" placeholders (as a reader's deleted comment with replies does). Comments moved
    by a later run are removed wherever they are now. Every thread touched changes version, so caches, counts and
    feeds follow at once. The audit log's entry, by `actor` (None: the command line), is in the same transaction.
    """
    batch = batch_of(site, batch_id)
    if batch.undone_at is not None:
        raise InvalidInput(f"import {batch_id} was undone already, on {batch.undone_at:%Y-%m-%d %H:%M} UTC",
                           code="import_undone")
    done = Undone(batch.id, dry_run)
    ours = db.select(COMMENTS.c.root_id).where(COMMENTS.c.import_batch_id == batch.id)
    # The branches that hold comments of others (readers' replies, another import's): their imported
    # comments on the way from each such comment to its root must stay.
    mixed = (db.select(COMMENTS.c.root_id).where(COMMENTS.c.root_id.in_(ours),
                                                 or_(COMMENTS.c.import_batch_id.is_(None),
                                                     COMMENTS.c.import_batch_id != batch.id)).distinct())
    rows = db.session.execute(db.select(COMMENTS.c.id, COMMENTS.c.parent_id, COMMENTS.c.import_batch_id)
                              .where(COMMENTS.c.root_id.in_(mixed))).all()
    parents = {row.id: row.parent_id for row in rows}
    imported = {row.id for row in rows if row.import_batch_id == batch.id}
    keep: set[int] = set()
    for row in rows:
        if row.id in imported:
            continue
        parent = row.parent_id
        while parent is not None and parent in imported and parent not in keep:
            keep.add(parent)
            parent = parents.get(parent)
    threads = set(db.session.scalars(db.select(COMMENTS.c.thread_id).where(COMMENTS.c.import_batch_id == batch.id)
                                     .distinct()))
    done.kept = len(keep)
    done.removed = db.session.scalar(db.select(func.count()).where(COMMENTS.c.import_batch_id == batch.id)) - done.kept
    for chunk in _chunks(sorted(keep)):
        for comment in db.session.scalars(db.select(Comment).where(Comment.id.in_(chunk))):
            empty_placeholder(comment)
            comment.import_key = comment.import_site_id = comment.import_batch_id = None
            comment.pinned = False
    db.session.flush()  # the statements below are the table's, which the session does not flush for
    # Unlinked first: deleting a long chain of replies would cascade one level per reply, and SQLite stops
    # cascades 1,000 deep.
    db.session.execute(update(COMMENTS).where(COMMENTS.c.import_batch_id == batch.id).values(parent_id=None))
    db.session.execute(COMMENTS.delete().where(COMMENTS.c.import_batch_id == batch.id))
    empty = (db.select(THREADS.c.id).where(THREADS.c.import_batch_id == batch.id)
             .where(~db.exists().where(COMMENTS.c.thread_id == THREADS.c.id))
             .where(~db.exists().where(Subscription.thread_id == THREADS.c.id)))
    gone = set(db.session.scalars(empty))
    done.threads_removed = len(gone)
    for chunk in _chunks(sorted(gone)):
        db.session.execute(THREADS.delete().where(THREADS.c.id.in_(chunk)))
    for thread_id in sorted(threads - gone):
        bump_thread(thread_id)
    if dry_run:
        db.session.rollback()
        return done
    batch.undone_at = now = now or utcnow()
    audit.record(actor, site, "site.import_undo", "site", site.id, now=now,
                 after={"import": batch.id, "removed": done.removed, "kept": done.kept,
                        "threads_removed": done.threads_removed})
    db.session.commit()
    return done


def _chunks(ids, size=500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
