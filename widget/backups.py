"""Backups of the whole database: a consistent copy of a live SQLite file or a pg_dump, and the way back.

A backup is one file named `parley-<UTC time>.sqlite3` or `.dump` (pg_dump's custom format). It is
written under a temporary name and renamed when complete and checked, so a file with a backup's
name is always a whole one; retention only ever deletes files with such names.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from .errors import ParleyError

NAME = re.compile(r"^parley-(\d{8}T\d{6}\.\d{6}Z)\.(sqlite3|dump)$")
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupFailed(ParleyError):
    code = "backup_failed"


@dataclass
class BackupResult:
    path: Path
    deleted: list[Path] = field(default_factory=list)


def backup(url: URL, directory: Path, keep: int, now: datetime | None = None) -> BackupResult:
    """Write a backup of the database at `url` into `directory`, then keep only the `keep` newest (0: all)."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupFailed(f"cannot make the backup folder {directory}: {error.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackupFailed(f"the backup folder {directory} is not writable")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    target = directory / f"parley-{stamp}.{'sqlite3' if _is_sqlite(url) else 'dump'}"
    partial = directory / f".{target.name}.partial"
    try:
        if _is_sqlite(url):
            _sqlite_backup(_sqlite_path(url), partial)
        else:
            _pg_dump(url, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, prune(directory, keep))


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups in `directory`; files not named like a backup stay."""
    if keep <= 0:
        return []
    found = sorted(path for path in Path(directory).iterdir() if NAME.match(path.name) and path.is_file())
    old = found[:-keep]
    for path in old:
        path.unlink()
    return old


def restore(url: URL, source: Path, known_revisions: set[str]) -> str:
    """Replace the database at `url` by the backup `source`, all at once; returns the backup's schema revision.

    Refused while anything else has the database open (stop the server and workers first), and for a
    backup whose schema is newer than this code knows.
    """
    source = Path(source)
    if not source.is_file():
        raise BackupFailed(f"no backup file at {source}")
    try:
        with source.open("rb") as file:
            magic = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupFailed(f"cannot read {source}: {error.strerror}") from None
    if _is_sqlite(url):
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupFailed(f"{source} is not a SQLite backup, and the configured database is SQLite")
        revision = _sqlite_revision(source)
        _check_revision(revision, known_revisions)
        _sqlite_restore(source, _sqlite_path(url))
    else:
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupFailed(f"{source} is not a PostgreSQL backup (pg_dump's custom format), "
                               "and the configured database is PostgreSQL")
        revision = _pg_dump_revision(source)
        _check_revision(revision, known_revisions)
        _pg_restore(url, source)
    return revision


def _is_sqlite(url: URL) -> bool:
    if url.get_backend_name() == "sqlite":
        return True
    if url.get_backend_name() == "postgresql":
        return False
    raise BackupFailed(f"backups are made of SQLite and PostgreSQL databases, not {url.get_backend_name()}")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupFailed("an in-memory database has nothing to back up or restore")
    return Path(url.database)


def _check_revision(revision: str, known_revisions: set[str]):
    if revision not in known_revisions:
        raise BackupFailed(f"the backup's schema ({revision}) is newer than this version of Parley knows: "
                           "restore it with the version that made it")


# SQLite

def _sqlite_backup(path: Path, partial: Path):
    if not path.is_file():
        raise BackupFailed(f"no SQLite database at {path}")
    try:
        # mode=rw: never create an empty database where the real one was expected.
        source = sqlite3.connect(path.as_uri() + "?mode=rw", uri=True, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                # One step: the whole copy is read in one read transaction, a snapshot of one moment.
                # Under WAL writers go on meanwhile; in several steps any write would restart the copy.
                source.backup(copy)
                # The copy stands alone: one file, no -wal beside it.
                copy.execute("PRAGMA journal_mode=DELETE")
                _check_integrity(copy, partial)
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        raise BackupFailed(f"cannot back up {path}: {error}") from None
    with partial.open("rb") as file:
        os.fsync(file.fileno())


def _check_integrity(connection: sqlite3.Connection, path: Path):
    result = connection.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise BackupFailed(f"{path} is damaged: {'; '.join(row[0] for row in result[:5])}")


def _sqlite_revision(source: Path) -> str:
    try:
        connection = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            _check_integrity(connection, source)
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupFailed(f"{source} is not a Parley backup: {error}") from None
    if row is None:
        raise BackupFailed(f"{source} is not a Parley backup: it has no schema revision")
    return row[0]


def _sqlite_restore(source: Path, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        live = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    except sqlite3.Error as error:
        raise BackupFailed(f"cannot open {path}: {error}") from None
    try:
        # Exclusive locking mode keeps the lock until this connection closes. Every other connection
        # to a WAL database holds a lock while it is open, even idle, so this fails while a server or
        # worker still has the database open: they would go on with what they had read before.
        live.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            live.execute("BEGIN EXCLUSIVE")
            live.execute("COMMIT")
        except sqlite3.OperationalError:
            raise BackupFailed(f"{path} is in use: stop the server and any workers first, then restore") from None
        backup = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            # Into the live file through SQLite itself: one transaction, so the database is either all
            # old or all restored, and its WAL and locks stay coherent.
            backup.backup(live)
        finally:
            backup.close()
        live.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as error:
        raise BackupFailed(f"cannot restore into {path}: {error}") from None
    finally:
        live.close()


# PostgreSQL

def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupFailed(f"{name} was not found: install the PostgreSQL client programs of your server's "
                           "major version (on Debian and Ubuntu: apt install postgresql-client)")
    return found


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment carrying it (never in `ps`)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BackupFailed(f"{what}: cannot run {command[0]}: {error.strerror}") from None
    if result.returncode != 0:
        raise BackupFailed(f"{what}: {result.stderr.strip() or f'{command[0]} exited with {result.returncode}'}")
    return result.stdout


def _pg_dump(url: URL, partial: Path):
    conninfo, env = _pg_connection(url)
    # pg_dump reads every table in one repeatable-read snapshot: consistent while comments arrive.
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
          f"--dbname={conninfo}"], env, "pg_dump failed")
    with partial.open("rb") as file:
        os.fsync(file.fileno())


def _pg_dump_revision(source: Path) -> str:
    out = _run([_pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(source)],
               dict(os.environ), f"{source} is not a readable pg_dump file")
    # The table's data is one COPY block: a header line, the revision, then "\.".
    match = re.search(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n([^\n]+)\n", out, re.MULTILINE)
    if not match:
        raise BackupFailed(f"{source} is not a Parley backup: it has no schema revision")
    return match.group(1)


_IN_USE = """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"""

# Everything in the schema goes first, in the restore's own transaction: a backup of an older schema
# must not land beside tables that a later migration made.
_DROP_ALL = """
DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', name);
    END LOOP;
    FOR name IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema() LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', name);
    END LOOP;
END $$;
"""


def _pg_restore(url: URL, source: Path):
    conninfo, env = _pg_connection(url)
    psql = _pg_tool("psql")
    in_use = _run([psql, "--no-psqlrc", "--tuples-only", "--no-align", f"--dbname={conninfo}", "--command", _IN_USE],
                  env, "cannot reach the database")
    if int(in_use.strip() or 0):
        raise BackupFailed(f"the database is in use ({in_use.strip()} other connections): "
                           "stop the server and any workers first, then restore")
    # The backup as SQL, whole, before anything is changed; then the drops and it in one transaction,
    # so that on any error nothing changes.
    with tempfile.TemporaryDirectory(prefix="parley-restore-") as scratch:
        script = Path(scratch) / "restore.sql"
        _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(source)],
             env, f"{source} is not a readable pg_dump file")
        _run([psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
              f"--dbname={conninfo}", "--command", _DROP_ALL, f"--file={script}"],
             env, "restore failed, the database is unchanged")
