"""set-up errors and the dashboard's words: the origins a site's comments were refused on, the masked email of a banned author, and each audit entry's target in words

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'refused_origins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(length=200), nullable=False),
        sa.Column('times', sa.Integer(), nullable=False),
        sa.Column('first_seen', sa.DateTime(), nullable=False),
        sa.Column('last_seen', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('site_id', 'origin'),
    )
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_hint', sa.String(length=254), nullable=True))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_label', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('target_label')
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.drop_column('email_hint')
    op.drop_table('refused_origins')
