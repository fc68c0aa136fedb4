"""The database's part of a backup: a consistent snapshot out, an empty database filled in.

- SQLite: the sqlite3 online backup API copies a consistent snapshot while the service keeps
  writing (a plain file copy of a WAL database can be torn).
- PostgreSQL: ``pg_dump`` (plain SQL) out, ``psql --single-transaction`` in, so a failed
  restore leaves the target database as empty as it was. Both tools come with PostgreSQL's
  client package; when they are missing the error says what to install.

Stored PDF paths are absolute; after a restore into another data directory they are moved
under the new one (``relocate_paths``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, String, create_engine, func, inspect, literal, update
from sqlalchemy.engine import make_url

from licence_service.domain.errors import InvalidInputError, NotSetUpError
from licence_service.store.models import Attachment, LicenceVersion, Submission

__all__ = [
    "database_kind",
    "dump_database",
    "ensure_empty",
    "load_database",
    "relocate_paths",
    "sqlite_path",
]

_PATH_COLUMNS = (
    LicenceVersion.pdf_path,
    Attachment.pdf_path,
    Submission.pdf_path,
    Submission.checked_pdf_path,
)
_TIMEOUT = 600


def database_kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise InvalidInputError(f"backups support SQLite and PostgreSQL, not {name}", "database")
    return name


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInputError(f"{url} is not a SQLite file", "database")
    return Path(database)


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise NotSetUpError(
            f"{name} is not on PATH: backing up or restoring a PostgreSQL database needs "
            "PostgreSQL's client tools; install them (Debian: apt-get install postgresql-client)",
            "database",
        )
    return found


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=_TIMEOUT)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise NotSetUpError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def dump_database(url: str, target: Path) -> None:
    """A consistent snapshot of the database at ``url`` into the file ``target``."""
    if database_kind(url) == "sqlite":
        source = sqlite_path(url)
        if not source.is_file():
            raise NotSetUpError(f"no database at {source}: nothing to back up", "database")
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    _run(
        [_tool("pg_dump"), "--format=plain", "--no-owner", "--no-privileges",
         f"--file={target}", f"--dbname={_libpq_url(url)}"],
        "pg_dump",
    )  # fmt: skip


def ensure_empty(url: str) -> None:
    """Refuse a restore into a database that already holds something."""
    if database_kind(url) == "sqlite":
        path = sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            raise InvalidInputError(
                f"the database {path} already exists: restore into a fresh one", "database"
            )
        return
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        shown = make_url(url).render_as_string(hide_password=True)
        raise InvalidInputError(
            f"the database {shown} is not empty ({len(tables)} tables): restore into an empty "
            "database (createdb a new one and set LICLEDGER_DATABASE_URL)",
            "database",
        )


def load_database(url: str, snapshot: Path) -> None:
    """Fill the empty database at ``url`` from ``snapshot`` (SQLite: moved into place)."""
    if database_kind(url) == "sqlite":
        target = sqlite_path(url)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.move(snapshot, target)
        return
    _run(
        [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1",
         "--single-transaction", f"--file={snapshot}", f"--dbname={_libpq_url(url)}"],
        "psql (loading the PostgreSQL dump)",
    )  # fmt: skip


def _relocate(engine: Engine, old: str, new: str) -> int:
    moved = 0
    with engine.begin() as conn:
        for column in _PATH_COLUMNS:
            prefix = func.substr(column, 1, len(old))
            rest = func.substr(column, len(old) + 1)
            result = conn.execute(
                update(column.class_)
                .where(prefix == old)
                .values({column.key: literal(new, String) + rest})
            )
            moved += result.rowcount
    return moved


def relocate_paths(url: str, old_home: Path, new_home: Path) -> int:
    """Point stored PDF paths under ``old_home`` to the same files under ``new_home``;
    returns how many paths moved."""
    old, new = str(old_home).rstrip("/") + "/", str(new_home).rstrip("/") + "/"
    if old == new:
        return 0
    engine = create_engine(url)
    try:
        return _relocate(engine, old, new)
    finally:
        engine.dispose()
