"""Issuing a licence: validate, render, watermark, sign, and record with its pending leaf.

The licence, its version, its PDF and its outbox entry are written in one database
transaction (the PDF file first, named by its identifier, so a crash leaves at worst an
orphan file, never a row without its file). Anchoring happens later, in the worker.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.documents.face import LicenceFace, RenderOptions, render_licence_pdf
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import FieldValidationError, LicenceType, get_licence_type
from licence_service.domain.national_ids import HolderIdType, IdentifierError, validate_holder_id
from licence_service.domain.trust_grades import TrustGrade, watermark_text
from licence_service.region.runtime import Runtime
from licence_service.store.models import Agency, Licence, LicenceVersion, OutboxEntry
from signing.certificates import KeyAndCert
from signing.pades import SignerConfig, sign_pdf
from signing.pdf_metadata import embed_metadata
from verifier.engine import METADATA_FILE
from verifier.leaves import (
    ZERO,
    LeafInput,
    LeafKind,
    attachment_identifier,
    document_digest,
    fields_root,
    lookup_key,
)
from verifier.qr import QrClaims, encode_token, token_url
from verifier.references import mask_name

METADATA_SCHEMA = "licledger/1"


@dataclass(frozen=True)
class IssueRequest:
    type_code: str
    holder_name: str
    holder_id: str
    fields: dict[str, str]
    valid_from: date | None = None
    valid_until: date | None = None
    agency_code: str | None = None


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


def _validity(req: IssueRequest, ltype: LicenceType, today: date) -> tuple[date, date]:
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


def _validate(req: IssueRequest) -> tuple[LicenceType, str, str, dict[str, str]]:
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
    return ltype, holder_name, holder_id, fields


@dataclass(frozen=True)
class _Document:
    pdf: bytes
    metadata: dict[str, Any]
    leaf: LeafInput
    salts: dict[str, str]
    qr_payload: str


@dataclass(frozen=True)
class DocumentSpec:
    """Everything that goes into one signed licence document: a version, or a copy of one."""

    agency: Agency
    creds: KeyAndCert
    ltype: LicenceType
    ident: LicenceIdentifier
    values: dict[str, str]  # the face values (core and type fields)
    type_fields: dict[str, str]
    issue_date: date
    start: date
    end: date
    parent: bytes = ZERO
    kind: LeafKind = LeafKind.VERSION
    serial: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # committed too (e.g. copy purpose)
    expires: date | None = None  # of this document, when earlier than the licence's end
    annotation: tuple[tuple[str, str], ...] = ()
    grade: TrustGrade = TrustGrade.A

    @property
    def identifier(self) -> str:
        if self.kind is LeafKind.VERSION:
            return str(self.ident)
        return attachment_identifier(str(self.ident), self.kind, self.serial)

    @property
    def valid_until(self) -> date:
        return self.expires or self.end


def build_document(rt: Runtime, spec: DocumentSpec) -> _Document:
    """Render, watermark, embed metadata, sign; compute the leaf of the signed bytes."""
    agency, ltype, ident = spec.agency, spec.ltype, spec.ident
    committed = {**spec.values, **spec.extra}
    salts = {k: secrets.token_bytes(16) for k in committed}
    root = fields_root(committed, salts)
    claims = QrClaims(
        identifier=spec.identifier,
        data_root_prefix=root.hex()[:16],
        valid_until=spec.valid_until,
        issuer_code=agency.code,
        region=agency.region_code,
        type_code=ltype.code,
        holder_masked=mask_name(spec.values["holder_name"]),
    )
    token = encode_token(claims, spec.creds.key)
    qr = token_url(rt.settings.public_url, token)
    holder_type = HolderIdType(ltype.holder_id_type)
    face = LicenceFace(
        type_name=ltype.name,
        type_code=ltype.code,
        identifier=spec.identifier,
        holder_name=spec.values["holder_name"],
        holder_id=spec.values["holder_id"],
        holder_id_type=holder_type.label,
        issuer_name=agency.name,
        issuer_code=agency.code,
        issue_date=spec.issue_date,
        valid_from=spec.start,
        valid_until=spec.end,
        version=ident.version,
        fields=tuple(spec.type_fields.items()),
    )
    pdf = render_licence_pdf(
        face,
        RenderOptions(
            watermark=watermark_text(spec.grade, agency.name, spec.valid_until),
            qr_payload=qr,
            seal_label=f"{agency.name}(电子印章)",
            annotation=spec.annotation,
        ),
    )
    key = lookup_key(ident.base, ident.version, spec.kind, spec.serial, claims.message())
    metadata: dict[str, Any] = {
        "qr_token": token,
        "schema": METADATA_SCHEMA,
        "licence_id": spec.identifier,
        "base_id": ident.base,
        "version": ident.version,
        "type_code": ltype.code,
        "type_name": ltype.name,
        "holder_name": spec.values["holder_name"],
        "holder_id_type": str(holder_type),
        "holder_id": spec.values["holder_id"],
        "issuer_name": agency.name,
        "issuer_code": agency.code,
        "defining_authority": agency.name,
        "region_code": agency.region_code,
        "jurisdiction": str(agency.region_code),
        "issue_date": spec.issue_date.isoformat(),
        "valid_from": spec.start.isoformat(),
        "valid_until": spec.valid_until.isoformat(),
        "licence_valid_until": spec.end.isoformat(),
        "fields": spec.type_fields,
        "trust_grade": str(spec.grade),
        "kind": int(spec.kind),
        "serial": spec.serial,
        "data_root": root.hex(),
        "parent_leaf": spec.parent.hex(),
        "status": "ACTIVE",
        **spec.extra,
    }
    pdf = embed_metadata(pdf, metadata, METADATA_FILE)
    signed = sign_pdf(
        pdf,
        SignerConfig(
            credentials=spec.creds,
            reason=f"{ltype.name} {spec.identifier}",
            location=agency.region_name,
        ),
    )
    leaf = LeafInput(
        key, document_digest(signed), root, spec.kind, spec.parent, agency_code=agency.code
    )
    return _Document(signed, metadata, leaf, {k: v.hex() for k, v in salts.items()}, qr)


def pdf_name(ident: LicenceIdentifier, leaf: LeafInput) -> str:
    """File name unique per content, so two writers racing for a serial never share a file."""
    return f"{ident}-{leaf.document_digest.hex()[:12]}"


def write_pdf(directory: Path, name: str, data: bytes) -> Path:
    """Write durably: temp file, fsync, rename."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.pdf"
    tmp = path.with_suffix(".pdf.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def issue(rt: Runtime, req: IssueRequest, attempts: int = 5) -> IssuedDocument:
    """Issue version 1 of a new licence; returns once it is durably recorded (not anchored)."""
    ltype, holder_name, holder_id, fields = _validate(req)
    today = datetime.now(UTC).date()
    start, end = _validity(req, ltype, today)
    values = face_values(ltype, holder_name, holder_id, start, end, fields)
    with rt.sessions() as s:
        agency = rt.agency(s, req.agency_code)
    creds = rt.agency_credentials(agency.code)
    for attempt in range(attempts):
        try:
            with rt.sessions.begin() as s:
                serial = _next_serial(s, agency.id, ltype.code)
                ident = LicenceIdentifier.create(ltype.code, agency.code, serial)
                spec = DocumentSpec(agency, creds, ltype, ident, values, fields, today, start, end)
                doc = build_document(rt, spec)
                path = write_pdf(rt.settings.pdf_dir, pdf_name(ident, doc.leaf), doc.pdf)
                licence = Licence(
                    base_id=ident.base, type_code=ltype.code, agency_id=agency.id, serial=serial,
                    holder_name=holder_name, holder_id_type=ltype.holder_id_type,
                    holder_id=holder_id, current_version=1,
                )  # fmt: skip
                s.add(licence)
                s.flush()
                version = version_row(licence.id, ident, doc, values, today, start, end, path)
                s.add(version)
                s.flush()
                s.add(OutboxEntry.of(doc.leaf, agency.id, version_id=version.id))
                oplog.record(s, "issue", str(ident), type=ltype.code, agency=agency.code)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            continue  # another writer took the serial: take the next one
        return IssuedDocument(
            licence_id=str(ident),
            base_id=ident.base,
            version=1,
            pdf_path=path,
            document_digest=doc.leaf.document_digest.hex(),
            leaf=doc.leaf.leaf().hex(),
        )
    raise AssertionError("unreachable")


def _next_serial(s: Session, agency_id: int, type_code: str) -> int:
    current = s.scalar(
        select(func.max(Licence.serial)).where(
            Licence.agency_id == agency_id, Licence.type_code == type_code
        )
    )
    return int(current or 0) + 1


def version_row(
    licence_id: int, ident: LicenceIdentifier, doc: _Document, values: dict[str, str],
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
