"""Building one signed document: commit the fields, sign the QR claims, render, seal, leaf.

Every anchored document goes through the same five steps, whatever its page looks like: a
licence version or a use-specific copy (the licence face) and a grade-B checked copy (the
holder's picture). ``build_document`` and ``build_checked_copy`` differ only in what they put
on the page; ``_seal`` is the one place that embeds the metadata, signs and computes the leaf.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from licence_service.documents.face import LicenceFace, RenderOptions, render_licence_pdf
from licence_service.documents.scan import render_scan_pdf
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import LicenceType
from licence_service.domain.national_ids import HolderIdType
from licence_service.domain.trust_grades import TrustGrade, watermark_text
from signing.credentials import Credentials, credentials_suite
from signing.pades import SignerConfig, sign_pdf
from verifier.leaves import (
    ZERO,
    LeafInput,
    LeafKind,
    attachment_identifier,
    document_digest,
    fields_root,
    lookup_key,
)
from verifier.metadata import METADATA_FILE, LicenceMetadata
from verifier.qr import QrClaims, encode_token, token_url
from verifier.references import mask_name


class IssuingAgency(Protocol):
    """What a document needs to know of the agency that signs it."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def region_code(self) -> int: ...
    @property
    def region_name(self) -> str: ...


@dataclass(frozen=True)
class BuiltDocument:
    """A signed PDF with its metadata, pending leaf, field salts and QR payload."""

    pdf: bytes
    metadata: LicenceMetadata
    leaf: LeafInput
    salts: dict[str, str]
    qr_payload: str


@dataclass(frozen=True)
class DocumentSpec:
    """Everything that goes into one signed licence document: a version, or a copy of one."""

    agency: IssuingAgency
    creds: Credentials
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


@dataclass(frozen=True)
class CheckedCopySpec:
    """A holder's picture of a licence, checked against the original by window staff."""

    agency: IssuingAgency
    creds: Credentials
    submission_id: int
    image: bytes
    title: str
    holder_name: str
    holder_id: str
    staff: str
    checked_at: str  # ISO time, seconds
    checked_at_label: str  # as printed on the stamp
    valid_from: date
    valid_until: date

    @property
    def base(self) -> str:
        return f"LLSUB.{self.agency.region_code}.{self.submission_id:07d}"

    @property
    def identifier(self) -> str:
        return attachment_identifier(f"{self.base}.001.0", LeafKind.CHECKED, 1)


@dataclass(frozen=True)
class _Claimed:
    """The committed fields of a document and its agency-signed QR claims."""

    salts: dict[str, bytes]
    root: bytes
    claims: QrClaims
    token: str
    qr: str


def _claim(
    public_url: str, agency: IssuingAgency, creds: Credentials, committed: dict[str, str],
    identifier: str, valid_until: date, type_code: str, holder_name: str,
) -> _Claimed:  # fmt: skip
    salts = {k: secrets.token_bytes(16) for k in committed}
    root = fields_root(committed, salts)
    claims = QrClaims(
        identifier=identifier,
        data_root_prefix=root.hex()[:16],
        valid_until=valid_until,
        issuer_code=agency.code,
        region=agency.region_code,
        type_code=type_code,
        holder_masked=mask_name(holder_name),
    )
    token = encode_token(claims, creds.key)
    return _Claimed(salts, root, claims, token, token_url(public_url, token))


def _seal(
    pdf: bytes, meta: LicenceMetadata, claimed: _Claimed, key: bytes, creds: Credentials,
    reason: str, location: str | None, agency_code: str,
) -> BuiltDocument:  # fmt: skip
    """Embed the metadata, sign (PAdES), and compute the leaf of the signed bytes."""
    signed = sign_pdf(
        pdf,
        SignerConfig(credentials=creds, reason=reason, location=location),
        metadata=meta.to_json(),
        metadata_file=METADATA_FILE,
    )
    digest = document_digest(signed, credentials_suite(creds))
    leaf = LeafInput(
        key, digest, claimed.root, LeafKind(meta.kind),
        bytes.fromhex(meta.parent_leaf), agency_code=agency_code,
    )  # fmt: skip
    salts = {k: v.hex() for k, v in claimed.salts.items()}
    return BuiltDocument(signed, meta, leaf, salts, claimed.qr)


