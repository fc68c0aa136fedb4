"""The database half of a bulk import: which rows are done, serials, one transaction per chunk.

A chunk's licences, versions, outbox entries, import rows and log entries are written in one
transaction (its PDF files were written durably before), so a crash leaves either the whole
chunk or none of it, never a licence without its import row; that is what makes a re-run
issue nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.documents.builder import BuiltDocument
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import LicenceType
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services.bulk_render import Rendered, RowJob
from licence_service.services.issue import version_row
from licence_service.store.imports import ImportedRow
from licence_service.store.models import Agency, Licence, LicenceVersion, OutboxEntry


def done_rows(rt: Runtime, keys: Iterable[bytes]) -> dict[bytes, tuple[str, str]]:
    """Of ``keys``, those already issued: key -> (identifier, PDF path)."""
    wanted = list(keys)
    if not wanted:
        return {}
    with rt.sessions() as s:
        rows = s.execute(
            select(ImportedRow.row_key, LicenceVersion.identifier, LicenceVersion.pdf_path)
            .join(LicenceVersion, LicenceVersion.id == ImportedRow.version_id)
            .where(ImportedRow.row_key.in_(wanted))
        )
        return {key: (ident, path) for key, ident, path in rows}


def next_serial(rt: Runtime, agency_id: int, type_code: str) -> int:
    with rt.sessions() as s:
        current = s.scalar(
            select(func.max(Licence.serial)).where(
                Licence.agency_id == agency_id, Licence.type_code == type_code
            )
        )
    return int(current or 0) + 1


def commit_chunk(
    rt: Runtime,
    agency: Agency,
    ltype: LicenceType,
    source: str,
    items: list[tuple[int, bytes, RowJob, Rendered]],
) -> None:
    """Record a chunk of rendered licences in one transaction (IntegrityError if a serial or
    a row key was taken meanwhile: then nothing of the chunk is recorded)."""
    if not items:
        return
    docs = [_doc(rendered) for _n, _k, _j, rendered in items]
    with rt.sessions.begin() as s:
        licences = []
        for _number, _key, job, _rendered in items:
            licence = Licence(
                base_id=_ident(ltype, agency, job.serial).base, type_code=ltype.code,
                agency_id=agency.id, serial=job.serial, holder_name=job.values["holder_name"],
                holder_id_type=ltype.holder_id_type, holder_id=job.values["holder_id"],
                current_version=1, holder_email=job.holder_email, holder_phone=job.holder_phone,
            )  # fmt: skip
            licences.append(licence)
        s.add_all(licences)
        s.flush()
        versions = [
            version_row(
                licence.id,
                _ident(ltype, agency, job.serial),
                doc,
                job.values,
                job.issue_date,
                job.start,
                job.end,
                Path(rendered.path),
            )
            for licence, doc, (_n, _k, job, rendered) in zip(licences, docs, items, strict=True)
        ]
        s.add_all(versions)
        s.flush()
        for version, doc, (number, key, _job, _r) in zip(versions, docs, items, strict=True):
            s.add(OutboxEntry.of(doc.leaf, agency.id, version_id=version.id))
            s.add(ImportedRow(row_key=key, version_id=version.id, source=source, row_number=number))
            oplog.record(
                s, "issue", version.identifier, type=ltype.code, agency=agency.code, source=source
            )


def _doc(rendered: Rendered) -> BuiltDocument:
    if rendered.doc is None:
        raise ValueError(f"serial {rendered.serial} was not rendered: {rendered.error}")
    return rendered.doc


def _ident(ltype: LicenceType, agency: Agency, serial: int) -> LicenceIdentifier:
    return LicenceIdentifier.create(ltype.code, agency.code, serial)


def unanchored(s: Session, agency_id: int) -> int:
    """Leaves of the agency not anchored yet (the import waits for this to reach zero)."""
    return int(
        s.scalar(
            select(func.count(OutboxEntry.id)).where(
                OutboxEntry.agency_id == agency_id, OutboxEntry.state != OutboxState.ANCHORED
            )
        )
        or 0
    )


def today_utc() -> date:
    return datetime.now(UTC).date()
