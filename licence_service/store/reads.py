"""Who read which licence, and the alerts raised when one person reads too many.

Every read of a licence through the service (API, desk page, PDF download) is one row of
``licence_read``; ``unmasked`` says whether the reader saw the personal fields in full. The
same rows count the distinct licences a person read in the last minute (the enumeration
throttle), so the count is shared by every server process of the region: it lives in the
region's database, not in one process's memory.

Each row names its ``subject`` (``licence:<base id>``, or ``holder:<keyed hash>`` for a
lookup by holder ID, never the ID itself) and its ``purpose``; the rows are sealed into a
hash chain and its head anchored like the operation log's (``audit.oplog.READLOG``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from licence_service.domain.identifiers import LICENCE_ID_PREFIX
from licence_service.store.models import Base, utcnow


class LicenceRead(Base):
    """One read of one licence by one person (the read log)."""

    __tablename__ = "licence_read"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reader: Mapped[str] = mapped_column(String(100), index=True)  # the person's label
    licence: Mapped[str] = mapped_column(String(100), index=True)  # base id
    route: Mapped[str] = mapped_column(String(200))  # what was read: route or purpose
    unmasked: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    subject: Mapped[str] = mapped_column(String(200), default="", index=True)
    purpose: Mapped[str] = mapped_column(String(200), default="", index=True)
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True, index=True)


class ReadAlert(Base):
    """A person throttled for reading too many distinct licences in a minute."""

    __tablename__ = "read_alert"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reader: Mapped[str] = mapped_column(String(100), index=True)
    distinct_licences: Mapped[int] = mapped_column(Integer)
    limit: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class VerificationCount(Base):
    """Verifications answered by one server process in one flush interval, per day, agency,
    licence type, channel (counter page, status page, API), person and verdict: counts only,
    nothing about the licence's holder (the licence's identifier, for its holder's wallet).
    Appended by ``audit.verify_counts``; summed by ``audit.workload``."""

    __tablename__ = "verification_count"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    agency: Mapped[str] = mapped_column(String(18), default="")
    type_code: Mapped[str] = mapped_column(String(32), default="")
    channel: Mapped[str] = mapped_column(String(40), default="")
    person: Mapped[str] = mapped_column(String(100), default="")
    verdict: Mapped[str] = mapped_column(String(20), default="")
    # the licence's base identifier (not personal data): the holder's wallet shows its uses
    licence: Mapped[str] = mapped_column(String(64), default="", index=True)
    count: Mapped[int] = mapped_column(Integer)


def licence_subject(licence_id: str) -> str:
    """The read log's subject of a licence (its base id, whichever version was read)."""
    head = f"{LICENCE_ID_PREFIX}."
    body = licence_id.split("/")[0].removeprefix(head)
    return "licence:" + head + ".".join(body.split(".")[:3])


def add_read(
    s: Session,
    reader: str,
    subject: str,
    purpose: str,
    *,
    licence: str = "",
    route: str = "",
    unmasked: bool = True,
    at: datetime | None = None,
) -> None:
    """Append one read to the log in the caller's transaction (sealed later with the chain)."""
    s.add(LicenceRead(reader=reader[:100], subject=subject[:200], purpose=purpose[:200],
                      licence=licence[:100], route=(route or purpose)[:200], unmasked=unmasked,
                      at=at or utcnow()))  # fmt: skip
