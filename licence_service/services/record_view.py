"""A licence's whole record as the agency desk shows it: the face (masked for the viewer), every
version, status change and attachment with the block and transaction that anchored it.

The desk's licence page reads this, never the tables: one read model, one masking rule.
Only issuers of the issuing agency see the face in full; everyone else who may read the licence
(window staff, auditors) sees the holder's name, ID number and the type's personal fields
masked, the same masking as data released to another region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.domain.licence_types import LicenceType, get_licence_type
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.region.runtime import Runtime
from licence_service.services.disclosure import (
    Disclosure,
    disclosure_for,
    mask_values,
    sees_in_full,
)
from licence_service.store.models import (
    Agency,
    AnchorBatch,
    Attachment,
    Licence,
    LicenceVersion,
    OutboxEntry,
)
from licence_service.store.models import StatusChange as StatusRow
from licence_service.store.queries import find_licence
from verifier.leaves import LeafKind
from verifier.references import mask_name

__all__ = ["Anchor", "LicenceRecord", "licence_list", "licence_record", "sees_in_full"]
# ``sees_in_full`` is the disclosure rule's (services.disclosure), re-exported for the pages


@dataclass(frozen=True)
class Anchor:
    """Where a leaf or a status change is on the chain (``None`` while not yet anchored)."""

    state: str
    block: int | None = None
    tx: str | None = None


@dataclass
class LicenceRecord:
    base_id: str
    type_code: str
    type_name: str
    status: str
    current: str
    agency_code: str
    masked: bool
    face: list[tuple[str, str, str]]  # (key, label, value as the viewer may see it)
    fields: dict[str, str]  # the type's own fields in full, for the amend form (issuers only)
    versions: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)
    inspections: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)


def _anchor(s: Session, leaf: bytes) -> Anchor:
    entry = s.scalar(select(OutboxEntry).where(OutboxEntry.leaf == leaf))
    if entry is None:
        return Anchor("unknown")
    batch: AnchorBatch | None = entry.batch
    if batch is None:
        return Anchor(entry.state)
    return Anchor(entry.state, batch.block_number, batch.tx_hash)


def _face(
    values: dict[str, str], labels: dict[str, str], full: bool | Disclosure, ltype: LicenceType
) -> list[tuple[str, str, str]]:
    shown = mask_values(values, ltype, full)
    return [(key, labels.get(key, key), v) for key, v in shown.items() if key != "licence_type"]


def _attachment(s: Session, a: Attachment) -> dict[str, Any]:
    data = json.loads(a.data_json)
    data.pop("recipient", None)  # personal data of the recipient stays in the PDF only
    own = json.loads(a.version.fields_json)
    return {
        "identifier": a.identifier,
        "kind": LeafKind(a.kind).name,
        "status": a.status,
        "valid_until": a.valid_until.isoformat() if a.valid_until else "",
        "created_at": f"{a.created_at:%Y-%m-%d %H:%M}",
        "data": {k: v for k, v in data.items() if k not in own},
        "has_pdf": a.pdf_path is not None,
        "anchor": _anchor(s, a.leaf),
    }


def _version(s: Session, v: LicenceVersion, current: int, status: str) -> dict[str, Any]:
    return {
        "version": v.version,
        "identifier": v.identifier,
        "state": status if v.version == current else "SUPERSEDED",
        "valid_from": v.valid_from.isoformat(),
        "valid_until": v.valid_until.isoformat(),
        "category": v.change_category or "",
        "reason": v.change_reason or "",
        "created_at": f"{v.created_at:%Y-%m-%d %H:%M}",
        "anchor": _anchor(s, v.leaf),
    }


def licence_record(
    rt: Runtime, licence_id: str, viewer: PersonInfo, full: bool | Disclosure | None = None
) -> LicenceRecord:
    """The record of ``licence_id`` (any version's identifier or the base id) for ``viewer``;
    ``full`` is the disclosure rule's answer when the caller has asked it already."""
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        ltype = get_licence_type(licence.type_code)
        current = licence.versions[-1]
        agency = licence.agency.code
        full = disclosure_for(viewer, agency) if full is None else full
        values: dict[str, str] = json.loads(current.fields_json)
        labels = {spec.key: spec.label for spec in ltype.fields}
        record = LicenceRecord(
            base_id=licence.base_id,
            type_code=ltype.code,
            type_name=ltype.name,
            status=licence.status,
            current=current.identifier,
            agency_code=agency,
            masked=not full,
            face=_face(values, labels, full, ltype),
            fields={k: values[k] for k in ltype.field_keys if k in values} if full else {},
        )
        by_version = {}
        for v in licence.versions:
            record.versions.append(_version(s, v, current.version, licence.status))
            by_version[v.id] = v.identifier
        rows = s.scalars(
            select(StatusRow)
            .where(StatusRow.version_id.in_(by_version))
            .order_by(StatusRow.block_number, StatusRow.id)
        )
        for c in rows:
            record.statuses.append({
                "time": f"{c.block_time:%Y-%m-%d %H:%M:%S}", "target": by_version[c.version_id],
                "attachment": c.attachment_id is not None, "status": c.status,
                "reason_code": c.reason_code, "reason": c.reason_text, "actor": c.actor,
                "anchor": Anchor("anchored", c.block_number, c.tx_hash),
            })  # fmt: skip
        attachments = s.scalars(
            select(Attachment).where(Attachment.version_id.in_(by_version)).order_by(Attachment.id)
        )
        groups = {"COPY": record.copies, "INSPECTION": record.inspections}
        for a in attachments:
            row = _attachment(s, a)
            groups.get(row["kind"], record.approvals).append(row)
        return record


def licence_list(
    rt: Runtime, viewer: PersonInfo, query: str = "", limit: int = 50
) -> list[dict[str, str]]:
    """The newest licences ``viewer`` may read, matching ``query`` (identifier or holder name);
    an issuer who is not also window staff or auditor sees only their own agency's."""
    wide = bool(viewer.roles & {PersonRole.WINDOW_STAFF, PersonRole.AUDITOR})
    stmt = select(Licence).join(Agency, Agency.id == Licence.agency_id)
    if not wide:
        stmt = stmt.where(Agency.code == (viewer.agency_code or ""))
    text = query.strip()
    if text:
        like = f"%{text}%"
        # a holder's name is searched only among licences the viewer sees in full
        own = (Agency.code == (viewer.agency_code or "")) & Licence.holder_name.like(like)
        by_name = own if PersonRole.ISSUER in viewer.roles else Licence.id < 0
        stmt = stmt.where(Licence.base_id.like(like) | by_name)
    out = []
    with rt.sessions() as s:
        for licence in s.scalars(stmt.order_by(Licence.id.desc()).limit(limit)):
            full = sees_in_full(viewer, licence.agency.code)
            out.append({
                "base_id": licence.base_id, "type_code": licence.type_code,
                "holder": licence.holder_name if full else mask_name(licence.holder_name),
                "status": licence.status, "version": f"{licence.current_version:03d}",
                "agency": licence.agency.code,
            })  # fmt: skip
    return out
