"""The deadline cards use cases (黄牌/红牌): the board a person may see (``/audit``, the
desk, ``GET /api/v1/deadlines``, ``licledger audit deadlines``) and the alert round that
tells the responsible agency or the supervisor, through the notifier's outbox, once per card
turning red.

**Scope.** An auditor sees every card of their own region, and may narrow it to one agency;
agency staff (window staff, issuers, agency administrators, an agency's sharing reviewers)
see the cards their own agency must act on (a joint review: the licence's agency and the
agencies still to approve), and asking for another agency's is refused; the region
authority's sharing reviewers see the region's sharing requests; no one sees another
region's cards. The CLI on the
server (no person) sees everything.

**Clock.** Every function takes the time as an input (``now``, or a ``clock`` for the job):
the cards' colours are a function of the database and that time, nothing else.

**Exactly once.** A red card's alert is enqueued with the dedupe key
``deadline:<kind>:<key>:<deadline>``; the outbox's unique key keeps it to one message for
good, whichever process runs the round and however often, a crash before the commit leaving
it for the next round. A card whose deadline moves (a renewed licence) is a new card.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from licence_service.domain.deadlines import Card, CardKind, CardState
from licence_service.domain.errors import InvalidInputError
from licence_service.notify.outbox import enqueue
from licence_service.notify.worker import run_periodic
from licence_service.people.identity import (
    PermissionDeniedError,
    PersonInfo,
    PersonRole,
    UnitKind,
)
from licence_service.region.deadline_settings import DeadlineSettings
from licence_service.region.runtime import Runtime
from licence_service.services.deadline_sources import SOURCES, SourceContext
from licence_service.store.lease import Lease, holder_name
from licence_service.store.models import Agency

__all__ = [
    "AGENCY_VIEWERS",
    "CARD_VIEWERS",
    "REGION_VIEWERS",
    "AlertRound",
    "DeadlineAlertJob",
    "alert_key",
    "all_cards",
    "deadline_cards",
    "send_deadline_alerts",
]

REGION_VIEWERS = frozenset({PersonRole.AUDITOR})
"""Who sees the whole region's cards (the supervisors)."""
AGENCY_VIEWERS = frozenset(
    {PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AGENCY_ADMIN,
     PersonRole.SHARING_REVIEWER}
)  # fmt: skip
"""Who sees their own agency's cards (a sharing reviewer of an agency: that agency's)."""
CARD_VIEWERS = REGION_VIEWERS | AGENCY_VIEWERS
"""Everyone who sees some cards; a sharing reviewer of the region authority sees the
region's sharing requests only."""
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def all_cards(s: Session, settings: DeadlineSettings, now: datetime) -> list[Card]:
    """Every source's cards at ``now``, red first, then by deadline."""
    agencies = s.execute(select(Agency.code, Agency.region_code).order_by(Agency.id)).all()
    regions = {code: region for code, region in agencies}
    home = agencies[0][1] if agencies else 0
    ctx = SourceContext(now, settings, regions, home)
    cards = [card for source in SOURCES for card in source(s, ctx)]
    order = {CardState.RED: 0, CardState.YELLOW: 1, CardState.GREEN: 2}
    return sorted(cards, key=lambda c: (order[c.state(now)], c.deadline, c.kind, c.key))


def _scope(person: PersonInfo | None, agency: str | None) -> Callable[[Card], bool]:
    """Which cards the viewer may see (and asked for)."""
    code = (agency or "").strip().upper() or None
    if person is None:
        return lambda c: code is None or code in c.agencies()
    if person.roles & REGION_VIEWERS:
        region = person.region_code
        return lambda c: c.region_code == region and (code is None or code in c.agencies())
    if PersonRole.SHARING_REVIEWER in person.roles and person.unit_kind is UnitKind.REGION:
        region = person.region_code
        return lambda c: (c.kind is CardKind.SHARING and c.region_code == region
                          and (code is None or code in c.agencies()))  # fmt: skip
    if person.roles & AGENCY_VIEWERS and person.agency_code:
        own, region = person.agency_code, person.region_code
        if code is not None and code != own:
            raise PermissionDeniedError(
                f"{person.label} sees the deadline cards of agency {own} only, not {code}",
                field="agency",
            )
        return lambda c: c.region_code == region and own in c.agencies()
    raise PermissionDeniedError(
        f"{person.label} may not see deadline cards (auditors and agency staff may)",
        field="person",
    )


