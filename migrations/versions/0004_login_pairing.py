"""login pairing: a finished login is released on its one-time code or a typed pairing code, never the secret alone

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pairing_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pairing_attempts', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('login_codes', schema=None) as batch_op:
        batch_op.drop_column('pairing_attempts')
        batch_op.drop_column('pairing_hash')
