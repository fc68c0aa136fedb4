"""The reminders use cases: an agency's licences expiring within N days and inspections due
(the desk's section, ``GET /api/v1/reminders``, ``licledger reminders list``), and one
reminder round now (``licledger reminders send``; ``serve`` runs it on a schedule)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from licence_service.domain.errors import InvalidInputError, NotFoundError
from licence_service.federation.masking import mask_value
from licence_service.notify.reminders import (
    EXPIRY,
    MAX_WITHIN_DAYS,
    DueItem,
    ReminderJob,
    ReminderRound,
    due_items,
)
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole
from licence_service.region.runtime import Runtime
from licence_service.services.disclosure import sees_in_full
from licence_service.store.models import Agency
from verifier.references import mask_name

REGION_READERS = frozenset({PersonRole.WINDOW_STAFF, PersonRole.AUDITOR})
"""Who may list another agency's reminders (they read the whole region's licences)."""


def _agency_for(person: PersonInfo | None, agency_code: str | None) -> str | None:
    """The agency whose list is asked: the named one, else the person's own. Issuers and
    agency administrators list their own agency only."""
    code = (agency_code or "").strip().upper() or (person.agency_code if person else None)
    if person is None:
        return code
    if code is None:
        raise InvalidInputError("name the agency: give agency=<agency code>", field="agency")
    if code != person.agency_code and not person.roles & REGION_READERS:
        raise PermissionDeniedError(
            f"{person.label} lists reminders of agency {person.agency_code} only, not {code}",
            field="agency",
        )
    return code


def _shown(item: DueItem, full: bool) -> dict[str, Any]:
    """An item as the viewer may see it: the holder masked unless ``full``; the contact
    itself never, only whether the holder can be reached."""
    row = asdict(item)
    row["due"] = item.due.isoformat()
    row["reachable"] = bool(item.holder_email or item.holder_phone)
    del row["holder_email"], row["holder_phone"]
    if not full:
        row["holder_name"] = mask_name(item.holder_name)
        row["holder_id"] = mask_value("holder_id", item.holder_id)
    return row


def reminders_list(
    rt: Runtime,
    within_days: int,
    agency_code: str | None = None,
    person: PersonInfo | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Licences of one agency (or, from the CLI without ``agency_code``, of every agency)
    expiring within ``within_days``, and inspections due by then, overdue ones first.
    ``person``: the viewer (None: the CLI on the server), whose scope and disclosure apply."""
    if not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise InvalidInputError(
            f"within must be a number of days from 0 to {MAX_WITHIN_DAYS}, got {within_days}",
            field="within",
        )
    code = _agency_for(person, agency_code)
    day = today or datetime.now(UTC).date()
    with rt.sessions() as s:
        agency = s.scalar(select(Agency).where(Agency.code == code)) if code else None
        if code and agency is None:
            raise NotFoundError(f"no agency {code} in this region", field="agency")
        items = due_items(s, day, within_days, code)
    full = person is None or (code is not None and sees_in_full(person, code))
    shown = [_shown(i, full) for i in items]
    return {
        "agency": code,
        "agency_name": agency.name if agency else None,
        "within_days": within_days,
        "as_of": day.isoformat(),
        "expiring": [r for r in shown if r["kind"] == EXPIRY],
        "inspections": [r for r in shown if r["kind"] != EXPIRY],
    }


def send_reminders(rt: Runtime, today: date | None = None) -> ReminderRound:
    """One reminder round now: what is due today goes into the outbox (once per licence and
    threshold, whoever runs it and however often); the delivery worker sends it."""
    return ReminderJob(rt.sessions, rt.settings.notify).run_once(today)
