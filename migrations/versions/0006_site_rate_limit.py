"""site rate limit: comments one address may post per hour on a site, tighter than the server's

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comments_per_hour', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('comments_per_hour')
