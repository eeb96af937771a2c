"""akismet: a site's own API key, and what Akismet was told of each comment it checked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('akismet_key', sa.String(length=64), nullable=True))
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('akismet_sent', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('akismet_sent')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('akismet_key')
