"""Use cases shared by the CLI and the HTTP API, on top of issuance, anchoring and status."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from licence_service.anchoring import AnchorWorker, wait_anchored
from licence_service.errors import NotFoundError
from licence_service.issuance import IssuedDocument, IssueRequest, issue
from licence_service.models import AnchorBatch, Licence, LicenceVersion, OutboxEntry
from licence_service.runtime import Runtime
from verifier.verdicts import VerificationResult


def issue_licence(
    rt: Runtime, req: IssueRequest, wait: bool = True, timeout: float = 60.0
) -> IssuedDocument:
    """Issue; with ``wait``, anchor now and return with the transaction that anchored it."""
    doc = issue(rt, req)
    if not wait:
        return doc
    AnchorWorker(rt).flush()
    wait_anchored(rt, [bytes.fromhex(doc.leaf)], timeout)
    return anchor_info(rt, doc)


def anchor_info(rt: Runtime, doc: IssuedDocument) -> IssuedDocument:
    """``doc`` with its anchoring transaction filled in, if it is anchored."""
    with rt.sessions() as s:
        row = s.execute(
            select(OutboxEntry, AnchorBatch)
            .join(AnchorBatch, AnchorBatch.id == OutboxEntry.batch_id)
            .where(OutboxEntry.leaf == bytes.fromhex(doc.leaf))
        ).first()
    if row is None or row[0].state != "anchored":
        return doc
    _entry, batch = row
    return replace(doc, anchored=True, tx_hash=batch.tx_hash, batch_id=batch.chain_batch_id)


def licence_view(rt: Runtime, licence_id: str) -> dict[str, object]:
    """What the API and CLI show about a licence (full identifier or base id)."""
    with rt.sessions() as s:
        version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == licence_id))
        licence = (
            version.licence
            if version
            else s.scalar(select(Licence).where(Licence.base_id == licence_id))
        )
        if licence is None:
            raise NotFoundError(f"no licence {licence_id} in this region", field="licence_id")
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
                    "anchor_state": entry.state if entry else "unknown",
                    "anchor_tx": entry.batch.tx_hash if entry and entry.batch else None,
                }
            )
        return {
            "base_id": licence.base_id,
            "type_code": licence.type_code,
            "holder_name": licence.holder_name,
            "holder_id_type": licence.holder_id_type,
            "status": licence.status,
            "current_version": licence.current_version,
            "issuer": licence.agency.name,
            "issuer_code": licence.agency.code,
            "region_code": licence.agency.region_code,
            "versions": versions,
        }


def pdf_path(rt: Runtime, licence_id: str) -> Path:
    """The stored PDF of a version (full identifier) or of the current version (base id)."""
    with rt.sessions() as s:
        version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == licence_id))
        if version is None:
            licence = s.scalar(select(Licence).where(Licence.base_id == licence_id))
            if licence is not None:
                version = licence.versions[licence.current_version - 1]
        if version is None:
            raise NotFoundError(f"no licence {licence_id} in this region", field="licence_id")
        return Path(version.pdf_path)


def verify_pdf(
    rt: Runtime, data: bytes, at: datetime | None = None, direct: bool = False
) -> VerificationResult:
    return rt.verifier(direct=direct).verify_pdf(data, at)


def verify_qr(
    rt: Runtime, payload: str, at: datetime | None = None, direct: bool = False
) -> VerificationResult:
    return rt.verifier(direct=direct).verify_qr(payload, at)
