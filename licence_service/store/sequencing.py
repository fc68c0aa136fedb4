"""Sequencing the change log under the feed: recorded with each change, numbered after commit.

Why not timestamps or row ids: two transactions can commit in the other order than they took
their ids or clocks, so a client that read up to id 6 while id 5 was still uncommitted would
never see 5. Here every new licence version and status change adds a ``FeedChange`` row in
its own transaction (a session hook: no use case has to remember it), without a number; the
sequencer numbers the committed, unnumbered rows, holding ``FeedSequence``'s row lock until
it commits. Numbers are therefore given in the order they become visible: once a reader saw
``seq = n``, every change it has not seen gets a number above ``n``.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from licence_service.store.exchange import FeedChange, FeedSequence
from licence_service.store.models import Licence, LicenceVersion, StatusChange

__all__ = ["install", "last_seq", "sequence"]

_LOCK = threading.Lock()
_installed = False


def _licence_status(session: Session, licence_id: int) -> str:
    status = session.connection().scalar(select(Licence.status).where(Licence.id == licence_id))
    return str(status or "ACTIVE")


def _after_flush(session: Session, _ctx: Any) -> None:
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, LicenceVersion):
            kind = "issued" if obj.version == 1 else "amended"
            rows.append({"licence_id": obj.licence_id, "version_id": obj.id, "kind": kind})
        elif isinstance(obj, StatusChange):
            licence_id = session.connection().scalar(
                select(LicenceVersion.licence_id).where(LicenceVersion.id == obj.version_id)
            )
            kind = "status" if obj.attachment_id is None else "attachment"
            rows.append({"licence_id": licence_id, "version_id": obj.version_id, "kind": kind})
    for row in rows:
        # the status after the change: the licence row as this transaction left it
        licence = session.identity_map.get(session.identity_key(Licence, row["licence_id"]))
        status = licence.status if isinstance(licence, Licence) else None
        row["status"] = status or _licence_status(session, row["licence_id"])
    if rows:
        session.connection().execute(insert(FeedChange), rows)


def install() -> None:
    """Attach the recording hook (once per process)."""
    global _installed
    with _LOCK:
        if not _installed:
            event.listen(Session, "after_flush", _after_flush)
            _installed = True


def sequence(sessions: sessionmaker[Session]) -> int:
    """Number every committed change that has no number yet; the highest number given.

    The first statement updates the sequence row: in PostgreSQL that row lock makes a second
    sequencer wait until this one commits (and then see its numbers); in SQLite it takes the
    database's write lock before anything is read. One set-based update numbers the waiting
    rows by id from ``last + 1`` on (numbers may leave gaps: a cursor needs them rising and
    unique, not consecutive); a row committed meanwhile with an id below the range waits for
    the next call, so it still gets a number above every one given here."""
    with sessions.begin() as s:
        s.execute(update(FeedSequence).where(FeedSequence.id == 1).values(last=FeedSequence.last))
        last = int(s.scalar(select(FeedSequence.last).where(FeedSequence.id == 1)) or 0)
        low, high = s.execute(
            select(func.min(FeedChange.id), func.max(FeedChange.id)).where(FeedChange.seq.is_(None))
        ).one()
        if low is None:
            return last
        base = last + 1 - int(low)
        s.execute(
            update(FeedChange)
            .where(FeedChange.seq.is_(None), FeedChange.id.between(low, high))
            .values(seq=FeedChange.id + base)
        )
        last = int(s.scalar(select(func.max(FeedChange.seq))) or last)
        s.execute(update(FeedSequence).where(FeedSequence.id == 1).values(last=last))
    return last


def last_seq(session: Session) -> int:
    """The highest number given so far (0: none)."""
    return int(session.scalar(select(func.max(FeedChange.seq))) or 0)
