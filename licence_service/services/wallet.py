"""The holder's wallet: their licences, every use of them, PDFs, copies and consents.

Every function takes the signed-in :class:`~licence_service.people.holders.HolderInfo` and
first checks that the licence named is the holder's own (:func:`own_licence`): another
holder's licence answers exactly as one that does not exist (404), so the wallet is no oracle
of who holds what. The work itself is done by the use cases the desk and the CLI use
(``views``, ``attachments.make_copy``, ``federation.sharing``), acting as the holder in the
operation log. The holder sees their own licence in full (it is their data); each read is in
the read log under the holder's keyed subject (``HolderInfo.label``: ``holder:<keyed hash>``,
never the ID).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from licence_service.audit import oplog
from licence_service.audit.verify_counts import counter_of, verifications_per_day
from licence_service.domain.errors import NotFoundError
from licence_service.domain.licence_types import get_licence_type
from licence_service.federation.sharing import grant_consent, sharing_history, withdraw_consent
from licence_service.people.holders import HolderInfo
from licence_service.region.runtime import Runtime
from licence_service.services.attachments import AttachmentResult, make_copy
from licence_service.services.views import licence_history, licence_view, pdf_path
from licence_service.store.models import Attachment, Consent, Licence
from licence_service.store.queries import find_licence
from licence_service.store.reads import add_read, licence_subject
from licence_service.store.sealing import holder_lookup as holder_key


def own_licence(rt: Runtime, holder: HolderInfo, licence_id: str) -> str:
    """The base id of ``licence_id`` (any version or copy identifier) if it is ``holder``'s;
    otherwise the not-found error of a licence that does not exist."""
    with rt.sessions() as s:
        try:
            licence = find_licence(s, licence_id.split("/")[0])
        except NotFoundError:
            licence = None
        if licence is None or licence.holder_id != holder.holder_id:
            raise NotFoundError(f"no licence {licence_id} in your wallet", field="licence_id")
        if "/" in licence_id:
            att = s.scalar(select(Attachment).where(Attachment.identifier == licence_id))
            if att is None or att.version.licence_id != licence.id:
                raise NotFoundError(f"no document {licence_id} in your wallet", "licence_id")
        return licence.base_id


def _log_read(rt: Runtime, holder: HolderInfo, base_id: str, route: str) -> None:
    with rt.sessions.begin() as s:
        add_read(s, holder.label, licence_subject(base_id), "the holder's own wallet",
                 licence=base_id, route=route)  # fmt: skip


def my_licences(rt: Runtime, holder: HolderInfo) -> list[dict[str, Any]]:
    """The holder's licences of this region, newest first, as the wallet's list shows them."""
    with rt.sessions() as s:
        mine = Licence.holder_id_hash == holder_key(s, holder.holder_id)
        ids = list(s.scalars(select(Licence.base_id).where(mine).order_by(Licence.id.desc())))
    out = []
    for base_id in ids:
        view = licence_view(rt, base_id, full=True)
        meta = view["metadata"]
        out.append({
            "base_id": base_id, "licence_id": meta["licence_id"], "type_code": view["type_code"],
            "type_name": meta["licence_name"], "holder_name": view["holder_name"],
            "status": view["status"], "version": view["current_version"],
            "valid_until": meta["valid_until"], "issuer": view["issuer"],
        })  # fmt: skip
    return out


def uses_of(rt: Runtime, base_id: str) -> dict[str, Any]:
    """Every use of a licence: verifications per day (any version or copy) and releases."""
    counter_of(rt, rt.sessions).flush()  # what this process counted, before reading
    with rt.sessions() as s:
        days = verifications_per_day(s, base_id)
    return {
        "verifications": [{"day": d.isoformat(), "count": n} for d, n in days],
        "verifications_total": sum(n for _, n in days),
        "releases": sharing_history(rt, base_id),
    }


def wallet_licence(rt: Runtime, holder: HolderInfo, licence_id: str) -> dict[str, Any]:
    """One licence of the holder's: versions, status, copies, timeline, uses and consents."""
    base_id = own_licence(rt, holder, licence_id)
    _log_read(rt, holder, base_id, f"/wallet/{base_id}")
    history = licence_history(rt, base_id, full=True)
    ltype = get_licence_type(history["type_code"])
    return {**history, "uses": uses_of(rt, base_id), "consents": my_consents(rt, holder, base_id),
            "presentable_fields": ["holder_name", "holder_id", *ltype.field_keys]}  # fmt: skip


