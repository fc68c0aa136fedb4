"""Documents derived from a licence version, each anchored as its own child leaf.

- use-specific copies (加注件): a signed copy stamped with purpose, maker, time and expiry;
  the recipient is committed as a hash; revocable on its own; at most 90 days; the purpose
  free text of :data:`PURPOSE_CHARS` characters;
- annual inspections (年检): a result attached to a version, not a new version;
- joint-review approvals: one agency's approval of a high-risk operation.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.documents.builder import DocumentSpec, build_document, write_pdf
from licence_service.domain.errors import ConflictError, InvalidInputError
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import CORE_FIELDS, get_licence_type
from licence_service.domain.printable import unprintable
from licence_service.domain.states import UNKNOWN
from licence_service.region.runtime import Runtime
from licence_service.region.storage import writing_files
from licence_service.services.anchor_step import anchor
from licence_service.store.idempotency import bind_answer
from licence_service.store.models import Agency, Attachment, Licence, LicenceVersion, OutboxEntry
from licence_service.store.queries import find_licence
from verifier.leaves import (
    LeafInput,
    LeafKind,
    attachment_identifier,
    fields_root,
    lookup_key,
)

MAX_COPY_DAYS = 90
# The sources name what a copy carries (purpose, maker, time, expiry of at most 90 days), not a
# list of purposes: the purpose is free text stamped on the copy's face, so it is bounded like a
# face value (a short phrase, nothing invisible) rather than chosen from a list we would invent.
PURPOSE_CHARS = (2, 60)
RECIPIENT_CHARS = (2, 100)


def check_copy_text(field: str, value: str, bounds: tuple[int, int]) -> str:
    """``value`` stripped, if it is a printable phrase of ``bounds`` characters; otherwise an
    ``InvalidInputError`` naming ``field``."""
    text = " ".join(value.split())
    low, high = bounds
    what = "what the copy is for" if field == "purpose" else "who receives the copy"
    if not low <= len(text) <= high:
        raise InvalidInputError(
            f"{field} has {len(text)} characters: say {what} in {low} to {high} characters "
            "(it is stamped on the copy)",
            field=field,
        )
    problem = unprintable(field, text)
    if problem:
        raise InvalidInputError(problem, field=field)
    return text


def copy_cap() -> int:
    """Live copies allowed per licence (``LICLEDGER_COPY_CAP``, default 5)."""
    raw = os.environ.get("LICLEDGER_COPY_CAP", "5")
    try:
        return max(1, int(raw))
    except ValueError:
        raise InvalidInputError(f"LICLEDGER_COPY_CAP={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class AttachmentResult:
    identifier: str
    kind: str
    leaf: str
    pdf_path: str | None
    valid_until: date | None
    data: dict[str, str]


def _next_serial(s: Session, version_id: int, kind: LeafKind) -> int:
    current = s.scalar(
        select(func.max(Attachment.serial)).where(
            Attachment.version_id == version_id, Attachment.kind == int(kind)
        )
    )
    return int(current or 0) + 1


def _record(
    s: Session,
    version: LicenceVersion,
    agency: Agency,
    kind: LeafKind,
    serial: int,
    data: dict[str, str],
    salts: dict[str, str],
    leaf: LeafInput,
    pdf_path: str | None,
    valid_until: date | None,
    actor: str,
) -> AttachmentResult:
    identifier = attachment_identifier(version.identifier, kind, serial)
    row = Attachment(
        version_id=version.id, kind=int(kind), serial=serial, identifier=identifier,
        data_json=json.dumps(data, ensure_ascii=False), salts_json=json.dumps(salts),
        data_root=leaf.data_root, document_digest=leaf.document_digest, pdf_path=pdf_path,
        key=leaf.key, leaf=leaf.leaf(), parent_leaf=leaf.parent, valid_until=valid_until,
        created_by=actor,
    )  # fmt: skip
    s.add(row)
    s.flush()
    s.add(OutboxEntry.of(leaf, agency.id, attachment_id=row.id))
    oplog.record(s, f"attach:{kind.name}", identifier)
    return AttachmentResult(identifier, kind.name, leaf.leaf().hex(), pdf_path, valid_until, data)


def _current(s: Session, licence_id: str) -> tuple[Licence, LicenceVersion]:
    licence = find_licence(s, licence_id)
    return licence, licence.versions[-1]


def make_copy(
    rt: Runtime,
    licence_id: str,
    purpose: str,
    recipient: str,
    valid_until: date,
    actor: str = "",
) -> AttachmentResult:
    """A watermarked, signed copy of the current version for one purpose and recipient."""
    purpose = check_copy_text("purpose", purpose, PURPOSE_CHARS)
    recipient = check_copy_text("recipient", recipient, RECIPIENT_CHARS)
    now = datetime.now(UTC)
    today = now.date()
    if valid_until <= today:
        raise InvalidInputError(f"valid_until {valid_until} must be after today", "valid_until")
    if valid_until > today + timedelta(days=MAX_COPY_DAYS):
        raise InvalidInputError(
            f"a use-specific copy is valid for at most {MAX_COPY_DAYS} days "
            f"(until {today + timedelta(days=MAX_COPY_DAYS)} at the latest)",
            field="valid_until",
        )
    with writing_files(rt.settings) as written, rt.sessions.begin() as s:
        licence, version = _current(s, licence_id)
        if licence.status != "ACTIVE":
            raise ConflictError(
                f"{version.identifier} is {licence.status}; copies are made only of an active "
                "licence",
                field="licence_id",
            )
        valid_until = min(valid_until, version.valid_until)
        live = s.scalar(
            select(func.count())
            .select_from(Attachment)
            .join(LicenceVersion, LicenceVersion.id == Attachment.version_id)
            .where(
                LicenceVersion.licence_id == licence.id,
                Attachment.kind == int(LeafKind.COPY),
                Attachment.status == "ACTIVE",
                Attachment.valid_until >= today,
            )
        )
        cap = copy_cap()
        if int(live or 0) >= cap:
            raise ConflictError(
                f"{licence.base_id} already has {live} live copies (cap {cap}); revoke one or "
                "wait until one expires",
                field="licence_id",
            )
        agency = licence.agency
        ltype = get_licence_type(licence.type_code)
        values = json.loads(version.fields_json)
        type_fields = {k: v for k, v in values.items() if k not in CORE_FIELDS}
        serial = _next_serial(s, version.id, LeafKind.COPY)
        made_by = actor or agency.name
        extra = {
            "purpose": purpose,
            "recipient_sha256": hashlib.sha256(recipient.encode()).hexdigest(),
            "made_by": made_by,
            "made_at": now.isoformat(timespec="seconds"),
        }
        spec = DocumentSpec(
            agency=agency,
            creds=rt.agency_credentials(agency.code),
            ltype=ltype,
            ident=LicenceIdentifier.parse(version.identifier),
            values=values,
            type_fields=type_fields,
            issue_date=today,
            start=version.valid_from,
            end=version.valid_until,
            parent=version.leaf,
            kind=LeafKind.COPY,
            serial=serial,
            extra={**extra, "recipient": recipient},
            expires=valid_until,
            annotation=(
                ("用途", purpose),
                ("使用方", recipient),
                ("制作", made_by),
                ("制作时间", now.strftime("%Y-%m-%d %H:%M UTC")),
                ("有效期至", f"{valid_until.year}年{valid_until.month}月{valid_until.day}日"),
            ),
        )
        doc = build_document(rt.settings.public_url, spec)
        name = f"{spec.identifier.replace('/', '-')}-{doc.leaf.document_digest.hex()[:12]}"
        path = write_pdf(rt.settings.pdf_dir, name, doc.pdf)
        written.append(path)
        result = _record(
            s, version, agency, LeafKind.COPY, serial, {**values, **extra, "recipient": recipient},
            dict(doc.salts), doc.leaf, str(path), valid_until, made_by,
        )  # fmt: skip
        bind_answer(s, result)  # the request's Idempotency-Key, if any: a retry gets this copy
    anchor(rt, [result.leaf])
    return result


def _record_without_pdf(
    rt: Runtime,
    s: Session,
    version: LicenceVersion,
    agency: Agency,
    kind: LeafKind,
    data: dict[str, str],
    actor: str,
) -> AttachmentResult:
    """An attachment that is a record, not a document: its digest is of its canonical JSON."""
    serial = _next_serial(s, version.id, kind)
    identifier = attachment_identifier(version.identifier, kind, serial)
    salts = {k: secrets.token_bytes(16) for k in data}
    canonical = json.dumps({"identifier": identifier, **data}, sort_keys=True, ensure_ascii=False)
    base = LicenceIdentifier.parse(version.identifier).base
    leaf = LeafInput(
        key=lookup_key(base, version.version, kind, serial),
        document_digest=hashlib.sha256(canonical.encode()).digest(),
        data_root=fields_root(data, salts),
        kind=kind,
        parent=version.leaf,
        agency_code=agency.code,
    )
    return _record(
        s, version, agency, kind, serial, data, {k: v.hex() for k, v in salts.items()},
        leaf, None, None, actor,
    )  # fmt: skip


def record_inspection(
    rt: Runtime, licence_id: str, year: int, result: str, note: str = "", actor: str = ""
) -> AttachmentResult:
    """Attach an annual inspection (年检) result to the current version."""
    this_year = datetime.now(UTC).year
    if not 1990 <= year <= this_year:
        raise InvalidInputError(f"year {year} must be between 1990 and {this_year}", "year")
    if not result.strip():
        raise InvalidInputError("result is empty, e.g. 合格 or 不合格", field="result")
    with rt.sessions.begin() as s:
        licence, version = _current(s, licence_id)
        if licence.status in ("REVOKED", "CANCELLED"):
            raise ConflictError(f"{version.identifier} is {licence.status}", "licence_id")
        done = s.scalars(
            select(Attachment.data_json).where(
                Attachment.version_id == version.id,
                Attachment.kind == int(LeafKind.INSPECTION),
            )
        ).all()
        if any(json.loads(d).get("year") == str(year) for d in done):
            raise ConflictError(f"the {year} inspection is already recorded", field="year")
        data = {"year": str(year), "result": result.strip(), "note": note.strip()}
        recorded = _record_without_pdf(
            rt, s, version, licence.agency, LeafKind.INSPECTION, data, actor or "inspector"
        )
        bind_answer(s, recorded)  # the request's Idempotency-Key, if any
    anchor(rt, [recorded.leaf])
    return recorded


def record_approval(
    rt: Runtime, s: Session, licence: Licence, approver: Agency, data: dict[str, str]
) -> tuple[int, AttachmentResult]:
    """Anchor one agency's approval as a child leaf of the current version (by that agency)."""
    version = licence.versions[-1]
    res = _record_without_pdf(rt, s, version, approver, LeafKind.APPROVAL, data, approver.name)
    row = s.scalar(select(Attachment).where(Attachment.identifier == res.identifier))
    assert row is not None
    return row.id, res


def attachments_of(rt: Runtime, licence_id: str) -> list[dict[str, object]]:
    """Every attachment of every version of a licence, oldest first."""
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        rows = s.scalars(
            select(Attachment)
            .join(LicenceVersion, LicenceVersion.id == Attachment.version_id)
            .where(LicenceVersion.licence_id == licence.id)
            .order_by(Attachment.id)
        ).all()
        out: list[dict[str, object]] = []
        for a in rows:
            data = json.loads(a.data_json)
            data.pop("recipient", None)  # personal data of the recipient stays in the PDF only
            shown = {k: v for k, v in data.items() if k not in CORE_FIELDS and k not in
                     json.loads(a.version.fields_json)}  # fmt: skip
            out.append({
                "identifier": a.identifier, "kind": LeafKind(a.kind).name, "status": a.status,
                "valid_until": a.valid_until.isoformat() if a.valid_until else None,
                "created_at": a.created_at.isoformat(), "data": shown,
                "anchor_state": _anchor_state(s, a.leaf),
            })  # fmt: skip
        return out


def _anchor_state(s: Session, leaf: bytes) -> str:
    state = s.scalar(select(OutboxEntry.state).where(OutboxEntry.leaf == leaf))
    return state or UNKNOWN
