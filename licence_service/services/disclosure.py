"""The one disclosure rule: which of a licence's fields a person sees, and the read log.

Every way a licence leaves the service to a signed-in person — the JSON view and history, the
desk's licence page and list, PDF and copy downloads — asks this module, never decides itself:

- **By data class** (``domain.data_classes``): ``public`` values to everyone who may read the
  licence; ``internal`` ones (the holder's name, addresses of a business…) in full to the
  issuers and administrators of the issuing agency (not to the counter's window staff);
  ``sensitive`` ones (the holder ID, the type's ``masked_fields``) and the signed PDF, which
  carries everything, only to issuers of the issuing agency. Everything a viewer does not see
  in full is masked (``federation.masking``, the same rendering as data released to another
  region): window staff of any agency,
  auditors, issuers of an agency a joint review waits for get no full PDF either (403).
- Data leaving the region follows the holder's consent (``federation.masking.release_fields``).
- A holder presenting a licence (its signed QR code or PDF, at the counter) shows agency staff
  of the region its holder's name, never the ID or the masked fields (``sees_presented_name``,
  used by ``api.pages.holder``); such a read is logged but not throttled, as a signed token
  cannot be guessed.

Every read is written to the read log (``store.reads``; ``unmasked`` marks the reads that saw
personal fields), and the same rows throttle enumeration: a person reading more than
``read_limit_per_minute`` distinct licences in a minute gets 429 and an alert is recorded for
auditors (``GET /api/v1/audit/reads``, ``/api/v1/audit/read-alerts``). The rows are in the
region's database, so the count holds across every server process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from licence_service.audit import oplog
from licence_service.domain.data_classes import DataClass, class_of
from licence_service.domain.errors import ServiceError
from licence_service.domain.licence_types import LicenceType
from licence_service.federation.masking import mask_value
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole
from licence_service.people.service import aware
from licence_service.region.runtime import Runtime
from licence_service.store.queries import find_licence
from licence_service.store.reads import LicenceRead, ReadAlert, add_read, licence_subject
from verifier.references import mask_name

__all__ = [
    "PRESENTED_NAME_ROLES",
    "READ_WINDOW",
    "Disclosure",
    "TooManyReadsError",
    "admit_read",
    "disclose",
    "disclosure_for",
    "ensure_full_pdf",
    "mask_contact",
    "mask_values",
    "purpose_of",
    "read_alerts",
    "record_presentation",
    "sees_in_full",
    "sees_presented_name",
]

READ_WINDOW = timedelta(minutes=1)


class TooManyReadsError(ServiceError):
    """A person read more distinct licences in a minute than the region allows."""

    status_code = 429

    def __init__(self, message: str, retry_after: int, field: str = "licence_id") -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


def sees_in_full(person: PersonInfo, agency_code: str) -> bool:
    """An issuer of the issuing agency: the only viewer of the unmasked face and full PDF."""
    return PersonRole.ISSUER in person.roles and person.agency_code == agency_code


@dataclass(frozen=True)
class Disclosure:
    """The highest data class a viewer sees in full; true only when that is everything
    (``sensitive``: the unmasked face and the PDF)."""

    level: DataClass

    def __bool__(self) -> bool:
        return self.level is DataClass.SENSITIVE


def disclosure_for(person: PersonInfo | None, agency_code: str) -> Disclosure:
    """The one rule of who sees which class of a licence of ``agency_code``."""
    if person is not None and sees_in_full(person, agency_code):
        return Disclosure(DataClass.SENSITIVE)
    if (
        person is not None
        and person.agency_code == agency_code
        and PersonRole.AGENCY_ADMIN in person.roles
    ):
        return Disclosure(DataClass.INTERNAL)  # the issuing agency's back office
    return Disclosure(DataClass.PUBLIC)


def _level(full: bool | Disclosure) -> DataClass:
    if isinstance(full, Disclosure):
        return full.level
    return DataClass.SENSITIVE if full else DataClass.PUBLIC


PRESENTED_NAME_ROLES = frozenset(
    {PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AGENCY_ADMIN}
)


def sees_presented_name(person: PersonInfo | None) -> bool:
    """Agency staff comparing a presented licence with its holder's papers see the name;
    auditors and administrators audit records, not people, and see it masked."""
    return person is not None and bool(person.roles & PRESENTED_NAME_ROLES)


def record_presentation(rt: Runtime, person: PersonInfo, base_id: str, route: str) -> None:
    """Log that ``person`` saw the holder's name of a licence presented to them."""
    with rt.sessions.begin() as s:
        add_read(s, person.label, licence_subject(base_id), "licence presented at the counter",
                 licence=base_id, route=route)  # fmt: skip


def mask_values(
    values: Mapping[str, str], ltype: LicenceType, full: bool | Disclosure
) -> dict[str, str]:
    """``values`` (face fields, ``holder_name`` and ``holder_id`` included) as a viewer may see
    them: each value in full up to the viewer's class (``full``: a :class:`Disclosure`, or
    True for everything, False for public values only), masked above it."""
    level = _level(full)
    out = {}
    for key, value in values.items():
        if class_of(ltype, key) <= level:
            out[key] = value
        elif key == "holder_name":
            out[key] = mask_name(value)
        else:
            out[key] = mask_value(key, value)
    return out


