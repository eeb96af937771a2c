"""unseen threads: a page whose only comments wait for a moderator is not shown to readers, nor named by them;
and each waiting comment says when its moderators were told of it

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 02:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

SHOWN = ('approved', 'deleted')
BATCH = 500


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('page_title', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('moderators_told_at', sa.DateTime(), nullable=True))
    # Threads that held or spam comments (or waiting mentions) made before this version are at version 1, named by
    # those comments: nothing readers see was ever written there (every such write moved the version past 1).
    # They become what such a thread is now, version 0 and untitled, and the title waits with their comments.
    threads = sa.table('threads', sa.column('id', sa.Integer), sa.column('version', sa.Integer),
                       sa.column('title', sa.String), sa.column('locked', sa.Boolean),
                       sa.column('author_id', sa.Integer))
    comments = sa.table('comments', sa.column('thread_id', sa.Integer), sa.column('status', sa.String),
                        sa.column('page_title', sa.String))
    shown = sa.exists().where(comments.c.thread_id == threads.c.id, comments.c.status.in_(SHOWN))
    connection = op.get_bind()
    unseen = connection.execute(sa.select(threads.c.id, threads.c.title).where(
        threads.c.version == 1, threads.c.locked == sa.false(), threads.c.author_id.is_(None), ~shown)).all()
    for start in range(0, len(unseen), BATCH):
        batch = unseen[start:start + BATCH]
        for thread_id, title in batch:
            if title is not None:
                connection.execute(comments.update().where(comments.c.thread_id == thread_id)
                                   .values(page_title=title))
        connection.execute(threads.update().where(threads.c.id.in_([thread_id for thread_id, _ in batch]))
                           .values(version=0, title=None))


def downgrade():
    # A thread made by a waiting comment takes the title it came with again, as before this version.
    threads = sa.table('threads', sa.column('id', sa.Integer), sa.column('version', sa.Integer),
                       sa.column('title', sa.String))
    comments = sa.table('comments', sa.column('id', sa.Integer), sa.column('thread_id', sa.Integer),
                        sa.column('page_title', sa.String))
    connection = op.get_bind()
    first_title = (sa.select(comments.c.page_title).where(comments.c.thread_id == threads.c.id,
                                                          comments.c.page_title.is_not(None))
                   .order_by(comments.c.id).limit(1).scalar_subquery())
    connection.execute(threads.update().where(threads.c.title.is_(None)).values(title=first_title))
    connection.execute(threads.update().where(threads.c.version == 0).values(version=1))
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('moderators_told_at')
        batch_op.drop_column('page_title')
