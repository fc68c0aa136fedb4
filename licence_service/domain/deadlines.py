"""Deadline cards (黄牌/红牌): one item that must be dealt with by a time, and its colour now.

A card has a **start** (when the clock began: a review opened, a request received, or a fixed
span before a date such as an expiry) and a **time limit** (how long from the start it may
take); its deadline is start + limit. Its state at ``now``:

- ``green`` before two thirds of the limit have passed,
- ``yellow`` from exactly two thirds (inclusive) up to the deadline,
- ``red`` once the deadline is passed (strictly after it: at the deadline itself, yellow).

Pure values and arithmetic only; the sources that find the items are in
``services.deadline_sources``, the settings (the limits per kind) in
``region.deadline_settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CardState(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class CardKind(StrEnum):
    REVIEW = "review"  # a joint review waiting for approvals
    SHARING = "sharing"  # another region's sharing request waiting for a decision
    CONSENT = "consent"  # a holder's consent running out
    EXPIRY = "expiry"  # a licence expiring
    INSPECTION = "inspection"  # an annual inspection due or overdue


YELLOW_FRACTION = (2, 3)
"""Past this fraction of the limit a card is yellow (as a ratio, so no float rounding)."""


def state_at(start: datetime, limit: timedelta, now: datetime) -> CardState:
    """The colour of a card begun at ``start`` with ``limit`` at ``now``. Exact at the
    boundaries: ``now - start`` is compared with ``limit * 2/3`` in integer microseconds."""
    elapsed = _micros(now - start)
    total = _micros(limit)
    if elapsed > total:
        return CardState.RED
    num, den = YELLOW_FRACTION
    if elapsed * den >= total * num:
        return CardState.YELLOW
    return CardState.GREEN


def _micros(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


@dataclass(frozen=True)
class Card:
    """One item with a deadline, as a source found it. ``key`` names the item for good
    within its kind (a review's id, a licence with its date…): with the deadline it makes
    the red alert's dedupe key. ``agency_code`` is the agency responsible for acting (its
    staff see the card); ``also_agencies`` others that must act too (a joint review's
    approvers). No holder names or IDs: a card says what is waiting, not whose it is."""

    kind: CardKind
    key: str
    title: str
    agency_code: str
    region_code: int
    start: datetime
    limit: timedelta
    licence: str = ""  # the licence's base identifier, when the item is about one
    detail: str = ""  # a line for the CLI and the API (English)
    also_agencies: tuple[str, ...] = ()
    counterpart: str = ""  # the other party: a region, the agencies awaited, a licence type

    @property
    def deadline(self) -> datetime:
        return self.start + self.limit

    @property
    def yellow_from(self) -> datetime:
        num, den = YELLOW_FRACTION
        return self.start + timedelta(microseconds=-(-_micros(self.limit) * num // den))  # ceil

    def state(self, now: datetime) -> CardState:
        return state_at(self.start, self.limit, now)

    def agencies(self) -> frozenset[str]:
        return frozenset((self.agency_code, *self.also_agencies))

    def to_json(self, now: datetime) -> dict[str, object]:
        return {
            "kind": self.kind.value, "key": self.key, "title": self.title,
            "state": self.state(now).value, "agency": self.agency_code,
            "also_agencies": list(self.also_agencies), "licence": self.licence,
            "detail": self.detail, "counterpart": self.counterpart,
            "start": self.start.isoformat(),
            "limit_seconds": int(self.limit.total_seconds()),
            "yellow_from": self.yellow_from.isoformat(), "deadline": self.deadline.isoformat(),
            "seconds_left": int((self.deadline - now).total_seconds()),
        }  # fmt: skip
