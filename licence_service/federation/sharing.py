"""Sharing with consent (授权用证): consents, releases to other regions, and their receipts.

Consent is confirmed through the issuing region's service (the holder identifies at its
counter or portal); its hash is anchored in the SharingLedger so the receiving region — and
any auditor — can check it. A release checks consent, the licence type's shareable list and
masking, then anchors a receipt (hashes only): which licence leaf went to which region, for
which purpose, under which consent, when.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NoReturn

from eth_utils import keccak
from sqlalchemy import or_, select

from licence_service.audit import oplog
from licence_service.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from licence_service.domain.licence_types import LicenceType, get_licence_type
from licence_service.federation.auth import Caller
from licence_service.federation.masking import Released, release_fields
from licence_service.federation.metering import check_cap, reserve_use, return_use
from licence_service.region.runtime import Runtime
from licence_service.store.idempotency import bind_answer
from licence_service.store.models import Consent, Licence, Release
from licence_service.store.queries import find_licence
from licence_service.store.reads import add_read, licence_subject
from licence_service.store.sealing import holder_lookup


class SharingRefused(ServiceError):
    """The request is authentic but not allowed: no consent, not shareable, wrong purpose."""

    status_code = 403


class CapReached(SharingRefused):
    """Every release a consent or approval allowed (its cap) was made; nothing more goes."""


@dataclass(frozen=True)
class ConsentResult:
    consent_id: int
    consent_hash: str
    tx_hash: str | None
    valid_until: date


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _end_of(day: date) -> int:
    return int(datetime.combine(day, time(23, 59, 59), UTC).timestamp())


def grant_consent(
    rt: Runtime,
    holder_id: str,
    grantee_region: int,
    purpose: str,
    valid_until: date,
    licence_id: str | None = None,
    type_code: str | None = None,
    fields_in_full: list[str] | None = None,
    confirmed_by: str = "window",
    use_cap: int | None = None,
) -> ConsentResult:
    """Record a holder's consent for one licence, or for all their licences of a type; with
    ``use_cap``, at most that many releases are made under it."""
    check_cap(use_cap)
    if (licence_id is None) == (type_code is None):
        raise InvalidInputError("give either a licence or a licence type", field="licence_id")
    if not purpose.strip():
        raise InvalidInputError("purpose is empty: say what the data may be used for", "purpose")
    if valid_until <= datetime.now(UTC).date():
        raise InvalidInputError("valid_until must be in the future", field="valid_until")
    with rt.sessions() as s:
        leaf = bytes(32)
        licence_row_id = None
        if licence_id is not None:
            licence = find_licence(s, licence_id)
            if licence.holder_id != holder_id.strip().upper():
                raise SharingRefused(
                    "only the licence's holder can consent to sharing it", field="holder_id"
                )
            leaf, licence_row_id = licence.versions[-1].leaf, licence.id
            code = licence.agency.code
        else:
            get_licence_type(str(type_code))
            code = rt.agency(s).code
        record = {
            "holder": keccak(holder_id.strip().upper().encode()).hex(),
            "licence": licence_id,
            "type": type_code,
            "grantee_region": grantee_region,
            "purpose": purpose.strip(),
            "valid_until": valid_until.isoformat(),
            "fields": sorted(fields_in_full or []),
            "use_cap": use_cap,
            "salt": os.urandom(16).hex(),
        }
    consent_hash = keccak(canonical(record))
    sharing = rt.sharing(rt.agency_account(code))
    tx = sharing.record_consent(consent_hash, leaf, grantee_region, _end_of(valid_until))
    with rt.sessions.begin() as s:
        row = Consent(
            consent_hash=consent_hash,
            holder_id=holder_id.strip().upper(),
            licence_id=licence_row_id,
            type_code=type_code,
            grantee_region=grantee_region,
            purpose=purpose.strip(),
            fields_json=json.dumps(sorted(fields_in_full or [])),
            valid_until=valid_until,
            confirmed_by=confirmed_by,
            tx_hash=tx.tx.tx_hash,
            use_cap=use_cap,
        )
        s.add(row)
        s.flush()
        oplog.record(
            s,
            "consent:grant",
            licence_id or f"type:{type_code}",
            grantee_region=grantee_region,
            purpose=purpose.strip(),
        )
        granted = ConsentResult(row.id, consent_hash.hex(), tx.tx.tx_hash, valid_until)
        bind_answer(s, granted)  # the request's Idempotency-Key, if any: a retry gets this
        return granted


def withdraw_consent(rt: Runtime, consent_id: int) -> ConsentResult:
    with rt.sessions() as s:
        row = s.get(Consent, consent_id)
        if row is None:
            raise NotFoundError(f"no consent #{consent_id}", field="consent_id")
        if row.withdrawn_at is not None:
            raise ConflictError(f"consent #{consent_id} is already withdrawn", "consent_id")
        owner = s.get(Licence, row.licence_id) if row.licence_id is not None else None
        code = owner.agency.code if owner is not None else rt.agency(s).code
        consent_hash = row.consent_hash
    tx = rt.sharing(rt.agency_account(code)).withdraw_consent(consent_hash)
    with rt.sessions.begin() as s:
        row = s.get(Consent, consent_id)
        assert row is not None
        row.withdrawn_at = datetime.now(UTC)
        oplog.record(s, "consent:withdraw", f"consent:{consent_id}")
        withdrawn = ConsentResult(row.id, consent_hash.hex(), tx.tx.tx_hash, row.valid_until)
        bind_answer(s, withdrawn)  # the request's Idempotency-Key, if any
        return withdrawn


def find_consent(
    s: Any, licence: Licence, region: int, purpose: str, *, used_up: bool = False
) -> Consent | None:
    """The newest live consent covering ``licence`` for ``region`` and ``purpose`` with a use
    left (``used_up``: the newest whose cap is reached instead, to say why nothing goes)."""
    today = datetime.now(UTC).date()
    left = or_(Consent.use_cap.is_(None), Consent.uses < Consent.use_cap)
    return s.scalar(
        select(Consent)
        .where(
            Consent.holder_id_hash == holder_lookup(s, licence.holder_id),
            or_(Consent.licence_id == licence.id, Consent.type_code == licence.type_code),
            Consent.grantee_region == region,
            Consent.purpose == purpose,
            Consent.withdrawn_at.is_(None),
            Consent.valid_until >= today,
            ~left if used_up else left,
        )
        .order_by(Consent.id.desc())
    )


@dataclass(frozen=True)
class Outgoing:
    """What one release sends, read in the session that checked it was allowed."""

    ltype: LicenceType
    released: Released
    agency_code: str
    base_id: str
    leaf: bytes
    identifier: str
    status: str
    licence_row: int


def outgoing(licence: Licence, in_full: list[str], only: list[str] | None = None) -> Outgoing:
    """The current version's shareable values, masked unless named in ``in_full``."""
    ltype = get_licence_type(licence.type_code)
    version = licence.versions[-1]
    released = release_fields(ltype, json.loads(version.fields_json), in_full, only)
    return Outgoing(ltype, released, licence.agency.code, licence.base_id, version.leaf,
                    version.identifier, licence.status, licence.id)  # fmt: skip


