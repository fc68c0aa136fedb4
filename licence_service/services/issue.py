"""Issuing a licence: validate, render, watermark, sign, and record with its pending leaf.

The licence, its version, its PDF and its outbox entry are written in one database
transaction (the PDF file first, named by its identifier, so a crash leaves at worst an
orphan file, never a row without its file). Anchoring happens later, in the worker.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger_client.errors import ChainUnavailableError
from licence_service.audit import oplog
from licence_service.documents.builder import (
    BuiltDocument,
    DocumentSpec,
    build_document,
    pdf_name,
    write_pdf,
)
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import FieldValidationError, LicenceType, get_licence_type
from licence_service.domain.national_ids import HolderIdType, IdentifierError, validate_holder_id
from licence_service.notify import Channel, check_recipient
from licence_service.region.runtime import Runtime
from licence_service.region.storage import storage_errors, writing_files
from licence_service.services.anchor_step import anchor, anchored_by
from licence_service.services.face_checks import check_face_text
from licence_service.store.idempotency import bind_result
from licence_service.store.models import Agency, Licence, LicenceVersion, OutboxEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssueRequest:
    type_code: str
    holder_name: str
    holder_id: str
    fields: dict[str, str]
    valid_from: date | None = None
    valid_until: date | None = None
    agency_code: str | None = None
    # How to reach the holder (reminders): personal data kept in the licence row only, never
    # on the face, in the PDF or on-chain.
    holder_email: str | None = None
    holder_phone: str | None = None


def holder_contact(req: IssueRequest) -> tuple[str | None, str | None]:
    """The request's holder e-mail and phone, checked (blank means none), or
    ``InvalidInputError`` naming ``holder_email`` / ``holder_phone``."""
    email = (req.holder_email or "").strip() or None
    phone = (req.holder_phone or "").strip() or None
    return (
        check_recipient(Channel.EMAIL, email, "holder_email") if email else None,
        check_recipient(Channel.SMS, phone, "holder_phone") if phone else None,
    )


@dataclass(frozen=True)
class IssuedDocument:
    licence_id: str
    base_id: str
    version: int
    pdf_path: Path
    document_digest: str
    leaf: str
    anchored: bool = False
    tx_hash: str | None = None
    batch_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _invalid(exc: IdentifierError | FieldValidationError) -> InvalidInputError:
    return InvalidInputError(str(exc), field=exc.field)


def validity(req: IssueRequest, ltype: LicenceType, today: date) -> tuple[date, date]:
    """The validity period of a request: as given, or from its start (``today`` by default)
    for the type's number of years; refused if it ends before it starts."""
    start = req.valid_from or today
    if req.valid_until is not None:
        end = req.valid_until
    else:
        try:
            end = start.replace(year=start.year + ltype.validity_years) - timedelta(days=1)
        except ValueError:  # 29 February
            end = start.replace(year=start.year + ltype.validity_years, day=28)
    if end <= start:
        raise InvalidInputError(
            f"valid_until {end} must be after valid_from {start}", field="valid_until"
        )
    return start, end


def face_values(
    ltype: LicenceType, holder_name: str, holder_id: str, start: date, end: date,
    fields: dict[str, str],
) -> dict[str, str]:  # fmt: skip
    """Every value that is on the licence face: these are hashed into the data root."""
    return {
        "licence_type": ltype.code,
        "holder_name": holder_name,
        "holder_id": holder_id,
        "valid_from": start.isoformat(),
        "valid_until": end.isoformat(),
        **fields,
    }


def validate_request(req: IssueRequest) -> tuple[LicenceType, str, str, dict[str, str]]:
    """(type, holder name, holder ID, cleaned fields) of a request, or the first problem as
    ``InvalidInputError`` naming its field (the desk form shows them all: ``issue_checks``)."""
    try:
        ltype = get_licence_type(req.type_code)
        fields = ltype.validate_fields(req.fields)
        holder_type = HolderIdType(ltype.holder_id_type)
        holder_id = validate_holder_id(holder_type, req.holder_id, "holder_id")
    except (IdentifierError, FieldValidationError) as exc:
        raise _invalid(exc) from exc
    holder_name = req.holder_name.strip()
    if not holder_name:
        raise InvalidInputError("holder_name is empty: give the holder's name", "holder_name")
    check_face_text({"holder_name": holder_name, **fields})
    return ltype, holder_name, holder_id, fields


def issue(rt: Runtime, req: IssueRequest, attempts: int = 5) -> IssuedDocument:
    """Issue version 1 of a new licence; returns once it is durably recorded (not anchored).
    A full or read-only data directory raises ``StorageError`` with nothing recorded."""
    with storage_errors(rt.settings):
        return _issue(rt, req, attempts)


