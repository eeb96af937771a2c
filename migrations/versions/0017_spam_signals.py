"""spam signals: the mailboxes lately sent a confirmation request, and the form tokens spent

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mailboxes',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('confirmation_sent_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_mailboxes_confirmation_sent_at', 'mailboxes', ['confirmation_sent_at'])
    op.create_table(
        'spent_form_tokens',
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('nonce'),
    )
    op.create_index('ix_spent_form_tokens_expires_at', 'spent_form_tokens', ['expires_at'])


def downgrade():
    op.drop_index('ix_spent_form_tokens_expires_at', table_name='spent_form_tokens')
    op.drop_table('spent_form_tokens')
    op.drop_index('ix_mailboxes_confirmation_sent_at', table_name='mailboxes')
    op.drop_table('mailboxes')
