"""names and badges: names a site reserves for its staff, and who wrote each page

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved_names', sa.JSON(), nullable=True))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_threads_author_id_users'), 'users', ['author_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_threads_author_id_users'), type_='foreignkey')
        batch_op.drop_column('author_id')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('reserved_names')
