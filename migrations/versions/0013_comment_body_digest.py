"""comment body digest: the duplicate spam check finds an earlier copy of a text by index

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:00:00

"""
import hashlib
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# The duplicate check looks back a week; older comments need no digest, and a large database is not
# read through to give them one.
RECENT = timedelta(days=8)


def upgrade():
    op.add_column('comments', sa.Column('body_digest', sa.String(length=32), nullable=True))
    op.create_index('ix_comments_body_digest', 'comments', ['body_digest'])
    comments = sa.table('comments', sa.column('id', sa.Integer), sa.column('body', sa.Text),
                        sa.column('body_digest', sa.String), sa.column('created_at', sa.DateTime))
    since = datetime.now(timezone.utc).replace(tzinfo=None) - RECENT
    connection = op.get_bind()
    recent = connection.execute(sa.select(comments.c.id, comments.c.body).where(comments.c.created_at >= since)).all()
    for comment_id, body in recent:
        if body is not None:
            connection.execute(comments.update().where(comments.c.id == comment_id).values(
                body_digest=hashlib.sha256(body.strip().encode()).hexdigest()[:32]))


def downgrade():
    op.drop_index('ix_comments_body_digest', table_name='comments')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('body_digest')
