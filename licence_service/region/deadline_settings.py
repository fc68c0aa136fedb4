"""The deadline cards' settings (``LICLEDGER_DEADLINE_*``): each kind's time limit, how long
a lapsed date stays on the board, who is alerted when a card turns red, the alert round.

Kept apart from ``region.settings`` so the cards' rules read in one place; ``load_settings``
calls :func:`load_deadline_settings` and keeps the result as ``Settings.deadlines``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

from licence_service.domain.deadlines import CardKind
from licence_service.domain.errors import InvalidInputError

DEFAULT_LIMITS: dict[CardKind, timedelta] = {
    CardKind.REVIEW: timedelta(days=5),  # a joint review: five days to gather approvals
    CardKind.CONSENT: timedelta(days=30),  # a consent: on the board 30 days before it ends
    CardKind.EXPIRY: timedelta(days=90),  # a licence: on the board 90 days before it expires
    CardKind.INSPECTION: timedelta(days=90),  # an inspection: 90 days before its due date
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_SPAN = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_ENV = "LICLEDGER_"


class DeadlineConfigError(ValueError):
    """A ``LICLEDGER_DEADLINE_*`` value that cannot work (``load_settings`` makes it a
    ``ConfigError``); the message names the variable."""


@dataclass(frozen=True)
class DeadlineSettings:
    """``limits``: each kind's time limit (for a date — expiry, consent, inspection — the span
    before the date during which the card shows; the date ends the limit). ``keep_days``: a
    lapsed expiry or consent stays red this many days, then leaves the board (an overdue
    inspection or an undecided review stays until it is dealt with). ``contacts``: who is
    alerted of a card turning red, by the responsible agency's code, ``*`` for any other
    (the supervisor): an e-mail address or a phone number. ``interval``: the alert round."""

    limits: dict[CardKind, timedelta] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    keep_days: int = 30
    contacts: dict[str, str] = field(default_factory=dict)
    interval: float = 300.0

    def limit(self, kind: CardKind) -> timedelta:
        return self.limits.get(kind) or DEFAULT_LIMITS[kind]

    def contact_for(self, agency_code: str) -> str | None:
        return self.contacts.get(agency_code) or self.contacts.get("*")


def parse_span(text: str, name: str) -> timedelta:
    """``90d``, ``72h``, ``30m``, ``5s`` to a timedelta, or an error naming ``name``."""
    found = _SPAN.fullmatch(text.strip().lower())
    if not found:
        raise DeadlineConfigError(
            f"{name}: {text!r} is not a time limit: give a whole number and a unit, "
            "s, m, h or d (e.g. 5d, 72h)"
        )
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def _pairs(raw: str, name: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise DeadlineConfigError(f"{name}: {part!r} must be NAME=VALUE (comma-separated)")
        pairs.append((key.strip(), value.strip()))
    return pairs


def load_deadline_settings() -> DeadlineSettings:
    """From the environment, checked: a setting that cannot work is refused at start."""
    # here, not at the top: the notifier's package imports region.settings, which imports us
    from licence_service.notify.outbox import check_recipient

    env = os.environ.get
    limits = dict(DEFAULT_LIMITS)
    name = f"{_ENV}DEADLINE_LIMITS"
    for key, value in _pairs(env(name, ""), name):
        kind = next((k for k in DEFAULT_LIMITS if k.value == key.lower()), None)
        if kind is None:  # a sharing request carries its own limit (federation.requests)
            known = ", ".join(k.value for k in DEFAULT_LIMITS)
            raise DeadlineConfigError(f"{name}: unknown kind {key!r} (one of {known})")
        limits[kind] = parse_span(value, f"{name} ({key})")
    contacts: dict[str, str] = {}
    cname = f"{_ENV}DEADLINE_CONTACTS"
    for key, value in _pairs(env(cname, ""), cname):
        channel = "email" if "@" in value else "sms"
        try:
            contacts[key.upper()] = check_recipient(channel, value, cname)
        except InvalidInputError as exc:
            raise DeadlineConfigError(str(exc)) from None
    raw_keep = env(f"{_ENV}DEADLINE_KEEP_DAYS", "30")
    raw_every = env(f"{_ENV}DEADLINE_INTERVAL", "300")
    try:
        keep, every = int(raw_keep), float(raw_every)
    except ValueError:
        keep, every = -1, -1.0
    if not 0 <= keep <= 3660 or not every > 0:
        raise DeadlineConfigError(
            f"{_ENV}DEADLINE_KEEP_DAYS ({raw_keep!r}) must be 0..3660 days and "
            f"{_ENV}DEADLINE_INTERVAL ({raw_every!r}) a number of seconds > 0"
        )
    return DeadlineSettings(limits, keep, contacts, every)
