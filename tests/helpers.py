"""Small helpers shared by tests that need to reach behind the API for set-up."""
from datetime import timedelta

from widget.extensions import db
from widget.models import Comment, Thread


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
