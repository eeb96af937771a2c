"""Disqus's XML export (Admin → Moderation → Export): every thread first, then every post.

    <disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
      <thread dsq:id="…"> <link/> <title/> <createdAt/> <isClosed/> <isDeleted/> </thread>
      <post dsq:id="…"> <message/> (HTML) <createdAt/> <isDeleted/> <isSpam/>
        <author> <name/> <email/> </author> <ipAddress/> <thread dsq:id="…"/> <parent dsq:id="…"/> </post>

Posts are not grouped by thread, so the threads (a link and a title each) are kept in memory while the
posts stream past: one small entry per page of the site.
"""
from .records import Entry, FormatError, Page, parse_iso
from .xml_stream import elements

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def _text(element, path):
    found = element.find("/".join(NS + part for part in path.split("/")))
    return (found.text or "").strip() if found is not None else ""


def _flag(element, name):
    return _text(element, name).lower() == "true"


def _time(element, where):
    value = _text(element, "createdAt")
    try:
        return parse_iso(value)
    except ValueError:
        raise FormatError(f"{where}: <createdAt> is {value!r}, not a time like 2013-10-10T19:20:29Z") from None


def read(file):
    """Pages and entries of a Disqus export, in file order."""
    threads: dict[str, Page | None] = {}  # dsq:id -> its page, None for a thread deleted in Disqus
    sent: set[str] = set()
    posts = 0
    for event, element, depth in elements(file, keep_below=2):
        if event == "start":
            if depth == 1 and element.tag != NS + "disqus":
                raise FormatError(f"not a Disqus export: the root element is <{element.tag.rpartition('}')[2]}>, "
                                  "expected <disqus xmlns=\"http://disqus.com\">")
            continue
        if depth != 2:
            continue
        if element.tag == NS + "thread":
            ref = element.get(DSQ_ID) or ""
            where = f"<thread dsq:id={ref!r}>"
            known = threads.get(ref)
            if _flag(element, "isDeleted"):
                threads[ref] = None
            elif not (known and known.url):
                # Exports repeat a thread as an empty element now and then: the one with a link counts.
                threads[ref] = Page(ref=ref, url=_text(element, "link") or None, title=_text(element, "title") or None,
                                    created_at=_time(element, where) if _text(element, "createdAt") else None,
                                    locked=_flag(element, "isClosed"))
        elif element.tag == NS + "post":
            posts += 1
            yield from _post(element, posts, threads, sent)


def _post(element, number, threads, sent):
    ref = element.get(DSQ_ID) or _text(element, "id")
    where = f"<post> {number}" + (f" (dsq:id {ref})" if ref else "")
    thread = element.find(NS + "thread")
    page_ref = thread.get(DSQ_ID, "") if thread is not None else ""
    parent = element.find(NS + "parent")
    entry = Entry(
        ref=ref, page_ref=page_ref, parent_ref=parent.get(DSQ_ID) if parent is not None else None,
        created_at=_time(element, where),
        status="deleted" if _flag(element, "isDeleted") else "spam" if _flag(element, "isSpam") else "approved",
        html=_text(element, "message"), author_name=_text(element, "author/name") or None,
        author_email=_text(element, "author/email") or None, ip=_text(element, "ipAddress") or None,
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
