"""Database set-up: SQLite pragmas and write locks, and the schema upgraded on first start."""
import fcntl
import logging
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

import click
from flask import g, has_request_context, request
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import OperationalError

from . import startup
from .config import instance_secret_key
from .extensions import READING_FIRST, db, sqlite_file

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def writes(view):
    """Mark a GET view that writes (a login callback, say), so that on SQLite it takes the write lock first."""
    @wraps(view)
    def marked(*args, **kwargs):
        g.parley_writes = True
        return view(*args, **kwargs)
    return marked


def reads_first(view):
    """Mark a view that checks a lot before it writes a little: on SQLite its reads run in a transaction of
    their own, beside other writers, and the write lock is taken only when it calls end_reading()."""
    @wraps(view)
    def marked(*args, **kwargs):
        session = db.session()
        if db.engine.dialect.name == "sqlite":
            session.info[READING_FIRST] = True
        try:
            return view(*args, **kwargs)
        finally:
            session.info.pop(READING_FIRST, None)
    return marked


def _may_write():
    """Whether the transaction about to begin may write: every request but reads, and all work outside one."""
    if not has_request_context():
        return True  # the command line, a worker
    if db.session().info.get(READING_FIRST):
        return False
    return request.method not in READ_METHODS or g.get("parley_writes", False)


def _sqlite_begin(connection):
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another worker wrote in between: its snapshot is stale, and busy_timeout cannot retry
    # that. A transaction that may write takes the write lock when it begins, waiting its turn;
    # reads stay deferred, so under WAL they go on beside the one writer.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


def _sqlite_connect(dbapi_connection, _record):
    # Let SQLAlchemy, not the sqlite3 module, open transactions: otherwise SAVEPOINTs
    # (used to retry a racing insert) silently commit.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while a comment is written; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def _migration_lock(app, engine):
    """One process migrates at a time when several workers start together."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(727274)"))
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(727274)"))
                connection.commit()
    else:
        with open(Path(app.instance_path) / ".migrate.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def _stored_revision(engine):
    """The schema revision the database is at (None for an empty database)."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


# Alembic reads and runs every migration's file to learn the revisions. The files don't change while the
# process runs, and every app made (a worker, a command, each test) asks: read them once per folder.
_REVISIONS: dict[str, tuple[str | None, frozenset[str]]] = {}
MIGRATIONS = "parley.migrations_directory"


def migrations(app):
    """Flask-Migrate bound to the app, made when first needed: importing Alembic costs every command that
    does not migrate (`parley --help`, `site list`) a noticeable part of its start."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=app.extensions[MIGRATIONS], render_as_batch=True)
    return app.extensions["migrate"]


class _MigrationCommands(click.Group):
    """`db`: Flask-Migrate's commands, loaded (with Alembic) only when `db` itself is asked for."""

    def _loaded(self, ctx):
        from flask.cli import ScriptInfo

        migrations(ctx.ensure_object(ScriptInfo).load_app())
        from flask_migrate.cli import db as commands

        return commands

    def make_context(self, info_name, args, parent=None, **extra):
        # Flask-Migrate's group takes it from here: its options, its callback, its commands.
        return self._loaded(parent).make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self._loaded(ctx).list_commands(ctx)

    def get_command(self, ctx, name):
        return self._loaded(ctx).get_command(ctx, name)


def _revisions(app):
    """(the newest revision, every revision) this code has a migration for."""
    from alembic.script import ScriptDirectory

    migrate = migrations(app).migrate
    directory = str(migrate.directory)
    if directory not in _REVISIONS:
        scripts = ScriptDirectory.from_config(migrate.get_config())
        _REVISIONS[directory] = (scripts.get_current_head(),
                                 frozenset(script.revision for script in scripts.walk_revisions()))
    return _REVISIONS[directory]


def known_revisions(app):
    """Every schema revision this code has a migration for."""
    return _revisions(app)[1]


class SchemaTooNew(RuntimeError):
    """The database was upgraded by a newer Parley than this one."""


def init_app(app, migrations_directory):
    """SQLite's pragmas and write locks on the app's engine, and the `db` commands. Touches no file: a command
    that only reads (or `--help`) must leave a fresh instance folder as it found it."""
    app.extensions[MIGRATIONS] = migrations_directory
    app.cli.add_command(_MigrationCommands("db", help="Perform database migrations."))
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            engine.dispose()  # connections made before the listener get the pragmas too


def prepare(app):
    """What a server, and every command that writes, needs before it starts: settings that are safe to run
    with, a secret key (a development server makes one in the instance folder), and an up-to-date schema."""
    startup.check(app.config, secret_key_given=secret_key_given(app))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    _upgrade_on_start(app)


def secret_key_given(app):
    """Whether PARLEY_SECRET_KEY (or the app's caller) gave the secret key, rather than the instance folder."""
    return app.extensions["parley.secret_key_given"]


def missing_file(app):
    """The SQLite file that does not exist yet (and that connecting would create empty), else None."""
    with app.app_context():
        path = sqlite_file(db.engine.url)
    return path if path is not None and not path.exists() else None


def schema_behind(app):
    """(stored, newest) when the database's schema is older than this code's, else None."""
    head = _revisions(app)[0]
    try:
        stored = _stored_revision(db.engine)
    except OperationalError:
        return None
    return (stored, head) if stored != head and (stored is None or stored in known_revisions(app)) else None


def _upgrade_on_start(app):
    with app.app_context():
        engine = db.engine
        if not app.config["AUTO_MIGRATE"]:
            return  # the owner runs `db upgrade`; not even the database is touched at start
        head = _revisions(app)[0]
        try:
            stored = _stored_revision(engine)
        except OperationalError as error:
            if startup.serving():
                raise
            # A command says what is wrong when it first asks the database; a server may not start.
            logging.getLogger(__name__).warning("the database cannot be reached: %s", error.orig or error)
            return
        if stored == head:
            return
        if stored is not None and stored not in known_revisions(app):
            # Serving it would fail in odd places (a column this code doesn't know, a constraint it
            # breaks), and downgrading needs the newer code's migrations. Stop here and say so.
            raise SchemaTooNew(
                f"The database is at schema revision {stored!r}, which this version of Parley does not know "
                f"(its newest is {head!r}): a newer Parley has upgraded it. Run the newer version again, or "
                "restore a backup made before that upgrade (with the newer version, then install this one).")
        with _migration_lock(app, engine):
            if _stored_revision(engine) != head:
                from flask_migrate import upgrade

                upgrade()
