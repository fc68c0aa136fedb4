"""Sharing requests between regions (数据共享的申请、审核和批准): the other path beside consent.

Region B asks this region, by a signed request, for one licence's data for a stated purpose
(and, least privilege, the fields it needs). The request waits for a named person of this
region with the ``sharing_reviewer`` role — of the licence's own agency, or of the region
authority — who approves it (until a date, at most ``MAX_APPROVAL_DAYS`` ahead, with an
optional cap on the number of releases and the fields released unmasked) or refuses it with
a reason. Only then may B fetch the data, and only B, for that licence and that purpose.

Whatever is approved, only the type's shareable values ever leave the region
(``masking.shareable_keys``); every step — request, approval or refusal, each release — is
receipted on the chain (``SharingLedger``), which also refuses a release past the cap or the
end, or for another region, licence version or purpose.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.domain.errors import ConflictError, InvalidInputError, NotFoundError
from licence_service.domain.licence_types import LicenceType, get_licence_type
from licence_service.federation.auth import Caller
from licence_service.federation.masking import shareable_keys
from licence_service.federation.metering import check_cap, reserve_use, return_use
from licence_service.federation.sharing import (
    CapReached,
    SharingRefused,
    canonical,
    outgoing,
    receipt_for,
    receipt_hash_of,
    record_release,
    refuse,
)
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole, UnitKind
from licence_service.region.runtime import Runtime
from licence_service.store.models import Licence
from licence_service.store.queries import find_licence
from licence_service.store.sharing_requests import SharingRequest

REVIEW_DAYS = 5  # the time limit of a review; past it the request's deadline card is red
DEFAULT_APPROVAL_DAYS = 30
MAX_APPROVAL_DAYS = 90  # as a use-specific copy: an approval is for a purpose, not for ever
MAX_PURPOSE = 500

PENDING, APPROVED, REFUSED = "PENDING", "APPROVED", "REFUSED"
STATUS_KEYS = ("id", "licence", "purpose", "fields", "state", "due_at", "decided_at", "reason",
               "valid_until", "use_cap", "uses")  # fmt: skip  # what the asking region sees


class PendingSharingRequest(NamedTuple):
    """A request waiting for review, as a deadline card sees it."""

    id: int
    created_at: datetime
    due_at: datetime  # its time limit: created_at + REVIEW_DAYS


def pending_sharing_requests(s: Session) -> list[PendingSharingRequest]:
    """Every request waiting for review, oldest first (the deadline cards' source)."""
    rows = s.execute(
        select(SharingRequest.id, SharingRequest.created_at, SharingRequest.due_at)
        .where(SharingRequest.state == PENDING)
        .order_by(SharingRequest.id)
    ).all()
    return [PendingSharingRequest(i, _aware(c), _aware(d)) for i, c, d in rows]


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _fields(ltype: LicenceType, names: list[str], field: str) -> list[str]:
    """``names`` if every one may leave the region, else an error naming the first that may
    not (non-shareable values never leave, whatever a request asks or a reviewer approves)."""
    allowed = shareable_keys(ltype)
    for name in names:
        if name not in allowed:
            raise InvalidInputError(
                f"{field}: {name!r} is not shareable for {ltype.name} ({ltype.code}) and never "
                f"leaves the region; shareable: {', '.join(sorted(allowed))}",
                field=field,
            )
    return sorted(set(names))


def _view(row: SharingRequest) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return None if value is None else _aware(value).isoformat(timespec="seconds")

    return {
        "id": row.id,
        "request_hash": row.request_hash.hex(),
        "licence": row.licence.base_id,
        "type_code": row.licence.type_code,
        "from_region": row.from_region,
        "requested_by": row.requested_by,
        "purpose": row.purpose,
        "fields": json.loads(row.fields_json),
        "state": row.state,
        "created_at": at(row.created_at),
        "due_at": at(row.due_at),
        "reviewer": row.reviewer,
        "decided_at": at(row.decided_at),
        "reason": row.reason,
        "valid_until": at(row.valid_until),
        "use_cap": row.use_cap,
        "uses": row.uses,
        "fields_in_full": json.loads(row.in_full_json),
        "tx_hash": row.tx_hash,
        "decision_tx": row.decision_tx,
    }


def receive_request(
    rt: Runtime,
    caller: Caller,
    licence_id: str,
    purpose: str,
    fields: list[str] | None = None,
    requested_by: str = "",
) -> dict[str, Any]:
    """Record region ``caller``'s request for a licence's data (anchored); it waits for review."""
    purpose, requested_by = purpose.strip(), requested_by.strip()
    if not purpose:
        raise InvalidInputError("purpose is empty: say what the data will be used for", "purpose")
    if len(purpose) > MAX_PURPOSE:
        raise InvalidInputError(f"purpose is longer than {MAX_PURPOSE} characters", "purpose")
    if len(requested_by) > 100:
        raise InvalidInputError("requested_by is longer than 100 characters", "requested_by")
    with rt.sessions() as s:
        own = rt.agency(s).region_code
        if caller.region == own:
            raise InvalidInputError("a region does not ask itself for its own data", "region")
        licence = find_licence(s, licence_id)
        ltype = get_licence_type(licence.type_code)
        if not ltype.shareable_fields:
            raise SharingRefused(f"{ltype.name} ({ltype.code}) is not on the shareable list")
        wanted = _fields(ltype, list(fields or []), "fields")
        leaf, agency_code, row_id = licence.versions[-1].leaf, licence.agency.code, licence.id
        base_id = licence.base_id
    now = _now()
    record = {"licence_leaf": leaf.hex(), "from_region": caller.region,
              "from_account": caller.account, "requested_by": requested_by, "purpose": purpose,
              "fields": wanted, "at": now.isoformat(timespec="seconds")}  # fmt: skip
    request_hash = keccak(canonical(record))
    tx = rt.sharing(rt.agency_account(agency_code)).record_request(
        request_hash, leaf, caller.region, keccak(purpose.encode())
    )
    with rt.sessions.begin() as s:
        row = SharingRequest(
            request_hash=request_hash, licence_id=row_id, leaf=leaf, from_region=caller.region,
            from_account=caller.account, requested_by=requested_by, purpose=purpose,
            fields_json=json.dumps(wanted, ensure_ascii=False), state=PENDING,
            due_at=now + timedelta(days=REVIEW_DAYS), uses=0, in_full_json="[]",
            tx_hash=tx.tx.tx_hash, created_at=now,
        )  # fmt: skip
        s.add(row)
        s.flush()
        oplog.record(s, "share:request", base_id, request=row.id, from_region=caller.region,
                     purpose=purpose)  # fmt: skip
        return _view(row)


def _reviewer(person: PersonInfo, own_region: int) -> None:
    if PersonRole.SHARING_REVIEWER not in person.roles:
        raise PermissionDeniedError(
            f"{person.label} may not review sharing requests (needs the sharing_reviewer role)",
            field="person",
        )
    if person.region_code != own_region:
        raise PermissionDeniedError(
            f"{person.label} belongs to region {person.region_code}, not {own_region}",
            field="person",
        )


def _in_scope(person: PersonInfo, licence: Licence) -> bool:
    """An agency's reviewer reviews its own licences; the region authority's, every one."""
    return person.unit_kind is not UnitKind.AGENCY or person.agency_code == licence.agency.code


def _may_review(person: PersonInfo, licence: Licence, own_region: int) -> None:
    """A reviewer of this region: of the licence's own agency, or of the region authority."""
    _reviewer(person, own_region)
    if not _in_scope(person, licence):
        raise PermissionDeniedError(
            f"{person.label} reviews requests for agency {person.agency_code}'s licences; "
            f"{licence.base_id} is of agency {licence.agency.code}",
            field="person",
        )


def list_requests(
    rt: Runtime, person: PersonInfo, state: str | None = PENDING
) -> list[dict[str, Any]]:
    """Requests ``person`` may review (``state`` None: every state), oldest first."""
    if state is not None and state not in (PENDING, APPROVED, REFUSED):
        raise InvalidInputError(f"state must be {PENDING}, {APPROVED} or {REFUSED}", "state")
    with rt.sessions() as s:
        _reviewer(person, rt.agency(s).region_code)
        query = select(SharingRequest).order_by(SharingRequest.id)
        if state is not None:
            query = query.where(SharingRequest.state == state)
        return [_view(row) for row in s.scalars(query) if _in_scope(person, row.licence)]


def _reviewer_hash(person: PersonInfo, request_hash: bytes) -> bytes:
    """Names the reviewer on the chain without naming them: the label is kept off-chain."""
    return keccak(person.label.encode() + request_hash)


def _pending_for(s: Session, rt: Runtime, person: PersonInfo, request_id: int) -> SharingRequest:
    row = s.get(SharingRequest, request_id)
    if row is None:
        raise NotFoundError(f"no sharing request #{request_id}", field="request_id")
    _may_review(person, row.licence, rt.agency(s).region_code)
    if row.state != PENDING:
        raise ConflictError(
            f"sharing request #{request_id} is already {row.state.lower()} by {row.reviewer}; "
            "a decision is final",
            field="request_id",
        )
    return row


def approve_request(
    rt: Runtime,
    person: PersonInfo,
    request_id: int,
    valid_until: date | None = None,
    use_cap: int | None = None,
    fields_in_full: list[str] | None = None,
) -> dict[str, Any]:
    """Approve a pending request as ``person`` (anchored): releases until ``valid_until``
    (default ``DEFAULT_APPROVAL_DAYS`` ahead), at most ``use_cap`` of them."""
    check_cap(use_cap)
    today = _now().date()
    until = valid_until or today + timedelta(days=DEFAULT_APPROVAL_DAYS)
    if not today < until <= today + timedelta(days=MAX_APPROVAL_DAYS):
        raise InvalidInputError(
            f"valid_until must be after today and at most {MAX_APPROVAL_DAYS} days ahead "
            f"(by {today + timedelta(days=MAX_APPROVAL_DAYS)})",
            field="valid_until",
        )
    end = datetime.combine(until, time(23, 59, 59), UTC)
    with rt.sessions() as s:
        row = _pending_for(s, rt, person, request_id)
        ltype = get_licence_type(row.licence.type_code)
        in_full = _fields(ltype, list(fields_in_full or []), "fields_in_full")
        asked = json.loads(row.fields_json)
        if asked and (extra := sorted(set(in_full) - set(asked))):
            raise InvalidInputError(
                f"fields_in_full: {', '.join(extra)} not asked for by the request", "fields_in_full"
            )
        request_hash, agency_code = row.request_hash, row.licence.agency.code
    tx = rt.sharing(rt.agency_account(agency_code)).approve_request(
        request_hash, _reviewer_hash(person, request_hash), int(end.timestamp()), use_cap or 0
    )
    in_full_json = json.dumps(in_full, ensure_ascii=False)
    return _decided(rt, person, request_id, APPROVED, tx.tx.tx_hash, valid_until=end,
                    use_cap=use_cap, in_full_json=in_full_json)  # fmt: skip


def refuse_request(rt: Runtime, person: PersonInfo, request_id: int, reason: str) -> dict[str, Any]:
    """Refuse a pending request as ``person``, with the reason the asking region is told."""
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("reason is empty: say why the request is refused", "reason")
    with rt.sessions() as s:
        row = _pending_for(s, rt, person, request_id)
        request_hash, agency_code = row.request_hash, row.licence.agency.code
    tx = rt.sharing(rt.agency_account(agency_code)).refuse_request(
        request_hash, _reviewer_hash(person, request_hash), keccak(reason.encode())
    )
    return _decided(rt, person, request_id, REFUSED, tx.tx.tx_hash, reason=reason)


def _decided(rt: Runtime, person: PersonInfo, request_id: int, state: str, tx_hash: str,
             **values: Any) -> dict[str, Any]:  # fmt: skip
    with rt.sessions.begin() as s:
        row = s.get(SharingRequest, request_id)
        assert row is not None
        row.state, row.reviewer, row.decided_at, row.decision_tx = (
            state,
            person.label,
            _now(),
            tx_hash,
        )
        for key, value in values.items():
            setattr(row, key, value)
        oplog.record(s, f"share:{state.lower()}", row.licence.base_id, request=request_id,
                     from_region=row.from_region, reviewer=person.label)  # fmt: skip
        return _view(row)


def request_status(rt: Runtime, caller: Caller, request_id: int) -> dict[str, Any]:
    """Where a region's own request stands; another region learns nothing of it."""
    with rt.sessions() as s:
        row = s.get(SharingRequest, request_id)
        if row is None or row.from_region != caller.region:
            raise NotFoundError(
                f"region {caller.region} made no sharing request #{request_id} here",
                field="request_id",
            )
        view = _view(row)
    return {k: view[k] for k in STATUS_KEYS}


def release_under_request(
    rt: Runtime, caller: Caller, licence_id: str, purpose: str, request_id: int
) -> dict[str, Any]:
    """Release a licence's data to the region whose request was approved: that region only,
    that licence version, that purpose, before the end and within the cap (each release
    counted, here and on the chain)."""
    purpose = purpose.strip()
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        row = s.get(SharingRequest, request_id)
        if row is None or row.from_region != caller.region:
            refuse(rt, caller, licence.base_id, purpose, f"request #{request_id} not theirs",
                   f"region {caller.region} has no sharing request #{request_id} here; an "
                   "approval is for the region that asked, no other")  # fmt: skip
        why = _why_not(row, licence, purpose)
        if why:
            refuse(rt, caller, licence.base_id, purpose, why, f"request #{request_id}: {why}")
        out = outgoing(licence, json.loads(row.in_full_json), json.loads(row.fields_json))
        request_hash, cap = row.request_hash, row.use_cap
    if not reserve_use(rt, SharingRequest, request_id, SharingRequest.state == APPROVED):
        refuse(rt, caller, out.base_id, purpose, "cap reached",
               f"request #{request_id} was approved for {cap} release(s) and all were made; "
               "ask again with a new request", CapReached)  # fmt: skip
    receipt = receipt_for(caller, out, purpose, request_hash)
    try:
        release, _ = rt.sharing(rt.agency_account(out.agency_code)).record_approved_release(
            receipt_hash_of(receipt), out.leaf, caller.region, keccak(purpose.encode()),
            request_hash,
        )  # fmt: skip
    except BaseException:
        return_use(rt, SharingRequest, request_id)
        raise
    return record_release(rt, caller, out, purpose, receipt, release.tx.tx_hash,
                          request_id=request_id)  # fmt: skip


def _why_not(row: SharingRequest, licence: Licence, purpose: str) -> str | None:
    """Why nothing is released under ``row`` for ``licence`` and ``purpose`` (None: it may)."""
    if row.state != APPROVED:
        return f"it is {row.state.lower()}: nothing is released under it"
    if row.licence_id != licence.id:
        return f"it was approved for licence {row.licence.base_id}, not for {licence.base_id}"
    if row.leaf != licence.versions[-1].leaf:
        return "the licence changed since it was approved; ask again for the current version"
    if purpose != row.purpose:
        return f"it was approved for the purpose {row.purpose!r}, not {purpose!r}"
    if row.valid_until is None or _aware(row.valid_until) < _now():
        return f"its approval ran out at {row.valid_until}"
    return None
