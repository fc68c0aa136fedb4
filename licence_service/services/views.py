"""What a person sees of a licence: its view, history and stored PDFs (read-only use cases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from licence_service.domain.errors import NotFoundError
from licence_service.domain.licence_types import CORE_FIELDS, get_licence_type
from licence_service.domain.states import UNKNOWN
from licence_service.region.runtime import Runtime
from licence_service.services.attachments import attachments_of
from licence_service.services.disclosure import Disclosure, mask_contact, mask_values
from licence_service.store.models import Attachment, StatusChange
from licence_service.store.queries import find_licence


def licence_view(rt: Runtime, licence_id: str, full: bool | Disclosure = False) -> dict[str, Any]:
    """What the API and CLI show about a licence (any version's identifier, or base id).

    Includes the GB/T 36903-style metadata of the current version. ``full`` is the
    disclosure rule's answer for the viewer (``services.disclosure.disclose``); by default the
    holder's name, ID and the type's personal fields are masked (a caller who forgets to ask
    the rule gives nothing away).
    """
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        versions = []
        for v in licence.versions:
            entry = v.outbox
            versions.append(
                {
                    "version": v.version,
                    "licence_id": v.identifier,
                    "valid_from": v.valid_from.isoformat(),
                    "valid_until": v.valid_until.isoformat(),
                    "document_digest": v.document_digest.hex(),
                    "leaf": v.leaf.hex(),
                    "anchor_state": entry.state if entry else UNKNOWN,
                    "anchor_tx": entry.batch.tx_hash if entry and entry.batch else None,
                    "change_category": v.change_category,
                    "change_reason": v.change_reason,
                }
            )
        current = licence.versions[-1]
        ltype = get_licence_type(licence.type_code)
        values = mask_values(json.loads(current.fields_json), ltype, full)
        agency = licence.agency
        status = licence.status
        if status == "ACTIVE" and current.valid_until < datetime.now(UTC).date():
            status = "EXPIRED"
        metadata = {
            "licence_id": current.identifier,
            "licence_number": f"{licence.type_code}-{licence.serial:07d}",
            "licence_name": ltype.name,
            "type_code": ltype.code,
            "version": current.version,
            "issue_date": current.issue_date.isoformat(),
            "issuing_authority": agency.name,
            "issuing_authority_code": agency.code,
            "defining_authority": agency.name,
            "valid_from": current.valid_from.isoformat(),
            "valid_until": current.valid_until.isoformat(),
            "jurisdiction_code": str(agency.region_code),
            "holder": values["holder_name"],
            "holder_id": values["holder_id"],
            "holder_id_type": licence.holder_id_type,
            "status": status,
            "fields": {k: v for k, v in values.items() if k not in CORE_FIELDS},
        }
        return {
            "base_id": licence.base_id,
            "type_code": licence.type_code,
            "holder_name": values["holder_name"],
            "holder_id_type": licence.holder_id_type,
            "holder_contact": mask_contact(licence.holder_email, licence.holder_phone, full),
            "status": status,
            "current_version": licence.current_version,
            "issuer": agency.name,
            "issuer_code": agency.code,
            "region_code": agency.region_code,
            "metadata": metadata,
            "versions": versions,
        }


def licence_history(
    rt: Runtime, licence_id: str, full: bool | Disclosure = False
) -> dict[str, Any]:
    """``licence_view`` plus a timeline of versions, status changes and attachments."""
    view = licence_view(rt, licence_id, full)
    attachments = attachments_of(rt, licence_id)
    timeline: list[dict[str, str]] = []
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        for v in licence.versions:
            what = (
                f"version {v.version:03d} issued"
                if v.version == 1
                else f"version {v.version:03d} ({v.change_category}): {v.change_reason or ''}"
            )
            timeline.append({"time": v.created_at.isoformat(timespec="seconds"), "what": what})
            changes = s.scalars(select(StatusChange).where(StatusChange.version_id == v.id))
            for c in changes:
                whom = v.identifier + (" (attachment)" if c.attachment_id else "")
                timeline.append(
                    {
                        "time": c.block_time.isoformat(timespec="seconds"),
                        "what": f"{whom} → {c.status} (code {c.reason_code}) {c.reason_text}; "
                        f"block {c.block_number}",
                    }
                )
    for a in attachments:
        what = f"{str(a['kind']).lower()} {a['identifier']} {a['data']}"
        what += f" [{a['status']}, {a['anchor_state']}]"
        timeline.append({"time": str(a["created_at"])[:19], "what": what})
    timeline.sort(key=lambda e: e["time"])
    return {**view, "attachments": attachments, "timeline": timeline}


def pdf_path(rt: Runtime, licence_id: str) -> Path:
    """The stored PDF of a version, of an attachment, or of the current version (base id)."""
    with rt.sessions() as s:
        if "/" in licence_id:
            att = s.scalar(select(Attachment).where(Attachment.identifier == licence_id))
            if att is None or att.pdf_path is None:
                raise NotFoundError(f"no document {licence_id} in this region", "licence_id")
            return Path(att.pdf_path)
        licence = find_licence(s, licence_id)
        by_id = {v.identifier: v for v in licence.versions}
        return Path(by_id.get(licence_id, licence.versions[-1]).pdf_path)
