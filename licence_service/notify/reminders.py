"""Reminders: which licences expire or are due an inspection soon, and the job that tells
their holders once per licence and threshold, through the outbox.

- **Expiry**: an ACTIVE licence whose current version's ``valid_until`` is within N days.
- **Inspection**: a licence type with ``inspection_interval_years`` (``data/licence_types.json``)
  is due an inspection on the anniversary of its validity start, ``interval`` years after the
  latest inspection recorded for the licence (any version; its ``year``), or after the
  validity start's year when none is recorded. Already past: overdue (negative days).

The job (``ReminderJob``, started by ``licledger serve``, one process per region by the
``reminders`` lease) enqueues, for each item at most ``max(thresholds)`` days away, one
message for the smallest threshold the item has crossed: with 90/30/7, a licence first seen
20 days before its expiry gets the 30-day reminder, then the 7-day one. The dedupe key
``reminder:<licence>:<kind>:<due date>:<threshold>`` makes each one once for good (a renewed
licence has a new date and is reminded again); an item already past its date is not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from licence_service.domain.licence_types import LicenceType, load_licence_types
from licence_service.notify.outbox import enqueue
from licence_service.notify.setup import holder_channels
from licence_service.notify.worker import run_periodic
from licence_service.region.settings import NotifySettings
from licence_service.store.lease import Lease, holder_name
from licence_service.store.models import Agency, Attachment, Licence, LicenceVersion
from verifier.leaves import LeafKind

EXPIRY = "expiry"
INSPECTION = "inspection"
MAX_WITHIN_DAYS = 3660


@dataclass(frozen=True)
class DueItem:
    """One licence with a date coming (or past, for an inspection)."""

    kind: str  # EXPIRY or INSPECTION
    due: date
    days_left: int
    base_id: str
    licence_id: str  # the current version's identifier
    type_code: str
    type_name: str
    agency_code: str
    agency_name: str
    holder_name: str
    holder_id: str
    holder_email: str | None
    holder_phone: str | None


def _anniversary(start: date, year: int) -> date:
    try:
        return start.replace(year=year)
    except ValueError:  # 29 February
        return start.replace(year=year, day=28)


def _last_inspections(s: Session, licence_ids: Sequence[int]) -> dict[int, int]:
    """The latest inspection year recorded per licence (any of its versions)."""
    found: dict[int, int] = {}
    for chunk in range(0, len(licence_ids), 500):
        rows = s.execute(
            select(LicenceVersion.licence_id, Attachment.data_json)
            .join(Attachment, Attachment.version_id == LicenceVersion.id)
            .where(
                Attachment.kind == int(LeafKind.INSPECTION),
                LicenceVersion.licence_id.in_(licence_ids[chunk : chunk + 500]),
            )
        )
        for licence_id, data in rows:
            year = int(json.loads(data).get("year", 0) or 0)
            found[licence_id] = max(found.get(licence_id, 0), year)
    return found


def due_items(
    s: Session, today: date, within_days: int, agency_code: str | None = None, past_days: int = 0
) -> list[DueItem]:
    """Every ACTIVE licence (of ``agency_code``, or all) expiring within ``within_days`` of
    ``today`` (or expired at most ``past_days`` ago: the deadline cards keep a lapsed licence
    red a while), and every inspection due by then (overdue ones included); soonest first."""
    types = load_licence_types()
    query = (
        select(Licence, LicenceVersion, Agency)
        .join(
            LicenceVersion,
            and_(
                LicenceVersion.licence_id == Licence.id,
                LicenceVersion.version == Licence.current_version,
            ),
        )
        .join(Agency, Agency.id == Licence.agency_id)
        .where(Licence.status == "ACTIVE")
    )
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    inspected = [c for c, t in types.items() if t.inspection_interval_years]
    horizon = today + timedelta(days=within_days)
    expiring = list(s.execute(query.where(LicenceVersion.valid_until <= horizon)))
    to_inspect = list(s.execute(query.where(Licence.type_code.in_(inspected)))) if inspected else []
    last = _last_inspections(s, [lic.id for lic, _, _ in to_inspect])
    items: list[DueItem] = []
    for lic, version, agency in expiring:
        if version.valid_until >= today - timedelta(days=past_days):
            items.append(_item(EXPIRY, version.valid_until, today, lic, version, agency, types))
    for lic, version, agency in to_inspect:
        every = types[lic.type_code].inspection_interval_years or 1
        start = version.valid_from
        due = _anniversary(start, last.get(lic.id, start.year) + every)
        if (due - today).days <= within_days and due <= version.valid_until:
            items.append(_item(INSPECTION, due, today, lic, version, agency, types))
    return sorted(items, key=lambda i: (i.due, i.base_id, i.kind))


def _item(
    kind: str, due: date, today: date, lic: Licence, version: LicenceVersion, agency: Agency,
    types: dict[str, LicenceType],
) -> DueItem:  # fmt: skip
    ltype = types.get(lic.type_code)
    return DueItem(
        kind=kind, due=due, days_left=(due - today).days, base_id=lic.base_id,
        licence_id=version.identifier, type_code=lic.type_code,
        type_name=ltype.name if ltype else lic.type_code, agency_code=agency.code,
        agency_name=agency.name, holder_name=lic.holder_name, holder_id=lic.holder_id,
        holder_email=lic.holder_email, holder_phone=lic.holder_phone,
    )  # fmt: skip


def threshold_of(days_left: int, thresholds: Sequence[int]) -> int | None:
    """The smallest threshold ``days_left`` has reached, or None (too early, or past)."""
    reached = [t for t in thresholds if 0 <= days_left <= t]
    return min(reached) if reached else None


def reminder_text(item: DueItem) -> tuple[str, str]:
    """(subject, body) of the reminder to the holder, in Chinese (the holder's language)."""
    what = f"{item.type_name}（{item.licence_id}）"
    if item.kind == EXPIRY:
        subject = f"{item.type_name}将于{item.days_left}天后到期"
        body = (f"{item.holder_name}：您的{what}将于{item.due.isoformat()}到期（还有"
                f"{item.days_left}天），请及时向{item.agency_name}申请延续。")  # fmt: skip
    else:
        subject = f"{item.type_name}年检将于{item.days_left}天后到期"
        body = (f"{item.holder_name}：您的{what}应于{item.due.isoformat()}前完成年检（还有"
                f"{item.days_left}天），请及时到{item.agency_name}办理。")  # fmt: skip
    return subject, body


@dataclass(frozen=True)
class ReminderRound:
    enqueued: int = 0  # new messages in the outbox
    already: int = 0  # reminders enqueued by an earlier round
    unreachable: int = 0  # holders who gave no contact for any channel


class ReminderJob:
    """Enqueues the reminders due today; ``run`` repeats it under the ``reminders`` lease."""

    def __init__(
        self, sessions: sessionmaker[Session], settings: NotifySettings, name: str | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.name = name or holder_name()
        self.rounds = 0  # rounds this job ran (a test tells the lease holder by it)

    def run_once(self, today: date | None = None) -> ReminderRound:
        day = today or datetime.now(UTC).date()
        thresholds = self.settings.reminder_days
        counts = {"enqueued": 0, "already": 0, "unreachable": 0}
        with self.sessions.begin() as s:  # the messages of a round commit together
            for item in due_items(s, day, max(thresholds)):
                threshold = threshold_of(item.days_left, thresholds)
                if threshold is None:
                    continue
                ways = holder_channels(self.settings, item.holder_email, item.holder_phone)
                if not ways:
                    counts["unreachable"] += 1
                    continue
                channel, to = ways[0]
                subject, body = reminder_text(item)
                key = f"reminder:{item.base_id}:{item.kind}:{item.due.isoformat()}:{threshold}"
                done = enqueue(s, dedupe_key=key, channel=channel, recipient=to,
                               subject=subject, body=body)  # fmt: skip
                counts["enqueued" if done.created else "already"] += 1
        self.rounds += 1
        return ReminderRound(**counts)

    def run(self, stop: threading.Event, lease: Lease | None = None) -> None:
        """A round every ``reminder_interval`` seconds while this process holds the lease,
        renewed meanwhile so that no other process takes it between two rounds."""
        lease = lease or Lease(self.sessions, "reminders", self.name)
        run_periodic(stop, lease, self.settings.reminder_interval, self.run_once, "reminders")
