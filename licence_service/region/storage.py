"""A full or read-only data directory, told apart from every other failure.

Writing a PDF raises ``OSError`` (ENOSPC, EROFS, ...); SQLite reports the same conditions as
``OperationalError`` text ("database or disk is full", "attempt to write a readonly database").
Both become one ``StorageError`` that names the directory and the problem, so the CLI exits 2
with a readable line and the API answers 507 (no space) or 503 (read-only / not writable)
instead of a 500.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from licence_service.domain.errors import StorageError
from licence_service.region.settings import Settings

__all__ = ["storage_error", "storage_errors", "writing_files"]

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_SQLITE_FULL = ("database or disk is full", "disk quota")
_SQLITE_READ_ONLY = ("readonly database", "read-only file system", "unable to open database")


def _full(where: Path) -> StorageError:
    return StorageError(
        f"the data directory {where} is full (no space left on the device): nothing was "
        "recorded; free space and retry",
        507,
    )


def _read_only(where: Path) -> StorageError:
    return StorageError(
        f"the data directory {where} is read-only or not writable: nothing was recorded; "
        "make it writable (mount it read-write) and retry",
        503,
    )


def _database_dir(settings: Settings) -> Path:
    """Where the database writes: the SQLite file's folder (else the data directory)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database).parent
    return settings.home


def storage_error(exc: BaseException, settings: Settings) -> StorageError | None:
    """The ``StorageError`` that ``exc`` stands for, or None when it is something else."""
    if isinstance(exc, OSError):
        where = Path(exc.filename).parent if exc.filename else settings.home
        if exc.errno in _FULL:
            return _full(where)
        if exc.errno in _READ_ONLY:
            return _read_only(where)
        return None
    if isinstance(exc, SQLAlchemyError):
        text = str(getattr(exc, "orig", None) or exc).lower()
        where = _database_dir(settings)
        if any(s in text for s in _SQLITE_FULL):
            return _full(where)
        if any(s in text for s in _SQLITE_READ_ONLY):
            return _read_only(where)
        if "disk i/o error" in text:  # SQLite cannot open its -wal/-shm: ask the disk why
            return _disk_state(where)
    return None


def _disk_state(where: Path) -> StorageError | None:
    try:
        st = os.statvfs(where)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return _read_only(where)
    if st.f_bavail == 0:
        return _full(where)
    return None


@contextmanager
def storage_errors(settings: Settings) -> Iterator[None]:
    """Raise a full or read-only disk met inside the block as ``StorageError``."""
    try:
        yield
    except Exception as exc:
        problem = storage_error(exc, settings)
        if problem is not None:
            raise problem from exc
        raise


@contextmanager
def writing_files(settings: Settings) -> Iterator[list[Path]]:
    """Around a transaction that writes files first (the caller appends each path): when the
    transaction certainly did not commit (a full or read-only disk, a lost race on a unique
    key) those files are removed, so no PDF outlives its failed record; a storage failure is
    raised as ``StorageError``. Any other failure (e.g. a connection lost during COMMIT, when
    the row may exist) leaves the files: an orphan file is harmless, a row without its file
    is not."""
    written: list[Path] = []
    try:
        yield written
    except Exception as exc:
        problem = storage_error(exc, settings)
        if problem is not None or isinstance(exc, IntegrityError):
            for path in written:
                with suppress(OSError):  # read-only: nothing could have been written there
                    path.unlink(missing_ok=True)
        if problem is not None:
            raise problem from exc
        raise
