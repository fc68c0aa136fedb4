"""Where deadline cards come from: one function per kind of item, registered in a list.

A source is ``(session, context) -> Iterable[Card]``: it reads the region's database and
returns a card for every item of its kind that has started (green, yellow or red) at
``context.now``. Add one with :func:`register_source` (e.g. the sharing requests of another
module); ``services.deadlines`` runs them all, then applies the viewer's scope. Sources reuse
the queries that already exist — the reminders' ``due_items`` for expiries and inspections,
the joint review's table, the sharing requests' ``pending_sharing_requests`` — rather than
repeating them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.domain.deadlines import Card, CardKind
from licence_service.domain.states import ReviewState
from licence_service.federation.requests import pending_sharing_requests
from licence_service.notify.reminders import EXPIRY, due_items
from licence_service.people.service import aware
from licence_service.region.deadline_settings import DeadlineSettings
from licence_service.store.models import Agency, Consent, Licence, ReviewRequest
from licence_service.store.sharing_requests import SharingRequest

__all__ = ["SOURCES", "CardSource", "SourceContext", "day_end", "register_source"]


@dataclass(frozen=True)
class SourceContext:
    """What every source gets: the time the cards are for, the limits, and each agency's
    region (``home_region``: this region's own code, for items of no one agency)."""

    now: datetime
    settings: DeadlineSettings
    regions: dict[str, int]
    home_region: int

    def limit(self, kind: CardKind) -> timedelta:
        return self.settings.limit(kind)


CardSource = Callable[[Session, SourceContext], Iterable[Card]]


def day_end(day: date) -> datetime:
    """A date's deadline: the end of that day (UTC), so the day itself is still in time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def dated_card(
    ctx: SourceContext, kind: CardKind, key: str, due: date, **fields: object
) -> Card | None:
    """A card for an item due on ``due``: on the board ``limit`` before the day ends, red
    after it; None before it starts."""
    limit = ctx.limit(kind)
    start = day_end(due) - limit
    if ctx.now < start:
        return None
    return Card(kind=kind, key=key, start=start, limit=limit, **fields)  # type: ignore[arg-type]


def joint_reviews(s: Session, ctx: SourceContext) -> Iterable[Card]:
    """Joint reviews still waiting for approvals (``services.status`` opens them): the
    licence's agency and every agency still to approve are responsible."""
    rows = s.scalars(select(ReviewRequest).where(ReviewRequest.state == ReviewState.PENDING)).all()
    limit = ctx.limit(CardKind.REVIEW)
    for r in rows:
        agency = r.licence.agency
        approved = {a.agency_code for a in r.approvals}
        waiting = tuple(c for c in json.loads(r.approvers_json) if c not in approved)
        yield Card(
            kind=CardKind.REVIEW, key=str(r.id), title=f"joint review #{r.id}: {r.action}",
            agency_code=agency.code, region_code=agency.region_code,
            start=aware(r.created_at), limit=limit, licence=r.licence.base_id,
            detail=f"{len(approved)}/{r.required} approvals; waiting for {', '.join(waiting)}",
            also_agencies=waiting, counterpart=", ".join(waiting),
        )  # fmt: skip


def consents_running_out(s: Session, ctx: SourceContext) -> Iterable[Card]:
    """Holders' consents (not withdrawn) ending within the limit, or ended at most
    ``keep_days`` ago. A consent for a whole licence type names no agency: only the region's
    supervisors see it."""
    today = ctx.now.astimezone(UTC).date()
    horizon = today + timedelta(days=ctx.limit(CardKind.CONSENT).days + 1)
    rows = s.execute(
        select(Consent, Licence.base_id, Agency.code, Agency.region_code)
        .outerjoin(Licence, Licence.id == Consent.licence_id)
        .outerjoin(Agency, Agency.id == Licence.agency_id)
        .where(
            Consent.withdrawn_at.is_(None),
            Consent.valid_until <= horizon,
            Consent.valid_until >= today - timedelta(days=ctx.settings.keep_days),
        )
    ).all()
    for consent, base_id, agency_code, region_code in rows:
        what = base_id or f"type {consent.type_code}"
        card = dated_card(
            ctx, CardKind.CONSENT, str(consent.id), consent.valid_until,
            title=f"consent #{consent.id} to region {consent.grantee_region} ends",
            agency_code=agency_code or "", region_code=region_code or ctx.home_region,
            licence=base_id or "", detail=f"{what}; until {consent.valid_until.isoformat()}",
            counterpart=str(consent.grantee_region),
        )  # fmt: skip
        if card is not None:
            yield card


def expiries_and_inspections(s: Session, ctx: SourceContext) -> Iterable[Card]:
    """Licences expiring (or lapsed at most ``keep_days`` ago) and inspections due or
    overdue: the reminders' own query (``notify.reminders.due_items``)."""
    today = ctx.now.astimezone(UTC).date()
    ahead = max(ctx.limit(CardKind.EXPIRY), ctx.limit(CardKind.INSPECTION)).days + 1
    for item in due_items(s, today, ahead, past_days=ctx.settings.keep_days):
        kind = CardKind.EXPIRY if item.kind == EXPIRY else CardKind.INSPECTION
        verb = "expires" if kind is CardKind.EXPIRY else "inspection due"
        card = dated_card(
            ctx, kind, f"{item.base_id}:{item.due.isoformat()}", item.due,
            title=f"{item.type_name} {item.licence_id} {verb} {item.due.isoformat()}",
            agency_code=item.agency_code,
            region_code=ctx.regions.get(item.agency_code, ctx.home_region),
            licence=item.base_id, detail=item.type_code, counterpart=item.type_code,
        )  # fmt: skip
        if card is not None:
            yield card


def sharing_requests(s: Session, ctx: SourceContext) -> Iterable[Card]:
    """Other regions' sharing requests waiting for review (``federation.requests``'s own
    query of them); each carries its time limit (``due_at``, set when it arrived), which the
    card keeps. The licence's agency is responsible, with the region's sharing reviewers."""
    pending = pending_sharing_requests(s)
    ids = [p.id for p in pending]
    about = {
        rid: (base_id, code, region, asker)
        for rid, base_id, code, region, asker in s.execute(
            select(SharingRequest.id, Licence.base_id, Agency.code, Agency.region_code,
                   SharingRequest.from_region)
            .join(Licence, Licence.id == SharingRequest.licence_id)
            .join(Agency, Agency.id == Licence.agency_id)
            .where(SharingRequest.id.in_(ids))
        )
    } if ids else {}  # fmt: skip
    for p in pending:
        if p.id not in about:
            continue
        base_id, code, region, asker = about[p.id]
        yield Card(
            kind=CardKind.SHARING, key=str(p.id),
            title=f"sharing request #{p.id} from region {asker}", agency_code=code,
            region_code=region, start=p.created_at, limit=p.due_at - p.created_at,
            licence=base_id, detail=f"from region {asker}", counterpart=str(asker),
        )  # fmt: skip


SOURCES: list[CardSource] = [
    joint_reviews, sharing_requests, consents_running_out, expiries_and_inspections,
]  # fmt: skip
"""Every source, run in order; another module adds its own with ``register_source``."""


def register_source(source: CardSource) -> CardSource:
    """Add a source (once; usable as a decorator) and return it."""
    if source not in SOURCES:
        SOURCES.append(source)
    return source
