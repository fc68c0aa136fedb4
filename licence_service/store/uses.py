"""How often each licence was verified, per day: counted in memory, written in bulk.

A verification request writes nothing to the database (ARCHITECTURE.md: the counter's answer
comes from memory), so each verdict that names a licence is added to a process-wide tally,
and the tally is written (added to ``verification_count`` rows) by the verifier's background
refresher and before a holder's wallet reads the counts. A crash loses at most the counts of
one refresh interval: these are statistics shown to the holder, not evidence.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from licence_service.store.models import Base
from verifier.errors import VerificationError
from verifier.references import split_identifier


class VerificationCount(Base):
    """Verifications of one licence (base identifier) on one UTC day."""

    __tablename__ = "verification_count"
    __table_args__ = (UniqueConstraint("licence", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)


_LOCK = threading.Lock()
_TALLY: Counter[tuple[str, date]] = Counter()


def note_verification(licence_id: str | None) -> None:
    """Count one verification of ``licence_id`` (any version's or copy's identifier)."""
    if not licence_id:
        return
    try:
        base = split_identifier(licence_id).base
    except VerificationError:  # not one of this system's identifiers: nothing to count
        return
    with _LOCK:
        _TALLY[(base[:64], datetime.now(UTC).date())] += 1


def _add(s: Session, licence: str, day: date, n: int) -> None:
    query = select(VerificationCount).where(
        VerificationCount.licence == licence, VerificationCount.day == day
    )
    row = s.scalar(query.with_for_update())
    if row is None:
        s.add(VerificationCount(licence=licence, day=day, count=n))
    else:
        row.count += n


def flush_verifications(sessions: sessionmaker[Session]) -> int:
    """Write the tally to the database (the counts are kept if the write fails)."""
    with _LOCK:
        taken = dict(_TALLY)
        _TALLY.clear()
    if not taken:
        return 0
    try:
        for attempt in range(2):  # two processes may create one day's row at once
            try:
                with sessions.begin() as s:
                    for (licence, day), n in taken.items():
                        _add(s, licence, day, n)
                break
            except IntegrityError:
                if attempt:
                    raise
    except Exception:
        with _LOCK:
            _TALLY.update(taken)
        raise
    return sum(taken.values())


def verifications_per_day(s: Session, base_id: str) -> list[tuple[date, int]]:
    """The days on which ``base_id`` was verified, oldest first, with their counts."""
    rows = s.execute(
        select(VerificationCount.day, VerificationCount.count)
        .where(VerificationCount.licence == base_id)
        .order_by(VerificationCount.day)
    ).all()
    return [(d, int(n)) for d, n in rows]
