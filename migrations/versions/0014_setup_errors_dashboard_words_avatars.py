"""set-up errors, the dashboard's words and avatars: the origins a site's comments were refused on, the masked email of a banned author, each audit entry's target in words, and guests' pictures from an avatar service a site opts into

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
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
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('avatar_service', sa.String(length=12), nullable=True))
    op.create_table(
        'avatar_images',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.Column('mimetype', sa.String(length=40), nullable=True),
        sa.Column('fetched_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_avatar_images_fetched_at', 'avatar_images', ['fetched_at'])


def downgrade():
    op.drop_index('ix_avatar_images_fetched_at', table_name='avatar_images')
    op.drop_table('avatar_images')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('avatar_service')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('target_label')
    with op.batch_alter_table('bans', schema=None) as batch_op:
        batch_op.drop_column('email_hint')
    op.drop_table('refused_origins')
