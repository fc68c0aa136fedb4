"""Who read which licence, and the alerts raised when one person reads too many.

Every read of a licence through the service (API, desk page, PDF download) is one row of
``licence_read``; ``unmasked`` says whether the reader saw the personal fields in full. The
same rows count the distinct licences a person read in the last minute (the enumeration
throttle), so the count is shared by every server process of the region: it lives in the
region's database, not in one process's memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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


class ReadAlert(Base):
    """A person throttled for reading too many distinct licences in a minute."""

    __tablename__ = "read_alert"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reader: Mapped[str] = mapped_column(String(100), index=True)
    distinct_licences: Mapped[int] = mapped_column(Integer)
    limit: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
