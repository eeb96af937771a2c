"""import: the key of each comment brought from another system, so an import run twice adds nothing

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint('uq_comments_thread_import_key', ['thread_id', 'import_key'])


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint('uq_comments_thread_import_key', type_='unique')
        batch_op.drop_column('import_key')
