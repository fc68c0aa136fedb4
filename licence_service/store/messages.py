"""The notification outbox's table (``licence_service.notify``): one row per message, written in
the business change's transaction and delivered afterwards by the notifier's worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from licence_service.store.models import Base, utcnow


class Channel(StrEnum):
    """How a message travels: e-mail (SMTP), text message (the SMS gateway's webhook), or a
    signed push of changes to another region's webhook (``federation.push``)."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class MessageState(StrEnum):
    """pending → sending (claimed by one worker until its lease ends) → sent; a failure goes
    back to pending with a later ``next_attempt_at``, and past the attempt cap to failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Message(Base):
    """A message to one recipient. ``dedupe_key`` is unique: enqueueing the same message
    twice (a reminder job run again, a retried request) stores it once."""

    __tablename__ = "notify_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(Text)  # sealed: see store.sealing
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=MessageState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # The worker that claimed it and until when (a lease: past it, the claim is void).
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
