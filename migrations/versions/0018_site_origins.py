"""site origins: each site's origins by host, found by index, and how each was granted (proof, an administrator)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 12:00:00

"""
import ipaddress
import json
import socket
from datetime import datetime, timezone
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _host_key(origin):
    # widget.urls.host_key as of this revision, for origins stored normalised (lower-case ASCII): a migration
    # must keep doing what it did when later code changes.
    host = (urlsplit(origin).hostname or "").removesuffix(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return str(getattr(address, 'ipv4_mapped', None) or address.compressed)
    if host and set(host) <= set("0123456789abcdefx."):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            pass
    return host


def _loaded(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade():
    op.create_table(
        'site_origins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(length=200), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('how', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('site_id', 'origin'),
    )
    op.create_index('ix_site_origins_host', 'site_origins', ['host'])
    connection = op.get_bind()
    sites = sa.table('sites', sa.column('id', sa.Integer), sa.column('origins', sa.Text))
    audit = sa.table('audit_log', sa.column('site_id', sa.Integer), sa.column('action', sa.String),
                     sa.column('after', sa.Text))
    rows = sa.table('site_origins', sa.column('site_id', sa.Integer), sa.column('origin', sa.String),
                    sa.column('host', sa.String), sa.column('how', sa.String), sa.column('created_at', sa.DateTime))
    # Origins granted by proof or by an administrator since origin claims came (0016) say so in the audit log.
    granted = {}
    for site_id, after in connection.execute(sa.select(audit.c.site_id, audit.c.after)
                                             .where(audit.c.action == 'site.origin_grant')):
        after = _loaded(after) or {}
        if after.get('by') in ('proof', 'administrator'):
            granted[(site_id, after.get('origin'))] = after['by']
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for site_id, origins in connection.execute(sa.select(sites.c.id, sites.c.origins)):
        found = [{'site_id': site_id, 'origin': origin, 'host': _host_key(origin),
                  'how': granted.get((site_id, origin), 'listed'), 'created_at': now}
                 for origin in dict.fromkeys(_loaded(origins) or [])]
        if found:
            connection.execute(rows.insert(), found)


def downgrade():
    op.drop_index('ix_site_origins_host', table_name='site_origins')
    op.drop_table('site_origins')
