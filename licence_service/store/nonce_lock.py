"""One signer at a time per chain account, across worker processes and server instances.

Every process that signs for an agency's account (each ``serve`` worker answering a status
change, the anchoring worker, a CLI command) holds this lock from reading the account's nonce
to broadcasting the transaction (``TransactionSender.sending``), so the next holder reads a
pending count that includes it. On PostgreSQL it is a session advisory lock keyed by the
address, on a connection of its own: instances on other hosts share it through the database.
On SQLite (one host by nature) it is an exclusive ``flock`` on a file next to the database.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from ledger_client.transactions import NonceLock


def _key(address: str) -> int:
    """A signed 64-bit advisory-lock key of ``address`` (namespaced to this use)."""
    digest = hashlib.sha256(b"licledger-nonce:" + address.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def nonce_lock(engine: Engine, lock_dir: Path) -> NonceLock:
    """The lock of the database ``engine`` (files under ``lock_dir`` for SQLite)."""
    if engine.dialect.name == "postgresql":

        @contextmanager
        def advisory(address: str) -> Iterator[None]:
            key = _key(address)
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

        return advisory

    def file_lock(address: str) -> AbstractContextManager[None]:
        return _flock(lock_dir / f"nonce-{address.lower()}.lock")

    return file_lock


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
