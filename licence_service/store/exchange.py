"""The exchange between regions' tables (``licence_service.federation``): the change log the
feed, the snapshot and the push deliveries are read from, its sequencer, and the push
subscriptions other regions hold.

A change is written in the transaction of the licence version or status change it records
(``store.sequencing``), without a number; the sequencer numbers committed changes later,
one sequencer at a time (``FeedSequence``'s row is its lock), so numbers rise in the order
they become visible and a reader holding a cursor never misses one committed after it read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from licence_service.store.models import Base, utcnow


class FeedChange(Base):
    """One change of a licence as the feed shows it: its version and the status after it.
    ``seq`` is None until the sequencer numbers it (after its transaction committed)."""

    __tablename__ = "feed_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("licence_version.id"))
    kind: Mapped[str] = mapped_column(String(12))  # issued, amended, status, attachment
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeedSequence(Base):
    """The one row holding the last number given; updating it is the sequencer's lock."""

    __tablename__ = "feed_sequence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class Subscription(Base):
    """Another region's push subscription: changes of ``type_code`` from ``cursor`` on are
    delivered to ``url``, signed by this region; ``purpose`` releases consented data as the
    feed does. ``account`` is the region's account that subscribed (the release's receiver)."""

    __tablename__ = "push_subscription"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[int] = mapped_column(Integer, index=True)
    account: Mapped[str] = mapped_column(String(42))
    url: Mapped[str] = mapped_column(String(300))
    type_code: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(Text, default="")
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
