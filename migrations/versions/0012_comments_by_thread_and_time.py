"""comments by thread and time: the duplicate check and thread pages find recent comments by index, not by reading them all

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 13:30:00

"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_comments_thread_created', 'comments', ['thread_id', 'created_at'])


def downgrade():
    op.drop_index('ix_comments_thread_created', table_name='comments')
