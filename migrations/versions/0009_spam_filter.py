"""spam filter: what each site's moderators have taught its local filter

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'filter_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=300), nullable=False),
        sa.Column('ham', sa.Integer(), nullable=False),
        sa.Column('spam', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_filter_tokens_site_id_sites'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_filter_tokens')),
        sa.UniqueConstraint('site_id', 'token', name=op.f('uq_filter_tokens_site_id')),
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filter_ham', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('filter_spam', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trained_as', sa.String(length=4), nullable=True))


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('trained_as')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('filter_spam')
        batch_op.drop_column('filter_ham')
    op.drop_table('filter_tokens')
