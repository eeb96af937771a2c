"""Flask extensions, created unbound and bound to each app in create_app."""
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
# Models subclass db.Model, which Flask-SQLAlchemy builds at run time; a type checker sees its base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model



def sqlite_file(url):
    """The file of a SQLite engine's URL as an absolute path; None for another database or SQLite in memory.

    Flask-SQLAlchemy has made a relative name (the default "parley.sqlite3") absolute, in the instance folder.
    """
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    name = url.database.removeprefix("file:") if url.query.get("uri") else url.database
    return Path(name).resolve()


# session.info key: the request reads before it writes (database.reads_first), and has not written yet.
READING_FIRST = "parley_reading_first"


def run_core(statement, params=None):
    """Run a statement whose rows are plain values, not mapped objects, in the session's transaction.

    It skips what the session's own execute() does for every statement (ORM compile state, bulk update
    syncing, events): about a third of a statement's cost, on paths that run ten of them per request.
    Pending changes are flushed first, as the session's autoflush would (flush() returns at once when there
    are none). A DML statement run this way does not update objects the session holds; the caller does that
    where one may be held.
    """
    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


_INSERTS_IF_NEW: dict[tuple[str, str], Any] = {}


def insert_if_new(model, row):
    """Add a row unless one with its primary key is there; whether it was added. One INSERT … ON CONFLICT DO
    NOTHING, built once per table and database kind: of two requests racing with one key, the second adds
    nothing, and neither needs a savepoint."""
    dialect = db.session.get_bind().dialect.name
    key = (model.__tablename__, dialect)
    if key not in _INSERTS_IF_NEW:
        table = model.__table__
        insert: Any = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
        _INSERTS_IF_NEW[key] = (insert(table).values({column.key: bindparam(column.key) for column in table.columns})
                                .on_conflict_do_nothing(index_elements=list(table.primary_key.columns))
                                .returning(*table.primary_key.columns))
    return run_core(_INSERTS_IF_NEW[key], row).first() is not None


@contextmanager
def loaded_past_commit():
    """Objects keep what they loaded through the commits made inside: a response built from what a request
    has just written needs no second transaction to read it back (on SQLite, a second wait for the lock)."""
    session = db.session()
    kept = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = kept


def end_reading():
    """Close the transaction a caller that reads first has only read in, keeping what it loaded.

    On SQLite the next transaction then takes the database's one write lock, and holds it only for the
    writes, not for the checks and rendering before them. Elsewhere this does nothing: there, a
    transaction takes row locks as it writes, and reads wait for nothing.
    """
    session = db.session()
    if not session.info.pop(READING_FIRST, False):
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a change was made before end_reading(): it would be written without the write lock")
    with loaded_past_commit():
        session.commit()


login_manager = LoginManager()
# Checked only where a blueprint asks (the dashboard); see Config.WTF_CSRF_CHECK_DEFAULT.
csrf = CSRFProtect()
