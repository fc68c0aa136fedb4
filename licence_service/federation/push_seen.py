"""Delivery ids a push receiver has accepted, kept in a SQLite file so they outlive it.

Delivery is at least once: a sender killed after the receiver accepted sends the same
delivery again, with the same id, perhaps after the receiver restarted. ``MemorySeen`` forgets
every id on a restart, so the repeat would be applied twice; :class:`SqliteSeen` keeps them in
one table of a file. Accepting an id is one ``INSERT OR IGNORE`` on its primary key: SQLite
takes the write lock for that statement, so of two threads or processes adding the same id
exactly one inserts the row (and is told True); the other is told False (a duplicate).

Retention: ids are kept for ever unless ``retention`` (seconds) is given; then each add also
deletes ids accepted longer ago than that. A retention must exceed the longest a sender goes
on retrying one delivery (at most its attempt cap times its back-off cap: 8 x 1 h with the
defaults of ``RetryPolicy``), or a late retry is taken for new. A push replayed after its id
was forgotten is accepted again; its items still carry their old ``seq`` and lose to what was
applied since (README.md, receiving pushes, step 6).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["SqliteSeen"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS push_seen ("
    " delivery TEXT PRIMARY KEY,"
    " seen_at REAL NOT NULL"
    ") WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS push_seen_at ON push_seen (seen_at)",
)


class SqliteSeen:
    """A ``SeenDeliveries`` in the SQLite file ``path`` (created with its parent folder).

    One object may be shared by the receiver's threads (its connection is used under a lock);
    other objects and processes on the same file are serialised by SQLite's own locking,
    waiting up to ``timeout`` seconds for the write lock."""

    def __init__(
        self,
        path: str | Path,
        *,
        retention: float | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention is not None and retention <= 0:
            raise ValueError("retention must be a positive number of seconds, or None")
        self.path = Path(path)
        self.retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit: each statement below is its own transaction
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            for statement in _SCHEMA:
                self._db.execute(statement)

    def add(self, delivery: str) -> bool:
        """Record ``delivery``; False when it was recorded before (by anyone on this file)."""
        now = self._clock()
        with self._lock:
            if self.retention is not None:
                self._db.execute("DELETE FROM push_seen WHERE seen_at < ?", (now - self.retention,))
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO push_seen (delivery, seen_at) VALUES (?, ?)", (delivery, now)
            )
            return cursor.rowcount == 1

    def __contains__(self, delivery: object) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM push_seen WHERE delivery = ?", (delivery,)
            ).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM push_seen").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteSeen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
