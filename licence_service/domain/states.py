"""The recorded states of the service's own work, one enum per table that has a state.

They are ``StrEnum`` so the database keeps plain, readable words and a row read back compares
equal to its member; a misspelt state is then a NameError at import, not a silent mismatch.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxState(StrEnum):
    """A leaf waiting to be anchored: pending → batched (in a prepared batch) → anchored."""

    PENDING = "pending"
    BATCHED = "batched"
    ANCHORED = "anchored"


class BatchState(StrEnum):
    """An anchor transaction: prepared (signed, stored) → sent (broadcast) → confirmed."""

    PREPARED = "prepared"
    SENT = "sent"
    CONFIRMED = "confirmed"


class LinkState(StrEnum):
    """The on-chain link from a version to its successor: none (version 1), pending, linked."""

    NONE = "none"
    PENDING = "pending"
    LINKED = "linked"


class ReviewState(StrEnum):
    """A joint review of a high-risk operation: pending until its last approval executes it."""

    PENDING = "pending"
    EXECUTED = "executed"


UNKNOWN = "unknown"
"""What a view shows for a document whose outbox entry is missing."""
