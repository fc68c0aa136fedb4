"""Verification counts for the supervisor's statistics, kept off the counter's hot path.

A verification is answered from memory in well under a millisecond (``region.verifying``); a
database write per answer would cost more than the answer. So each server process adds to an
in-memory counter (one dict increment under an uncontended lock, about a microsecond) and a
daemon thread appends the counts to ``verification_count`` every
``LICLEDGER_VERIFY_COUNT_FLUSH_SECONDS`` (default 10 s), one row per (day, agency, type,
channel, person, verdict) seen in the interval, and once more when the process exits
normally (``atexit``: a worker stopped by ``serve`` flushes). Only counts are kept: never the
holder or the token; the licence's identifier, so its holder's wallet shows how often it was
verified each day.

Durability: a worker that is killed (``kill -9``, a power cut) loses at most the counts of
its last flush interval; everything flushed before survives any restart, because it is in
the region's database, like the rest of the region's data.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import weakref
from collections import Counter
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from licence_service.store.reads import VerificationCount
from verifier.errors import VerificationError
from verifier.references import split_identifier
from verifier.verdicts import VerificationResult

log = logging.getLogger(__name__)

DEFAULT_FLUSH_SECONDS = 10.0
CHANNELS = ("api", "counter", "status-page", "cli")


class CountKey(NamedTuple):
    day: date
    agency: str
    type_code: str
    channel: str
    person: str
    verdict: str
    licence: str


def flush_seconds() -> float:
    """``LICLEDGER_VERIFY_COUNT_FLUSH_SECONDS``: how long counts may wait in memory."""
    raw = os.environ.get("LICLEDGER_VERIFY_COUNT_FLUSH_SECONDS", "")
    try:
        value = float(raw) if raw else DEFAULT_FLUSH_SECONDS
    except ValueError:
        value = DEFAULT_FLUSH_SECONDS
    return min(max(value, 0.05), 3600.0)


class VerificationCounter:
    """One process's verification counts for one region, flushed to its database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        interval: float | None = None,
        owner: object | None = None,
    ) -> None:
        self._sessions = sessions
        self.interval = interval if interval is not None else flush_seconds()
        self._counts: Counter[CountKey] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # With an owner (a region runtime) the counter stops and writes its rest when the
        # owner goes, or at exit if the owner is still there: its thread never outlives it.
        self._finalizer = weakref.finalize(owner, self.close) if owner is not None else None

    def count(self, result: VerificationResult, channel: str, person: str = "") -> None:
        """Add one answered verification (the hot path: no I/O)."""
        key = CountKey(
            datetime.now(UTC).date(),
            result.issuer_code or "",
            result.type_code or "",
            channel,
            person,
            result.verdict.name,
            _base(result.licence_id),
        )
        with self._lock:
            self._counts[key] += 1
            if self._thread is None:
                self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="verify-counts", daemon=True)
        self._thread.start()
        if self._finalizer is None:
            atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # the counts stay in memory; the next round retries
                log.exception("could not write verification counts; retrying")

    def pending(self) -> int:
        """Verifications counted in memory and not yet written."""
        with self._lock:
            return sum(self._counts.values())

    def flush(self) -> int:
        """Append what was counted since the last flush; returns how many verifications."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            with self._sessions.begin() as s:
                s.add_all(VerificationCount(day=k.day, agency=k.agency, type_code=k.type_code,
                                            channel=k.channel, person=k.person,
                                            verdict=k.verdict, licence=k.licence, count=n)
                          for k, n in counts.items())  # fmt: skip
        except Exception:
            with self._lock:  # put them back for the next round
                self._counts.update(counts)
            raise
        return sum(counts.values())

    def close(self) -> None:
        """Stop the thread and write what is left (at process exit, or when the owner goes)."""
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            self.flush()
        except Exception:
            log.exception("verification counts of the last interval were not written")


_COUNTERS: weakref.WeakKeyDictionary[object, VerificationCounter] = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def counter_of(owner: object, sessions: sessionmaker[Session]) -> VerificationCounter:
    """The counter of one region runtime (``owner``), made on first use."""
    found = _COUNTERS.get(owner)
    if found is None:
        with _COUNTERS_LOCK:
            found = _COUNTERS.get(owner)
            if found is None:
                found = _COUNTERS[owner] = VerificationCounter(sessions, owner=owner)
    return found


@functools.lru_cache(maxsize=4096)  # the hot path: a counter sees the same codes again and again
def _base(licence_id: str | None) -> str:
    """The base identifier of any version's or copy's identifier ("" if not one of ours)."""
    if not licence_id:
        return ""
    try:
        return split_identifier(licence_id).base[:64]
    except VerificationError:
        return ""


def verifications_per_day(s: Session, base_id: str) -> list[tuple[date, int]]:
    """The days on which ``base_id`` was verified, oldest first, with their counts."""
    rows = s.execute(
        select(VerificationCount.day, func.sum(VerificationCount.count))
        .where(VerificationCount.licence == base_id)
        .group_by(VerificationCount.day)
        .order_by(VerificationCount.day)
    ).all()
    return [(d, int(n)) for d, n in rows]
