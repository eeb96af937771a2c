"""Disqus's XML export (Admin → Moderation → Export): every thread first, then every post.

    <disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
      <thread dsq:id="…"> <link/> <title/> <createdAt/> <isClosed/> <isDeleted/> </thread>
      <post dsq:id="…"> <message/> (HTML) <createdAt/> <isDeleted/> <isSpam/>
        <author> <name/> <email/> </author> <ipAddress/> <thread dsq:id="…"/> <parent dsq:id="…"/> </post>

Posts are not grouped by thread, so the threads (a link and a title each) are kept in memory while the
posts stream past: one small entry per page of the site.
"""
from .records import MAX_TITLE, MAX_URL, Entry, FormatError, Page, Source, parse_iso
from .xml_stream import events, local

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"
# disqus > post > author > name is as deep as Disqus writes.
MAX_DEPTH = 6
THREAD_FIELDS = {"link", "title", "createdAt", "isClosed", "isDeleted", "forum"}
POST_FIELDS = {"id", "message", "createdAt", "isDeleted", "isSpam", "ipAddress", "author/name", "author/email"}


class _Record:
    """A <thread> or <post> being read: its dsq:id, the fields kept, and the dsq:id of its thread and parent."""

    def __init__(self, tag, attributes):
        self.tag, self.ref = tag, attributes.get(DSQ_ID) or ""
        self.fields: dict[str, str] = {}
        self.links: dict[str, str] = {}  # "thread" and "parent" -> their dsq:id

    def text(self, name):
        return self.fields.get(name, "")

    def flag(self, name):
        return self.text(name).lower() == "true"

    def time(self, where):
        value = self.text("createdAt")
        try:
            return parse_iso(value)
        except ValueError:
            raise FormatError(f"{where}: <createdAt> is {value[:40]!r}, not a time like 2013-10-10T19:20:29Z") from None


def read(file):
    """Pages and entries of a Disqus export, in file order."""
    threads: dict[str, Page | None] = {}  # dsq:id -> its page, None for a thread deleted in Disqus
    sent: set[str] = set()
    forum = None  # the forum's short name, as its first thread gives it: the source of the file's ids
    posts = 0
    record: _Record | None = None
    path: list[str] = []  # local names below the record, to the element being read
    for event, tag, value, depth in events(file, MAX_DEPTH, text_depth=3, described="a Disqus export"):
        if event == "namespace":
            continue
        if event == "start":
            if depth == 1 and tag != NS + "disqus":
                raise FormatError(f"not a Disqus export: the root element is <{local(tag)}>, "
                                  "expected <disqus xmlns=\"http://disqus.com\">")
            if depth == 2 and tag in (NS + "thread", NS + "post"):
                record = _Record(tag, value)
            elif record is not None and depth > 2:
                path.append(local(tag) if tag.startswith(NS) else "")
                if depth == 3 and tag in (NS + "thread", NS + "parent"):
                    record.links[local(tag)] = value.get(DSQ_ID) or ""
            continue
        if record is None:
            continue
        if depth > 2:
            name = "/".join(path)
            path.pop()
            if name in (THREAD_FIELDS if record.tag == NS + "thread" else POST_FIELDS):
                record.fields[name] = value.strip()
        elif depth == 2:
            if record.tag == NS + "thread":
                _thread(record, threads)
                if forum is None and record.text("forum"):
                    forum = record.text("forum")
                    yield Source(forum)
            else:
                posts += 1
                yield from _post(record, posts, threads, sent)
            record = None


def _thread(record, threads):
    ref = record.ref
    known = threads.get(ref)
    if record.flag("isDeleted"):
        threads[ref] = None
    elif not (known and known.url):
        # Exports repeat a thread as an empty element now and then: the one with a link counts.
        link = record.text("link")
        threads[ref] = Page(ref=ref, url=link if link and len(link) <= MAX_URL else None,
                            title=record.text("title")[:MAX_TITLE] or None,
                            created_at=record.time(f"<thread dsq:id={ref!r}>") if record.text("createdAt") else None,
                            locked=record.flag("isClosed"))


def _post(record, number, threads, sent):
    ref = record.ref or record.text("id")
    where = f"<post> {number}" + (f" (dsq:id {ref})" if ref else "")
    page_ref = record.links.get("thread", "")
    entry = Entry(
        ref=ref, page_ref=page_ref, parent_ref=record.links.get("parent"), created_at=record.time(where),
        status="deleted" if record.flag("isDeleted") else "spam" if record.flag("isSpam") else "approved",
        html=record.text("message"), author_name=record.text("author/name") or None,
        author_email=record.text("author/email") or None, ip=record.text("ipAddress") or None,
    )
    if not ref:
        entry.skip = "no id"
    elif page_ref not in threads:
        entry.skip = "its thread is not in the file"
    elif threads[page_ref] is None:
        entry.skip = "its thread was deleted in Disqus"
    elif page_ref not in sent:
        sent.add(page_ref)
        yield threads[page_ref]
    yield entry