def wallet_pdf(rt: Runtime, holder: HolderInfo, licence_id: str) -> Path:
    """The stored PDF of one of the holder's versions or copies (base id: the current one)."""
    base_id = own_licence(rt, holder, licence_id)
    _log_read(rt, holder, base_id, f"/wallet/{licence_id}/pdf")
    return pdf_path(rt, licence_id)


def wallet_copy(rt: Runtime, holder: HolderInfo, licence_id: str, purpose: str,
                recipient: str, valid_until: date) -> AttachmentResult:  # fmt: skip
    """A use-specific copy made by the holder: the purpose is free text, bounded as every
    copy's is (``attachments.PURPOSE_CHARS``: the sources name no list of purposes)."""
    base_id = own_licence(rt, holder, licence_id)
    with oplog.acting_as(holder.label, "holder"):
        return make_copy(rt, base_id, purpose, recipient, valid_until, actor="持证人本人")


def _base_of(s: Any, licence_row_id: int | None) -> str | None:
    row = s.get(Licence, licence_row_id) if licence_row_id is not None else None
    return row.base_id if row is not None else None


def my_consents(
    rt: Runtime, holder: HolderInfo, base_id: str | None = None
) -> list[dict[str, Any]]:
    """The holder's consents (of one licence, or all), newest first."""
    with rt.sessions() as s:
        query = select(Consent).where(Consent.holder_id_hash == holder_key(s, holder.holder_id))
        if base_id is not None:
            query = query.where(Consent.licence_id == find_licence(s, base_id).id)
        rows = s.scalars(query.order_by(Consent.id.desc())).all()
        return [
            {"consent_id": c.id, "licence": _base_of(s, c.licence_id),
             "type_code": c.type_code, "grantee_region": c.grantee_region, "purpose": c.purpose,
             "fields_in_full": json.loads(c.fields_json), "valid_until": c.valid_until.isoformat(),
             "withdrawn": c.withdrawn_at is not None, "tx_hash": c.tx_hash}
            for c in rows
        ]  # fmt: skip


def wallet_grant(rt: Runtime, holder: HolderInfo, licence_id: str, grantee_region: int,
                 purpose: str, valid_until: date,
                 fields_in_full: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The holder's own consent to release one licence to another region."""
    base_id = own_licence(rt, holder, licence_id)
    with oplog.acting_as(holder.label, "holder"):
        result = grant_consent(rt, holder.holder_id, grantee_region, purpose, valid_until,
                               licence_id=base_id, fields_in_full=fields_in_full,
                               confirmed_by="wallet")  # fmt: skip
    return {"consent_id": result.consent_id, "tx_hash": result.tx_hash,
            "valid_until": result.valid_until.isoformat()}  # fmt: skip


def wallet_withdraw(rt: Runtime, holder: HolderInfo, consent_id: int) -> dict[str, Any]:
    """Withdraw one of the holder's consents (another's: not found)."""
    with rt.sessions() as s:
        row = s.get(Consent, consent_id)
        if row is None or row.holder_id != holder.holder_id:
            raise NotFoundError(f"no consent #{consent_id} in your wallet", field="consent_id")
    with oplog.acting_as(holder.label, "holder"):
        result = withdraw_consent(rt, consent_id)
    return {"consent_id": result.consent_id, "tx_hash": result.tx_hash, "withdrawn": True}