def _issue(rt: Runtime, req: IssueRequest, attempts: int) -> IssuedDocument:
    ltype, holder_name, holder_id, fields = validate_request(req)
    email, phone = holder_contact(req)
    today = datetime.now(UTC).date()
    start, end = validity(req, ltype, today)
    values = face_values(ltype, holder_name, holder_id, start, end, fields)
    with rt.sessions() as s:
        agency = rt.agency(s, req.agency_code)
    creds = rt.agency_credentials(agency.code)
    for attempt in range(attempts):
        try:
            with rt.issue_lock, writing_files(rt.settings) as written, rt.sessions.begin() as s:
                serial = _next_serial(s, agency.id, ltype.code)
                ident = LicenceIdentifier.create(ltype.code, agency.code, serial)
                spec = DocumentSpec(agency, creds, ltype, ident, values, fields, today, start, end)
                doc = build_document(rt.settings.public_url, spec)
                path = write_pdf(rt.settings.pdf_dir, pdf_name(ident, doc.leaf), doc.pdf)
                written.append(path)
                licence = Licence(
                    base_id=ident.base, type_code=ltype.code, agency_id=agency.id, serial=serial,
                    holder_name=holder_name, holder_id_type=ltype.holder_id_type,
                    holder_id=holder_id, current_version=1, holder_email=email,
                    holder_phone=phone,
                )  # fmt: skip
                s.add(licence)
                s.flush()
                version = version_row(licence.id, ident, doc, values, today, start, end, path)
                s.add(version)
                s.flush()
                s.add(OutboxEntry.of(doc.leaf, agency.id, version_id=version.id))
                oplog.record(s, "issue", str(ident), type=ltype.code, agency=agency.code)
                issued = IssuedDocument(
                    licence_id=str(ident), base_id=ident.base, version=1, pdf_path=path,
                    document_digest=doc.leaf.document_digest.hex(), leaf=doc.leaf.leaf().hex(),
                )  # fmt: skip
                bind_result(s, issued)  # the request's Idempotency-Key, if any
        except IntegrityError:
            # another writer took the serial (refused at flush: nothing was committed, and
            # ``writing_files`` removed this attempt's file): take the next serial
            if attempt == attempts - 1:
                raise
            continue
        return issued
    raise AssertionError("unreachable")


def _next_serial(s: Session, agency_id: int, type_code: str) -> int:
    """The agency's next serial of this type. The agency row is locked first (PostgreSQL;
    SQLite has one writer anyway), so concurrent issuers of one agency — across server
    instances — take turns instead of all reading the same maximum and all but one failing
    on the unique key (4 issuing clients on two instances lost ~17% of requests that way)."""
    s.execute(select(Agency.id).where(Agency.id == agency_id).with_for_update())
    current = s.scalar(
        select(func.max(Licence.serial)).where(
            Licence.agency_id == agency_id, Licence.type_code == type_code
        )
    )
    return int(current or 0) + 1


def version_row(
    licence_id: int, ident: LicenceIdentifier, doc: BuiltDocument, values: dict[str, str],
    issue_date: date, start: date, end: date, path: Path,
) -> LicenceVersion:  # fmt: skip
    return LicenceVersion(
        licence_id=licence_id,
        version=ident.version,
        identifier=str(ident),
        fields_json=json.dumps(values, ensure_ascii=False),
        salts_json=json.dumps(doc.salts),
        data_root=doc.leaf.data_root,
        issue_date=issue_date,
        valid_from=start,
        valid_until=end,
        document_digest=doc.leaf.document_digest,
        pdf_path=str(path),
        kind=int(doc.leaf.kind),
        key=doc.leaf.key,
        leaf=doc.leaf.leaf(),
        parent_leaf=doc.leaf.parent,
        qr_payload=doc.qr_payload,
    )


def issue_licence(
    rt: Runtime, req: IssueRequest, wait: bool = True, timeout: float = 60.0
) -> IssuedDocument:
    """The issuance use case: issue; with ``wait``, anchor now and return with the transaction."""
    return settle(rt, issue(rt, req), wait, timeout)


def settle(rt: Runtime, doc: IssuedDocument, wait: bool, timeout: float = 60.0) -> IssuedDocument:
    """With ``wait``: anchor ``doc`` now and return it with the transaction that anchored it."""
    if not wait:
        return doc
    try:
        anchor(rt, [doc.leaf], wait=True, timeout=timeout)
    except ChainUnavailableError as exc:
        # The licence is recorded with its pending leaf (a retry must not issue it again):
        # it is PENDING, and the worker anchors it when the chain is back.
        return replace(doc, extra={**doc.extra, "note": f"{PENDING_NOTE} ({exc})"})
    except Exception as exc:
        # Work that was done is never answered with an error: the licence is issued and its
        # leaf queued; whatever stopped this request's anchoring (a timeout, a race with the
        # worker of another process), the outbox anchors it.
        log.warning("anchoring %s in the request failed; the worker anchors it: %s",
                    doc.licence_id, exc)  # fmt: skip
        done = anchor_info(rt, doc)
        if done.anchored:
            return done
        return replace(doc, extra={**doc.extra, "note": f"{QUEUED_NOTE} ({exc})"})
    return anchor_info(rt, doc)


PENDING_NOTE = "recorded and queued (PENDING): the chain is unreachable, anchored when it returns"
QUEUED_NOTE = "recorded and queued (PENDING): anchored by the worker shortly"


def anchor_info(rt: Runtime, doc: IssuedDocument) -> IssuedDocument:
    """``doc`` with its anchoring transaction filled in, if it is anchored."""
    found = anchored_by(rt, doc.leaf)
    if found is None:
        return doc
    return replace(doc, anchored=True, tx_hash=found[0], batch_id=found[1])