def receipt_for(caller: Caller, out: Outgoing, purpose: str, basis: bytes) -> dict[str, Any]:
    """The release receipt both regions keep; its hash is what the chain records."""
    return {
        "licence_leaf": out.leaf.hex(),
        "to_region": caller.region,
        "to_account": caller.account,
        "purpose": purpose,
        "consent": basis.hex(),  # the consent or the approved request relied on
        "fields": sorted(out.released.fields),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "nonce": os.urandom(8).hex(),
    }


def receipt_hash_of(receipt: dict[str, Any]) -> bytes:
    return keccak(canonical(receipt))


def record_release(
    rt: Runtime,
    caller: Caller,
    out: Outgoing,
    purpose: str,
    receipt: dict[str, Any],
    tx_hash: str,
    *,
    consent_id: int | None = None,
    request_id: int | None = None,
) -> dict[str, Any]:
    """Keep the anchored release (row, read log, operation log) and answer with the data."""
    receipt_hash = receipt_hash_of(receipt)
    with rt.sessions.begin() as s:
        s.add(
            Release(
                receipt_hash=receipt_hash,
                licence_id=out.licence_row,
                leaf=out.leaf,
                to_region=caller.region,
                to_account=caller.account,
                purpose=purpose,
                consent_id=consent_id,
                request_id=request_id,
                fields_json=json.dumps(sorted(out.released.fields)),
                tx_hash=tx_hash,
            )
        )
        add_read(s, f"region:{caller.region}", licence_subject(out.base_id),
                 f"release to region {caller.region}: {purpose}", licence=out.base_id,
                 route="POST /api/v1/federation/licences/{licence_id}/release")  # fmt: skip
        basis = {"request": request_id} if request_id is not None else {}
        oplog.record(s, "share:release", out.base_id, to_region=caller.region,
                     purpose=purpose, receipt=receipt_hash.hex(), **basis)  # fmt: skip
    return {
        "licence_id": out.identifier,
        "type_code": out.ltype.code,
        "type_name": out.ltype.name,
        "status": out.status,
        "fields": out.released.fields,
        "masked": out.released.masked,
        "withheld": out.released.withheld,
        "receipt": {**receipt, "hash": receipt_hash.hex(), "tx_hash": tx_hash},
    }


