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
from sqlalchemy.exc import DBAPIError
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
        failing = False
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception as exc:  # the counts stay in memory; the next round retries
                if _schema_missing(exc):  # retrying cannot help: stop, and say why once
                    self._stop.set()
                    log.error(
                        "verification counts are no longer written: the region's database has "
                        "no table verification_count (%s); %d counts stay in memory only. Run "
                        "`licledger init` on this region (it migrates) and restart the service",
                        _one_line(exc), self.pending(),
                    )  # fmt: skip
                    return
                if not failing:  # one line when it starts failing, not one per round
                    log.error(
                        "could not write verification counts (%s); they stay in memory and "
                        "are retried every %.0f s", _one_line(exc), self.interval,
                    )  # fmt: skip
                failing = True
            else:
                if failing:
                    log.warning("verification counts are written again")
                failing = False

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
        except Exception as exc:
            log.error("verification counts of the last interval were not written (%s)",
                      _one_line(exc))  # fmt: skip


def _schema_missing(exc: Exception) -> bool:
    """The database answers but has no counts table: removed, or never migrated."""
    text = str(getattr(exc, "orig", exc))
    return isinstance(exc, DBAPIError) and (
        "no such table" in text or ("verification_count" in text and "does not exist" in text)
    )


def _one_line(exc: Exception) -> str:
    """The error in one line, without a traceback: the flush thread runs beside the workers,
    and on CPython 3.11 formatting a traceback parses source (``ast.parse``, for the caret
    marks) in this thread, which can break an ``ast.parse`` running at the same moment in
    another one (a ``SystemError`` about the AST recursion depth, seen in a test run)."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


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


def close_counter(owner: object) -> None:
    """Stop the counter of ``owner`` now and write its rest (before its database goes away:
    a runtime left to the garbage collector stops its counter only when collected)."""
    found = _COUNTERS.pop(owner, None)
    if found is not None:
        found.close()


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