def deadline_cards(
    rt: Runtime,
    person: PersonInfo | None = None,
    agency: str | None = None,
    state: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The cards ``person`` may see at ``now`` (default: the present), of one agency when
    ``agency`` is given, of one colour when ``state`` is (green, yellow or red)."""
    if state and state not in {s.value for s in CardState}:
        raise InvalidInputError(f"state must be green, yellow or red, got {state!r}", field="state")
    visible = _scope(person, agency)
    when = now or _utcnow()
    with rt.sessions() as s:
        cards = [c for c in all_cards(s, rt.settings.deadlines, when) if visible(c)]
    shown = [c.to_json(when) for c in cards]
    if state:
        shown = [c for c in shown if c["state"] == state]
    counts = {s.value: sum(1 for c in cards if c.state(when) is s) for s in CardState}
    return {"as_of": when.isoformat(), "counts": counts, "cards": shown}


def alert_key(card: Card) -> str:
    """The red alert's dedupe key (hashed when the item's key is long)."""
    key = f"deadline:{card.kind.value}:{card.key}:{card.deadline.isoformat()}"
    if len(key) <= 200:
        return key
    return f"deadline:{card.kind.value}:{hashlib.sha256(key.encode()).hexdigest()}"


def alert_text(card: Card) -> tuple[str, str]:
    """(subject, body) of a red card's alert, in Chinese then English."""
    subject = f"红牌 / red card: {card.title}"
    body = (
        f"已超过办理时限 / past its time limit: {card.title}\n"
        f"事项 / kind: {card.kind.value}\n机构 / agency: {card.agency_code or '-'}\n"
        f"证照 / licence: {card.licence or '-'}\n{card.detail}\n"
        f"开始 / start: {card.start.isoformat()}\n时限 / deadline: {card.deadline.isoformat()}"
    )
    return subject, body


@dataclass(frozen=True)
class AlertRound:
    enqueued: int = 0  # new alerts in the outbox
    already: int = 0  # red cards alerted by an earlier round
    unaddressed: int = 0  # red cards whose agency has no contact and no supervisor is set


class DeadlineAlertJob:
    """Enqueues an alert per card that is red at the clock's time; ``run`` repeats it under
    the ``deadlines`` lease (one process per region)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: DeadlineSettings,
        clock: Clock = _utcnow,
        name: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.name = name or holder_name()

    def run_once(self) -> AlertRound:
        now = self.clock()
        counts = {"enqueued": 0, "already": 0, "unaddressed": 0}
        with self.sessions.begin() as s:  # the alerts of a round commit together
            for card in all_cards(s, self.settings, now):
                if card.state(now) is not CardState.RED:
                    continue
                to = self.settings.contact_for(card.agency_code)
                if to is None:
                    counts["unaddressed"] += 1
                    continue
                subject, body = alert_text(card)
                done = enqueue(s, dedupe_key=alert_key(card), recipient=to,
                               channel="email" if "@" in to else "sms",
                               subject=subject, body=body)  # fmt: skip
                counts["enqueued" if done.created else "already"] += 1
        return AlertRound(**counts)

    def run(self, stop: threading.Event, lease: Lease | None = None) -> None:
        lease = lease or Lease(self.sessions, "deadlines", self.name)
        run_periodic(stop, lease, self.settings.interval, self.run_once, "deadline alerts")


def send_deadline_alerts(rt: Runtime, now: datetime | None = None) -> AlertRound:
    """One alert round now (``licledger audit deadlines --alert``; ``serve`` runs it on a
    schedule); ``now`` replaces the clock."""
    clock: Clock = (lambda: now) if now is not None else _utcnow
    return DeadlineAlertJob(rt.sessions, rt.settings.deadlines, clock).run_once()