def mask_contact(
    email: str | None, phone: str | None, full: bool | Disclosure
) -> dict[str, str | None]:
    """The holder's contact (kept for reminders, never on the PDF or the chain) as the viewer
    may see it: in full for whoever sees the name in full, else masked like it."""
    if full:
        return {"email": email, "phone": phone}
    masked_email = None
    if email:
        local, _, domain = email.partition("@")
        masked_email = f"{local[:1]}***@{domain}"
    masked_phone = None
    if phone:
        masked_phone = phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"
    return {"email": masked_email, "phone": masked_phone}


def _retry_after(s: Any, reader: str, now: datetime) -> int:
    oldest = s.scalar(
        select(func.min(LicenceRead.at)).where(
            LicenceRead.reader == reader, LicenceRead.at > now - READ_WINDOW
        )
    )
    frees_at = (aware(oldest) if oldest else now) + READ_WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))


def purpose_of(route: str) -> str:
    """The purpose a read through ``route`` is logged with when the caller names none."""
    for word, purpose in (("pdf", "PDF download by staff"), ("history", "licence history"),
                          ("check", "field check"), ("sharing", "sharing record"),
                          ("holders", "holder lookup at the window")):  # fmt: skip
        if word in route.lower():
            return purpose
    return "licence page" if route.startswith("GET /desk") else "licence record"


def _count_read(
    s: Any, person: PersonInfo, item: str, subject: str, purpose: str, route: str,
    unmasked: bool, limit: int,
) -> tuple[int, int] | None:  # fmt: skip
    """Record one read of ``item`` by ``person`` in ``s``'s transaction (subject and purpose
    in the chained read log), or (beyond ``limit`` distinct items this minute) record an alert
    instead and return (seen, seconds to wait)."""
    now = datetime.now(UTC)
    recent = LicenceRead.reader == person.label, LicenceRead.at > now - READ_WINDOW
    seen = set(s.scalars(select(LicenceRead.licence).where(*recent).distinct()))
    if item in seen or len(seen) < limit:
        add_read(s, person.label, subject, purpose, licence=item, route=route,
                 unmasked=unmasked, at=now)  # fmt: skip
        return None
    alerted = s.scalar(
        select(ReadAlert.id).where(
            ReadAlert.reader == person.label, ReadAlert.at > now - READ_WINDOW
        )
    )
    if alerted is None:  # one alert per person and minute, however often refused
        s.add(ReadAlert(reader=person.label, distinct_licences=len(seen) + 1,
                        limit=limit, route=route[:200], at=now))  # fmt: skip
        oplog.record(s, "licence:read-throttled", item, distinct=len(seen) + 1, limit=limit)
    return len(seen), _retry_after(s, person.label, now)


def _refuse(person: PersonInfo, refused: tuple[int, int], limit: int, field: str) -> None:
    seen, wait = refused
    raise TooManyReadsError(
        f"{person.label} read {seen} distinct licences or holders in the last minute (limit "
        f"{limit}); try again in {wait} s. The region's auditors have been alerted.",
        retry_after=wait,
        field=field,
    )


def admit_read(
    rt: Runtime, person: PersonInfo, item: str, route: str, unmasked: bool, field: str,
    subject: str = "", purpose: str = "",
) -> None:  # fmt: skip
    """Count one read of ``item`` (anything a person looks up that is not one licence, e.g. a
    holder at the window) in the read log and against the same per-minute limit as licence
    reads; ``TooManyReadsError`` naming ``field`` beyond it."""
    limit = rt.settings.read_limit_per_minute
    with rt.sessions.begin() as s:
        refused = _count_read(s, person, item, subject or item, purpose or purpose_of(route),
                              route, unmasked, limit)  # fmt: skip
    if refused is not None:
        _refuse(person, refused, limit, field)


def disclose(
    rt: Runtime, person: PersonInfo, licence_id: str, route: str, purpose: str = ""
) -> Disclosure:
    """What ``person`` sees of ``licence_id`` (true: everything); records the read with its
    subject and purpose, or refuses it with ``TooManyReadsError`` (and an alert) beyond the
    distinct-licence limit of the minute."""
    limit = rt.settings.read_limit_per_minute
    with rt.sessions.begin() as s:
        licence = find_licence(s, licence_id.split("/")[0])
        base, full = licence.base_id, disclosure_for(person, licence.agency.code)
        refused = _count_read(s, person, base, licence_subject(base),
                              purpose or purpose_of(route), route, bool(full), limit)  # fmt: skip
    if refused is not None:
        _refuse(person, refused, limit, "licence_id")
    return full


def ensure_full_pdf(rt: Runtime, person: PersonInfo, licence_id: str, route: str) -> None:
    """The signed PDF carries every personal field: only for those who see it in full (403)."""
    if not disclose(rt, person, licence_id, route):
        raise PermissionDeniedError(
            f"{person.label} may not download the PDF of {licence_id}: it carries the holder's "
            "personal data in full, which only issuers of the issuing agency may see; the "
            "masked record is at /desk/licences/ or GET /api/v1/licences/{id}",
            field="licence_id",
        )


def _rows(rt: Runtime, model: Any, limit: int, *where: Any) -> list[Any]:
    with rt.sessions() as s:
        return list(s.scalars(select(model).where(*where).order_by(model.id.desc()).limit(limit)))


def read_alerts(rt: Runtime, limit: int = 200) -> list[dict[str, Any]]:
    """Throttled readers (newest first): who, when, how many distinct licences, on what."""
    return [
        {"reader": a.reader, "at": aware(a.at).isoformat(timespec="seconds"),
         "distinct_licences": a.distinct_licences, "limit": a.limit, "route": a.route}
        for a in _rows(rt, ReadAlert, limit)
    ]  # fmt: skip
