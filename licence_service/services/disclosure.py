"""The one disclosure rule: which of a licence's fields a person sees, and the read log.

Every way a licence leaves the service to a signed-in person — the JSON view and history, the
desk's licence page and list, PDF and copy downloads — asks this module, never decides itself:

- **In full** (holder name, holder ID and the licence type's ``masked_fields``, and the signed
  PDF, which carries them): only issuers of the licence's issuing agency.
- **Masked** (``federation.masking``, the same rendering as data released to another region):
  everyone else who may read the licence — window staff of any agency of the region,
  auditors, issuers of an agency a joint review waits for. They get no full PDF (403).
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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from licence_service.audit import oplog
from licence_service.domain.errors import ServiceError
from licence_service.domain.licence_types import LicenceType
from licence_service.federation.masking import is_personal, mask_value
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole
from licence_service.people.service import aware
from licence_service.region.runtime import Runtime
from licence_service.store.queries import find_licence
from licence_service.store.reads import LicenceRead, ReadAlert
from verifier.references import mask_name

__all__ = [
    "PRESENTED_NAME_ROLES",
    "READ_WINDOW",
    "TooManyReadsError",
    "disclose",
    "ensure_full_pdf",
    "mask_contact",
    "mask_values",
    "read_alerts",
    "read_log",
    "record_presentation",
    "sees_in_full",
    "sees_presented_name",
]

READ_WINDOW = timedelta(minutes=1)


class TooManyReadsError(ServiceError):
    """A person read more distinct licences in a minute than the region allows."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, field="licence_id")
        self.retry_after = retry_after


def sees_in_full(person: PersonInfo, agency_code: str) -> bool:
    """An issuer of the issuing agency: the only viewer of the unmasked face and full PDF."""
    return PersonRole.ISSUER in person.roles and person.agency_code == agency_code


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
        s.add(LicenceRead(reader=person.label, licence=base_id, route=route[:200], unmasked=True))


def mask_values(values: Mapping[str, str], ltype: LicenceType, full: bool) -> dict[str, str]:
    """``values`` (face fields, ``holder_name`` and ``holder_id`` included) as a viewer who
    does (``full``) or does not see personal data may see them."""
    if full:
        return dict(values)
    out = {}
    for key, value in values.items():
        if key == "holder_name":
            out[key] = mask_name(value)
        elif is_personal(key, value, ltype):
            out[key] = mask_value(key, value)
        else:
            out[key] = value
    return out


def mask_contact(email: str | None, phone: str | None, full: bool) -> dict[str, str | None]:
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


def disclose(rt: Runtime, person: PersonInfo, licence_id: str, route: str) -> bool:
    """Whether ``person`` sees ``licence_id`` in full; records the read, or refuses it with
    ``TooManyReadsError`` (and an alert) beyond the distinct-licence limit of the minute."""
    limit = rt.settings.read_limit_per_minute
    now = datetime.now(UTC)
    with rt.sessions.begin() as s:
        licence = find_licence(s, licence_id.split("/")[0])
        base, full = licence.base_id, sees_in_full(person, licence.agency.code)
        recent = LicenceRead.reader == person.label, LicenceRead.at > now - READ_WINDOW
        seen = set(s.scalars(select(LicenceRead.licence).where(*recent).distinct()))
        wait = None
        if base not in seen and len(seen) >= limit:
            wait = _retry_after(s, person.label, now)
            alerted = s.scalar(
                select(ReadAlert.id).where(
                    ReadAlert.reader == person.label, ReadAlert.at > now - READ_WINDOW
                )
            )
            if alerted is None:  # one alert per person and minute, however often refused
                s.add(ReadAlert(reader=person.label, distinct_licences=len(seen) + 1,
                                limit=limit, route=route[:200], at=now))  # fmt: skip
                oplog.record(s, "licence:read-throttled", base, distinct=len(seen) + 1,
                             limit=limit)  # fmt: skip
        else:
            s.add(LicenceRead(reader=person.label, licence=base, route=route[:200],
                              unmasked=full, at=now))  # fmt: skip
    if wait is not None:
        raise TooManyReadsError(
            f"{person.label} read {len(seen)} distinct licences in the last minute (limit "
            f"{limit}); try again in {wait} s. The region's auditors have been alerted.",
            retry_after=wait,
        )
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


def read_log(
    rt: Runtime, reader: str | None = None, unmasked_only: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest reads (unmasked ones by default), optionally of one reader, newest first."""
    where = [LicenceRead.reader == reader] if reader else []
    if unmasked_only:
        where.append(LicenceRead.unmasked.is_(True))
    return [
        {"reader": r.reader, "at": aware(r.at).isoformat(timespec="seconds"),
         "licence": r.licence, "route": r.route, "unmasked": r.unmasked}
        for r in _rows(rt, LicenceRead, limit, *where)
    ]  # fmt: skip


def read_alerts(rt: Runtime, limit: int = 200) -> list[dict[str, Any]]:
    """Throttled readers (newest first): who, when, how many distinct licences, on what."""
    return [
        {"reader": a.reader, "at": aware(a.at).isoformat(timespec="seconds"),
         "distinct_licences": a.distinct_licences, "limit": a.limit, "route": a.route}
        for a in _rows(rt, ReadAlert, limit)
    ]  # fmt: skip