def build_document(public_url: str, spec: DocumentSpec) -> BuiltDocument:
    """Render the licence face, watermark, embed metadata, sign; compute the leaf."""
    agency, ltype, ident = spec.agency, spec.ltype, spec.ident
    claimed = _claim(
        public_url, agency, spec.creds, {**spec.values, **spec.extra}, spec.identifier,
        spec.valid_until, ltype.code, spec.values["holder_name"],
    )  # fmt: skip
    holder_type = HolderIdType(ltype.holder_id_type)
    face = LicenceFace(
        type_name=ltype.name, type_code=ltype.code, identifier=spec.identifier,
        holder_name=spec.values["holder_name"], holder_id=spec.values["holder_id"],
        holder_id_type=holder_type.label, issuer_name=agency.name, issuer_code=agency.code,
        issue_date=spec.issue_date, valid_from=spec.start, valid_until=spec.end,
        version=ident.version, fields=tuple(spec.type_fields.items()),
    )  # fmt: skip
    pdf = render_licence_pdf(
        face,
        RenderOptions(
            watermark=watermark_text(spec.grade, agency.name, spec.valid_until),
            qr_payload=claimed.qr,
            seal_label=f"{agency.name}(电子印章)",
            annotation=spec.annotation,
        ),
    )
    meta = LicenceMetadata(
        licence_id=spec.identifier, base_id=ident.base, version=ident.version,
        issuer_name=agency.name, issuer_code=agency.code, region_code=agency.region_code,
        valid_from=spec.start.isoformat(), valid_until=spec.valid_until.isoformat(),
        data_root=claimed.root.hex(), qr_token=claimed.token, type_name=ltype.name,
        holder_name=spec.values["holder_name"], trust_grade=str(spec.grade),
        kind=int(spec.kind), serial=spec.serial, parent_leaf=spec.parent.hex(),
        type_code=ltype.code, holder_id=spec.values["holder_id"],
        holder_id_type=str(holder_type), defining_authority=agency.name,
        jurisdiction=str(agency.region_code), issue_date=spec.issue_date.isoformat(),
        licence_valid_until=spec.end.isoformat(), fields=spec.type_fields, status="ACTIVE",
        extra=spec.extra,
    )  # fmt: skip
    key = lookup_key(ident.base, ident.version, spec.kind, spec.serial, claimed.claims.message())
    return _seal(pdf, meta, claimed, key, spec.creds, f"{ltype.name} {spec.identifier}",
                 agency.region_name, agency.code)  # fmt: skip


def build_checked_copy(public_url: str, spec: CheckedCopySpec) -> BuiltDocument:
    """The grade-B document: the holder's picture with the B wording, signed and anchorable."""
    agency, staff = spec.agency, spec.staff
    committed = {
        "title": spec.title, "holder_name": spec.holder_name, "holder_id": spec.holder_id,
        "image_sha256": document_digest(spec.image).hex(), "checked_by": staff,
        "checked_at": spec.checked_at, "valid_until": spec.valid_until.isoformat(),
    }  # fmt: skip
    claimed = _claim(public_url, agency, spec.creds, committed, spec.identifier,
                     spec.valid_until, "B", spec.holder_name)  # fmt: skip
    options = RenderOptions(
        watermark=watermark_text(TrustGrade.B, valid_until=spec.valid_until),
        qr_payload=claimed.qr,
        annotation=(("核对人", staff), ("核对机构", agency.name),
                    ("核对时间", spec.checked_at_label)),
    )  # fmt: skip
    lines = (("持有人", spec.holder_name), ("证件号码", spec.holder_id), ("信任等级", "B"))
    pdf = render_scan_pdf(spec.image, spec.title, options, lines)
    meta = LicenceMetadata(
        licence_id=spec.identifier, base_id=spec.base, version=1, issuer_name=agency.name,
        issuer_code=agency.code, region_code=agency.region_code,
        valid_from=spec.valid_from.isoformat(), valid_until=spec.valid_until.isoformat(),
        data_root=claimed.root.hex(), qr_token=claimed.token, type_name=spec.title,
        holder_name=spec.holder_name, trust_grade="B", kind=int(LeafKind.CHECKED), serial=1,
        extra={"made_by": staff, "made_at": spec.checked_at, "purpose": "与原件核对无误"},
    )  # fmt: skip
    key = lookup_key(spec.base, 1, LeafKind.CHECKED, 1, claimed.claims.message())
    return _seal(pdf, meta, claimed, key, spec.creds, f"与原件核对无误 {spec.identifier}",
                 None, agency.code)  # fmt: skip


def pdf_name(ident: LicenceIdentifier, leaf: LeafInput) -> str:
    """File name unique per content, so two writers racing for a serial never share a file."""
    return f"{ident}-{leaf.document_digest.hex()[:12]}"


def write_pdf(directory: Path, name: str, data: bytes, fsync: bool = True) -> Path:
    """Write durably: temp file, fsync (unless ``fsync`` is False: a bulk import's own
    choice), rename; a reader never sees half a PDF, and a failed write leaves none."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.pdf"
    tmp = path.with_suffix(".pdf.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half a PDF behind
        if exc.filename is None:  # write() and fsync() name no file: say which one
            exc.filename = str(tmp)
        raise
    return path
