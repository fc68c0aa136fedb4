"""Amendments: a change never overwrites, it creates version N+1 with its own signed PDF.

The old version stays stored and checkable; once both are anchored the worker links them
on-chain (parent → child), so a verifier holding only the chain can walk from any version to
the current one. Corrections are amendments with their own category; re-issuing a licence
reported lost is an amendment of category ``reissue``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from licence_service.audit import oplog
from licence_service.documents.builder import DocumentSpec, build_document, pdf_name, write_pdf
from licence_service.domain.errors import ConflictError, InvalidInputError
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import CORE_FIELDS, FieldValidationError, get_licence_type
from licence_service.domain.states import LinkState
from licence_service.region.runtime import Runtime
from licence_service.region.storage import writing_files
from licence_service.services.issue import IssuedDocument, face_values, settle, version_row
from licence_service.store.idempotency import bind_result
from licence_service.store.models import Licence, LicenceVersion, OutboxEntry
from licence_service.store.queries import find_licence

CATEGORIES = {
    "change": "变更",
    "correction": "更正",
    "reissue": "补发",
}


@dataclass(frozen=True)
class Amendment:
    changes: dict[str, str]
    category: str = "change"
    reason: str = ""
    valid_until: date | None = None


def amend(rt: Runtime, licence_id: str, amendment: Amendment) -> IssuedDocument:
    """Create the next version of a licence; returns once recorded (anchoring comes after)."""
    if amendment.category not in CATEGORIES:
        raise InvalidInputError(
            f"change category {amendment.category!r} is not one of {', '.join(CATEGORIES)}",
            field="category",
        )
    if not amendment.changes and amendment.valid_until is None:
        raise InvalidInputError("nothing to change: give at least one --field", field="field")
    today = datetime.now(UTC).date()
    with writing_files(rt.settings) as written, rt.sessions.begin() as s:
        licence = find_licence(s, licence_id)
        current = licence.versions[-1]
        _check_state(licence, current, amendment.category)
        ltype = get_licence_type(licence.type_code)
        old = json.loads(current.fields_json)
        type_fields = {k: v for k, v in old.items() if k not in CORE_FIELDS}
        holder_name = amendment.changes.get("holder_name", old["holder_name"]).strip()
        type_changes = {k: v for k, v in amendment.changes.items() if k != "holder_name"}
        try:
            fields = ltype.validate_fields({**type_fields, **type_changes})
        except FieldValidationError as exc:
            raise InvalidInputError(str(exc), field=exc.field) from exc
        start = current.valid_from
        end = amendment.valid_until or current.valid_until
        if end <= start:
            raise InvalidInputError(f"valid_until {end} is not after {start}", "valid_until")
        values = face_values(ltype, holder_name, licence.holder_id, start, end, fields)
        if values == old and amendment.category != "reissue":  # 补发 re-issues the same face
            raise InvalidInputError("the amendment changes nothing", field="field")
        ident = LicenceIdentifier.parse(current.identifier).with_version(current.version + 1)
        agency = licence.agency
        creds = rt.agency_credentials(agency.code)
        spec = DocumentSpec(
            agency, creds, ltype, ident, values, fields, today, start, end, parent=current.leaf
        )
        doc = build_document(rt.settings.public_url, spec)
        path = write_pdf(rt.settings.pdf_dir, pdf_name(ident, doc.leaf), doc.pdf)
        written.append(path)
        row = version_row(licence.id, ident, doc, values, today, start, end, path)
        row.change_category = amendment.category
        row.change_reason = amendment.reason
        row.link_state = LinkState.PENDING
        s.add(row)
        s.flush()
        s.add(OutboxEntry.of(doc.leaf, agency.id, version_id=row.id))
        oplog.record(s, "amend", str(ident), category=amendment.category, reason=amendment.reason,
                     fields=sorted(amendment.changes))  # fmt: skip
        licence.current_version = row.version
        licence.holder_name = holder_name
        licence.status = "ACTIVE"
        amended = IssuedDocument(
            licence_id=str(ident), base_id=ident.base, version=ident.version, pdf_path=path,
            document_digest=doc.leaf.document_digest.hex(), leaf=doc.leaf.leaf().hex(),
        )  # fmt: skip
        bind_result(s, amended)  # the request's Idempotency-Key, if any: a retry never amends twice
    return amended


def _check_state(licence: Licence, current: LicenceVersion, category: str) -> None:
    status = licence.status
    if status == "REPORTED_LOST":
        if category != "reissue":
            raise ConflictError(
                f"{current.identifier} is reported lost; the only amendment is a re-issue "
                "(--category reissue)",
                field="category",
            )
        return
    if category == "reissue":
        raise ConflictError(
            f"{current.identifier} is {status}; re-issue applies only to a licence reported lost",
            field="category",
        )
    if status != "ACTIVE":
        hint = " (reinstate it first)" if status == "SUSPENDED" else ""
        raise ConflictError(
            f"{current.identifier} is {status}; it cannot be amended{hint}", field="licence_id"
        )


def amend_licence(
    rt: Runtime, licence_id: str, amendment: Amendment, wait: bool = True
) -> IssuedDocument:
    """The amendment use case: version N+1; with ``wait``, anchored before it returns."""
    return settle(rt, amend(rt, licence_id, amendment), wait)
