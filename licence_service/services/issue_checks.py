"""Every problem of an issue request at once, keyed by field: what a form shows beside each
input. :func:`issue.issue` stops at the first problem (enough for the CLI and the API); a
person at a form wants to fix them all in one go. The checks are the same ones (the licence
type's field specs and the national ID check characters), so the two never disagree."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import FieldValidationError, get_licence_type
from licence_service.domain.national_ids import HolderIdType, IdentifierError, validate_holder_id
from licence_service.services.face_checks import face_layout_error, face_text_errors
from licence_service.services.issue import IssueRequest, holder_contact, validity

__all__ = ["field_errors"]


def field_errors(req: IssueRequest) -> dict[str, str]:
    """``{field: message}`` for every field of ``req`` that :func:`issue` would refuse."""
    try:
        ltype = get_licence_type(req.type_code)
    except FieldValidationError as exc:
        return {"type_code": exc.message}
    errors: dict[str, str] = {}
    holder_name = req.holder_name.strip()
    if not holder_name:
        errors["holder_name"] = "holder_name is empty: give the holder's name"
    try:
        holder_id = validate_holder_id(ltype.holder_id_type, req.holder_id, "holder_id")
    except IdentifierError as exc:
        errors["holder_id"] = exc.message
        holder_id = req.holder_id
    fields, problems = ltype.check_fields(req.fields, blank_is_absent=True)
    errors |= problems
    errors |= face_text_errors({"holder_name": holder_name, **fields})
    if not errors:
        label = HolderIdType(ltype.holder_id_type).label
        layout = face_layout_error(holder_name, label, holder_id, fields)
        if layout is not None:
            errors[layout.field or "holder_name"] = str(layout)
    for alone in (replace(req, holder_phone=None), replace(req, holder_email=None)):
        try:  # each contact on its own, so both errors are shown at once
            holder_contact(alone)
        except InvalidInputError as exc:
            errors[exc.field or "holder_email"] = str(exc)
    try:
        validity(req, ltype, datetime.now(UTC).date())
    except InvalidInputError as exc:
        errors[exc.field or "valid_until"] = str(exc)
    return errors
