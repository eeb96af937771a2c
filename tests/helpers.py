"""Small helpers shared by tests that need to reach behind the API for set-up."""
import threading
from datetime import timedelta

from sqlalchemy import event

from widget.extensions import db
from widget.models import Comment, Thread


def serve_in_background(server):
    """Run a socketserver on a daemon thread that notices shutdown() within 50 ms.

    serve_forever() looks for shutdown every poll_interval, 0.5 s by default: each test that stops a
    server would wait that long in its teardown.
    """
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def age_comment(app, comment_id, minutes):
    """Pretend a comment was posted `minutes` ago (the API cannot travel in time)."""
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        comment.created_at -= timedelta(minutes=minutes)
        db.session.commit()


def age_threads(app, days):
    with app.app_context():
        for thread in db.session.scalars(db.select(Thread)):
            thread.created_at -= timedelta(days=days)
        db.session.commit()


def row_counts(app):
    """How many rows each table holds: a failed request must leave these unchanged."""
    with app.app_context():
        return {
            table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def stored_comment(app, comment_id):
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        if comment is None:
            return None
        return {c.name: getattr(comment, c.name) for c in Comment.__table__.columns}


def flatten(comments):
    for comment in comments:
        yield comment
        yield from flatten(comment["replies"])


def seed_chain(app, site_public_id, length, url="https://blog.example.com/posts/hello"):
    """A top-level comment and a chain of replies, each answering the one before (set-up only)."""
    from datetime import datetime, timedelta

    from sqlalchemy import insert, update

    from widget.comments import thread_key
    from widget.sites import get_site

    start = datetime(2026, 1, 1) + timedelta(days=1000)  # after anything posted through the API
    with app.app_context():
        site = get_site(site_public_id)
        key, normalised = thread_key(url)
        thread = db.session.scalar(db.select(Thread).where(Thread.site_id == site.id, Thread.key == key))
        if thread is None:
            thread = Thread(site_id=site.id, key=key, url=normalised)
            db.session.add(thread)
            db.session.flush()
        rows = [{"thread_id": thread.id, "body": f"link {n}", "html": f"<p>link {n}</p>", "author_name": f"A{n % 7}",
                 "author_email": "a@example.org", "created_at": start + timedelta(seconds=n)} for n in range(length)]
        ids = list(db.session.scalars(insert(Comment).returning(Comment.id, sort_by_parameter_order=True), rows))
        db.session.execute(update(Comment), [
            {"id": comment_id, "root_id": ids[0], "depth": n + 1, "parent_id": ids[n - 1] if n else None}
            for n, comment_id in enumerate(ids)])
        db.session.commit()
        return ids


def write_wxr(path, posts, per_post, origin="https://blog.example.com"):
    """A WordPress export of `posts` posts with `per_post` approved comments each, every third a reply."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
                  'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                  'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">\n'
                  f"<channel>\n<title>Generated</title>\n<link>{origin}</link>\n<wp:wxr_version>1.2</wp:wxr_version>\n")
        number = 0
        for post in range(1, posts + 1):
            out.write(f"<item><title><![CDATA[Post {post}]]></title><link>{origin}/posts/{post}/</link>"
                      f"<wp:post_id>{post}</wp:post_id><wp:post_date_gmt>2015-01-01 00:00:00</wp:post_date_gmt>"
                      "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>\n")
            first = number + 1
            for _ in range(per_post):
                number += 1
                parent = number - 1 if number % 3 == 0 and number > first else 0
                out.write(f"<wp:comment><wp:comment_id>{number}</wp:comment_id>"
                          f"<wp:comment_author><![CDATA[Reader {number % 50}]]></wp:comment_author>"
                          f"<wp:comment_author_email>reader{number % 50}@example.org</wp:comment_author_email>"
                          f"<wp:comment_date_gmt>2016-01-01 10:00:00</wp:comment_date_gmt>"
                          f"<wp:comment_content><![CDATA[<p>Comment {number}: sourdough &amp; rye, "
                          f"kneaded and proofed overnight.</p>]]></wp:comment_content>"
                          "<wp:comment_approved>1</wp:comment_approved><wp:comment_type></wp:comment_type>"
                          f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>\n")
            out.write("</item>\n")
        out.write("</channel>\n</rss>\n")
    return path


def statements_during(app, request):
    """(what `request()` returned, the SQL statements the app ran through its engine meanwhile)."""
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if statement.strip().upper() not in {"BEGIN", "COMMIT", "ROLLBACK"}:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        return request(), statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
