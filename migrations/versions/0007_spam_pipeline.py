"""spam pipeline: each comment's verdict and score, and each site's block lists

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BLOCK_LISTS = ('blocked_words', 'blocked_emails', 'blocked_domains', 'blocked_networks')


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verdict', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('spam_score', sa.Float(), nullable=True))
    with op.batch_alter_table('sites', schema=None) as batch_op:
        for name in BLOCK_LISTS:
            batch_op.add_column(sa.Column(name, sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        for name in reversed(BLOCK_LISTS):
            batch_op.drop_column(name)
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('spam_score')
        batch_op.drop_column('verdict')
