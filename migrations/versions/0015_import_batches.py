"""import batches: an imported comment's key is unique in its site, not its thread, and each import run is kept, to list and undo

A second run of an import with another --map-url used to add every comment again on the newly mapped
pages. Comments already doubled that way are kept, but only the newest copy of each (the later run,
with the corrected mapping) keeps the key; the older copies go into a batch of their own, per site,
that `import list` shows and `import undo` removes. Every other imported comment goes into an
"earlier imports" batch of its site.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None



def upgrade():
    op.create_table(
        'import_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('run_by', sa.String(length=200), nullable=False),
        sa.Column('options', sa.JSON(), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('undone_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_import_batches_site_id', 'import_batches', ['site_id'])
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_batch_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_threads_import_batch_id', 'import_batches', ['import_batch_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_site_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('import_batch_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_comments_import_site_id', 'sites', ['import_site_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_comments_import_batch_id', 'import_batches', ['import_batch_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_comments_import_batch_id', ['import_batch_id'])
        batch_op.drop_constraint('uq_comments_thread_import_key', type_='unique')
    _key_per_site(op.get_bind())
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_comments_site_import_key', ['import_site_id', 'import_key'])


def _key_per_site(connection):
    """Give each imported comment its site, and each site's imported comments a batch (see the docstring)."""
    connection.execute(sa.text(
        "UPDATE comments SET import_site_id = (SELECT site_id FROM threads WHERE threads.id = comments.thread_id) "
        "WHERE import_key IS NOT NULL"))
    # Of several copies of one key in one site, all but the newest.
    older = ("SELECT c.id FROM comments c WHERE c.import_key IS NOT NULL AND EXISTS (SELECT 1 FROM comments n "
             "WHERE n.import_site_id = c.import_site_id AND n.import_key = c.import_key AND n.id > c.id)")
    for (site_id,) in connection.execute(sa.text(
            f"SELECT DISTINCT import_site_id FROM comments WHERE id IN ({older})")).all():
        batch = _batch(connection, site_id, "earlier", "copies added again by imports run before their keys were "
                                                       "kept per site")
        connection.execute(sa.text(
            f"UPDATE comments SET import_site_id = NULL, import_batch_id = :batch WHERE id IN ({older}) "
            "AND import_site_id = :site"), {"batch": batch, "site": site_id})
    for (site_id,) in connection.execute(sa.text(
            "SELECT DISTINCT import_site_id FROM comments WHERE import_site_id IS NOT NULL")).all():
        batch = _batch(connection, site_id, "earlier", "imports run before batches were kept")
        connection.execute(sa.text(
            "UPDATE comments SET import_batch_id = :batch WHERE import_site_id = :site AND import_batch_id IS NULL"),
            {"batch": batch, "site": site_id})


def _batch(connection, site_id, kind, source):
    return connection.execute(sa.text(
        "INSERT INTO import_batches (site_id, kind, source, run_by, created_at) "
        "VALUES (:site, :kind, :source, 'upgrade', CURRENT_TIMESTAMP) RETURNING id"),
        {"site": site_id, "kind": kind, "source": source}).scalar()


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint('uq_comments_site_import_key', type_='unique')
    # The per-thread key of before: copies in one thread cannot be, so keep the key of the first.
    op.get_bind().execute(sa.text(
        "UPDATE comments SET import_key = NULL WHERE import_key IS NOT NULL AND EXISTS (SELECT 1 FROM comments o "
        "WHERE o.thread_id = comments.thread_id AND o.import_key = comments.import_key AND o.id < comments.id)"))
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_comments_thread_import_key', ['thread_id', 'import_key'])
        batch_op.drop_index('ix_comments_import_batch_id')
        batch_op.drop_constraint('fk_comments_import_batch_id', type_='foreignkey')
        batch_op.drop_constraint('fk_comments_import_site_id', type_='foreignkey')
        batch_op.drop_column('import_batch_id')
        batch_op.drop_column('import_site_id')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_constraint('fk_threads_import_batch_id', type_='foreignkey')
        batch_op.drop_column('import_batch_id')
    op.drop_index('ix_import_batches_site_id', table_name='import_batches')
    op.drop_table('import_batches')
