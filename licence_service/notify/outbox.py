"""Enqueueing a message: a row written in the caller's own transaction, nothing sent.

A message exists if and only if the business change that asked for it committed: the caller
passes its session, the row joins that transaction, and the delivery worker sends it later.
A rollback takes the message with it; a crash after the commit leaves it to be delivered.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from licence_service.domain.errors import InvalidInputError
from licence_service.store.messages import Channel, Message, MessageState
from licence_service.store.models import utcnow
from licence_service.store.sealing import seal_value

_EMAIL_RE = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")
_PHONE_RE = re.compile(r"\+?[0-9]{6,15}")
MAX_BODY = 10_000
MAX_PUSH_BODY = 2_000_000  # a page of changes pushed to another region (JSON)


@dataclass(frozen=True)
class Enqueued:
    """What ``enqueue`` did: the message's row id and whether this call created it (False:
    a message with this dedupe key existed already, and it was left as it was)."""

    id: int
    created: bool


def check_recipient(channel: Channel | str, recipient: str, field: str = "recipient") -> str:
    """``recipient`` cleaned for ``channel`` (an e-mail address, or a phone number of 6–15
    digits with an optional +), or ``InvalidInputError`` naming ``field`` and the form."""
    kind = parse_channel(channel)
    text = recipient.strip() if isinstance(recipient, str) else ""
    if kind is Channel.EMAIL:
        if len(text) > 254 or not _EMAIL_RE.fullmatch(text):
            raise InvalidInputError(
                f"{field} {recipient!r} is not an e-mail address: give it as name@example.cn",
                field=field,
            )
        return text
    if kind is Channel.PUSH:
        if len(text) > 300 or not text.startswith(("http://", "https://")) or " " in text:
            raise InvalidInputError(
                f"{field} {recipient!r} is not a webhook URL: give it as https://host/path",
                field=field,
            )
        return text
    digits = re.sub(r"[\s-]", "", text)
    if not _PHONE_RE.fullmatch(digits):
        raise InvalidInputError(
            f"{field} {recipient!r} is not a phone number: give 6 to 15 digits, e.g. "
            "13800138000 or +8613800138000",
            field=field,
        )
    return digits


def parse_channel(channel: Channel | str) -> Channel:
    try:
        return Channel(channel)
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise InvalidInputError(
            f"channel {channel!r} is not known; use one of: {known}", field="channel"
        ) from None


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    channel: Channel | str,
    recipient: str,
    body: str,
    subject: str = "",
    not_before: datetime | None = None,
) -> Enqueued:
    """Add a message to ``session``'s transaction (flushed, not committed) and return.

    ``dedupe_key`` names the message for good (e.g. ``reminder:<licence>:expiry:30``): a
    second enqueue with the same key, in this or any later transaction, stores nothing, so
    a job run twice or a retried request never sends twice. Concurrent enqueuers of one key
    do not fail either (``INSERT … ON CONFLICT DO NOTHING``), and the caller's transaction
    is never aborted by a duplicate."""
    kind = parse_channel(channel)
    to = check_recipient(kind, recipient)
    if not dedupe_key or len(dedupe_key) > 200:
        raise InvalidInputError("dedupe_key must have 1 to 200 characters", field="dedupe_key")
    most = MAX_PUSH_BODY if kind is Channel.PUSH else MAX_BODY
    if len(body) > most or len(subject) > 300:
        raise InvalidInputError(
            f"a message body has at most {most} characters, a subject 300", field="body"
        )
    values = {
        "dedupe_key": dedupe_key, "channel": kind.value, "subject": subject,
        "recipient": seal_value(session, Message, "recipient", to),  # personal data: sealed
        "body": body, "state": MessageState.PENDING.value, "attempts": 0,
        "next_attempt_at": not_before or utcnow(), "created_at": utcnow(),
    }  # fmt: skip
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Message).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    new = session.scalar(stmt.returning(Message.id))  # None: the key was there already
    found = new or session.scalar(select(Message.id).where(Message.dedupe_key == dedupe_key))
    assert found is not None
    return Enqueued(found, new is not None)


def idempotency_key(dedupe_key: str) -> str:
    """The key a message carries to its receiver, the same on every attempt: the SMTP
    ``Message-ID``'s local part and the webhook's ``Idempotency-Key`` header. A hash, so the
    dedupe key (which may name a licence) is not shown to the gateway."""
    return hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