def refuse(rt: Runtime, caller: Caller, base_id: str, purpose: str, reason: str,
           message: str, error: type[SharingRefused] | None = None) -> NoReturn:  # fmt: skip
    """Log a refused release in the operation log, then refuse it."""
    with rt.sessions.begin() as w:
        oplog.record(w, "share:refused", base_id, to_region=caller.region, purpose=purpose,
                     reason=reason)  # fmt: skip
    raise (error or SharingRefused)(message)


def _used_up(rt: Runtime, caller: Caller, base_id: str, purpose: str, consent_id: int,
             cap: int | None) -> NoReturn:  # fmt: skip
    refuse(rt, caller, base_id, purpose, "cap reached",
           f"consent #{consent_id} allowed {cap} release(s) and all were made; the holder can "
           "grant a new consent", CapReached)  # fmt: skip


def release(rt: Runtime, caller: Caller, licence_id: str, purpose: str) -> dict[str, Any]:
    """Release a licence's data to the calling region, if consent and the type allow it;
    each release counts against the consent's cap, when it has one."""
    purpose = purpose.strip()
    if not purpose:
        raise InvalidInputError("purpose is empty", field="purpose")
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        ltype = get_licence_type(licence.type_code)
        if not ltype.shareable_fields:
            raise SharingRefused(f"{ltype.name} ({ltype.code}) is not on the shareable list")
        consent = find_consent(s, licence, caller.region, purpose)
        if consent is None and (spent := find_consent(s, licence, caller.region, purpose,
                                                      used_up=True)):  # fmt: skip
            _used_up(rt, caller, licence.base_id, purpose, spent.id, spent.use_cap)
        if consent is None:
            refuse(rt, caller, licence.base_id, purpose, "no consent",
                   f"no valid consent of the holder covers region {caller.region} for the "
                   f"purpose {purpose!r}; the holder can grant it at the issuing "
                   "region")  # fmt: skip
        out = outgoing(licence, json.loads(consent.fields_json))
        consent_hash, consent_id, cap = consent.consent_hash, consent.id, consent.use_cap
    if not reserve_use(rt, Consent, consent_id):  # the last use went to a concurrent release
        _used_up(rt, caller, out.base_id, purpose, consent_id, cap)
    receipt = receipt_for(caller, out, purpose, consent_hash)
    try:
        tx = rt.sharing(rt.agency_account(out.agency_code)).record_release(
            receipt_hash_of(receipt), out.leaf, caller.region, keccak(purpose.encode()),
            consent_hash,
        )  # fmt: skip
    except BaseException:
        return_use(rt, Consent, consent_id)
        raise
    return record_release(rt, caller, out, purpose, receipt, tx.tx.tx_hash, consent_id=consent_id)


def sharing_history(rt: Runtime, licence_id: str) -> list[dict[str, Any]]:
    """Where a licence's data went: every release with its on-chain receipt."""
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        rows = s.scalars(
            select(Release).where(Release.licence_id == licence.id).order_by(Release.id)
        ).all()
        out = []
        for r in rows:
            on_chain = rt.sharing().release(r.receipt_hash)
            out.append(
                {
                    "time": r.created_at.isoformat(timespec="seconds"),
                    "to_region": r.to_region,
                    "to_account": r.to_account,
                    "purpose": r.purpose,
                    "fields": json.loads(r.fields_json),
                    "receipt": r.receipt_hash.hex(),
                    "tx_hash": r.tx_hash,
                    "anchored": on_chain is not None,
                }
            )
        return out
