"""import batches: an imported comment's key is unique in its site, not its thread, and each import run is kept, to list and undo

A second run of an import with another --map-url used to add every comment again on the newly mapped
pages. Comments already doubled that way are kept, but only the newest copy of each (the later run,
with the corrected mapping) keeps the key; the older copies (same time, same author, same text) go
into a batch of their own, per site, that `import list` shows and `import undo` removes. Comments of
different exports that shared a key (two blogs both have a comment 1) are no copies: each keeps its
place, under the key followed by its fingerprint (when it was written, by whom), as imports store a
comment whose key another source's comment holds. Every other imported comment goes into an
"earlier imports" batch of its site.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:50:00

"""
import hashlib
import itertools

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

COMMENTS = sa.table('comments', sa.column('id', sa.Integer), sa.column('thread_id', sa.Integer),
                    sa.column('import_site_id', sa.Integer), sa.column('import_key', sa.String),
                    sa.column('import_batch_id', sa.Integer), sa.column('created_at', sa.DateTime),
                    sa.column('author_name', sa.String), sa.column('body', sa.Text))
TAG_LENGTH = 12
MAX_KEY = 200


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
    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE comments SET import_site_id = (SELECT site_id FROM threads WHERE threads.id = comments.thread_id) "
        "WHERE import_key IS NOT NULL"))
    # Every look-up below is by site and key: without an index each one would read the whole table (hours for a
    # large site on SQLite). The unique constraint replaces it once the keys are.
    op.create_index('ix_comments_import_site_key_upgrade', 'comments', ['import_site_id', 'import_key'])
    _unique_keys(connection)
    _earlier_batches(connection)
    op.drop_index('ix_comments_import_site_key_upgrade', table_name='comments')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_comments_site_import_key', ['import_site_id', 'import_key'])


def _fingerprint(created_at, author_name):
    """widget.imports._fingerprint, as it was when this was written: the key a comment gets beside another source's
    comment of the same id, which a later import of its source looks under."""
    return hashlib.sha256(f"{created_at:%Y-%m-%dT%H:%M:%S.%f}\n{author_name or ''}".encode()).hexdigest()[:TAG_LENGTH]


def _fitted(key):
    """The key, or its start and a digest of it where it is longer than the column."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[:MAX_KEY - TAG_LENGTH - 1]}~{hashlib.sha256(key.encode()).hexdigest()[:TAG_LENGTH]}"


def _doubled(connection):
    """The rows of each key that a site holds more than once, a key at a time, oldest row first."""
    c = COMMENTS.c
    doubled = (sa.select(c.import_site_id.label('site'), c.import_key.label('key'))
               .where(c.import_key.is_not(None)).group_by(c.import_site_id, c.import_key)
               .having(sa.func.count() > 1).subquery())
    rows = connection.execute(
        sa.select(c.id, c.import_site_id, c.import_key, c.created_at, c.author_name, c.body)
        .join(doubled, sa.and_(c.import_site_id == doubled.c.site, c.import_key == doubled.c.key))
        .order_by(c.import_site_id, c.import_key, c.id)
        .execution_options(stream_results=True, yield_per=1000))
    for _, group in itertools.groupby(rows, key=lambda row: (row.import_site_id, row.import_key)):
        yield list(group)


def _unique_keys(connection):
    """One row per key in each site (see the docstring): true copies into a batch, other comments a key of their own."""
    copies: dict[int, list[int]] = {}  # site -> older copies
    renamed = []
    for group in _doubled(connection):
        kept = {}  # (when, who, text) -> the newest row of it
        for row in reversed(group):
            same = (row.created_at, row.author_name, (row.body or "").strip())
            if same in kept:
                copies.setdefault(row.import_site_id, []).append(row.id)
            else:
                kept[same] = row
        newest, *others = kept.values()
        taken = {newest.import_key}
        for row in others:
            key = _fitted(f"{row.import_key}#{_fingerprint(row.created_at, row.author_name)}")
            if key in taken:  # the same moment and name, another text: a comment edited between two exports
                key = _fitted(f"{key}-{row.id}")
            taken.add(key)
            renamed.append({'row': row.id, 'key': key})
    c = COMMENTS.c
    if renamed:
        connection.execute(COMMENTS.update().where(c.id == sa.bindparam('row')).values(import_key=sa.bindparam('key')),
                           renamed)
    for site_id, ids in sorted(copies.items()):
        batch = _batch(connection, site_id, "earlier", "copies added again by imports run before their keys were "
                                                       "kept per site")
        connection.execute(COMMENTS.update().where(c.id == sa.bindparam('row'))
                           .values(import_site_id=None, import_batch_id=batch), [{'row': row} for row in ids])


def _earlier_batches(connection):
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
    # The per-thread key of before: copies in one thread cannot be, so keep the key of the first. (Indexed for
    # the look-up, as the upgrade is.)
    op.create_index('ix_comments_thread_import_key_downgrade', 'comments', ['thread_id', 'import_key'])
    op.get_bind().execute(sa.text(
        "UPDATE comments SET import_key = NULL WHERE import_key IS NOT NULL AND EXISTS (SELECT 1 FROM comments o "
        "WHERE o.thread_id = comments.thread_id AND o.import_key = comments.import_key AND o.id < comments.id)"))
    op.drop_index('ix_comments_thread_import_key_downgrade', table_name='comments')
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
