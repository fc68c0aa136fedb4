"""The licence lifecycle: amendments, status changes, copies, inspections, joint reviews,
field checks and history."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse

from licence_service.api.bounds import RowId
from licence_service.api.deps import (
    Issuer,
    LicenceIssuer,
    LicenceReader,
    RuntimeDep,
    Staff,
    WindowStaff,
)
from licence_service.api.routers.licences import ERRORS
from licence_service.api.schemas import (
    AmendIn,
    ApproveIn,
    AttachmentOut,
    CopyIn,
    FieldCheckIn,
    FieldCheckOut,
    FieldProofIn,
    FieldProofOut,
    InspectionIn,
    IssuedOut,
    StatusIn,
    UpgradeIn,
)
from licence_service.domain.states import ReviewState
from licence_service.services import (
    Amendment,
    ReasonCode,
    StatusResult,
    amend_licence,
    apply_action,
    approve,
    check_field,
    licence_history,
    make_copy,
    pdf_path,
    record_inspection,
    reviews,
    submit_copy,
    upgrade_to_b,
)
from licence_service.services.disclosure import disclose, ensure_full_pdf
from verifier.fields import check_field_proof
from verifier.leaves import LeafKind, attachment_identifier

router = APIRouter(tags=["lifecycle"])


@router.post("/licences/{licence_id}/amend", status_code=201, response_model=IssuedOut,
             responses=ERRORS)  # fmt: skip
def amend_endpoint(
    licence_id: str, body: AmendIn, rt: RuntimeDep, request: Request, _: LicenceIssuer
) -> IssuedOut:
    """Create version N+1; the previous version becomes SUPERSEDED once both are anchored."""
    amendment = Amendment(body.fields, body.category, body.reason, body.valid_until)
    doc = amend_licence(rt, licence_id, amendment, wait=body.wait)
    pdf_url = str(request.url_for("download_pdf", licence_id=doc.licence_id))
    return IssuedOut.model_validate({**vars(doc), "pdf_url": pdf_url})


@router.post("/licences/{licence_id}/status", response_model=StatusResult, responses=ERRORS)
def status_endpoint(
    licence_id: str, body: StatusIn, rt: RuntimeDep, person: LicenceIssuer
) -> StatusResult:
    """Suspend, reinstate, revoke, cancel (may open a joint review) or report lost."""
    res = apply_action(rt, licence_id, body.action, body.reason, body.code, actor=person.label)
    return res


@router.get("/licences/{licence_id}/history", responses=ERRORS)
def history_endpoint(licence_id: str, rt: RuntimeDep, person: LicenceReader) -> dict[str, Any]:
    """Versions, GB/T 36903-style metadata, status changes, attachments and a timeline; the
    holder's personal data masked unless the caller is an issuer of the licence's agency."""
    full = disclose(rt, person, licence_id, "GET /api/v1/licences/{licence_id}/history")
    return licence_history(rt, licence_id, full)


@router.post("/licences/{licence_id}/copies", status_code=201, response_model=AttachmentOut,
             responses=ERRORS)  # fmt: skip
def copy_endpoint(
    licence_id: str, body: CopyIn, rt: RuntimeDep, request: Request, person: LicenceIssuer
) -> AttachmentOut:
    """A use-specific copy (加注件) for one purpose and recipient, at most 90 days."""
    res = make_copy(rt, licence_id, body.purpose, body.recipient, body.valid_until,
                    actor=person.label)  # fmt: skip
    serial = int(res.identifier.rsplit("/C", 1)[1])
    url = request.url_for("copy_pdf", licence_id=res.identifier.split("/")[0], serial=serial)
    return AttachmentOut(identifier=res.identifier, kind=res.kind, leaf=res.leaf,
                         valid_until=res.valid_until, pdf_url=str(url))  # fmt: skip


def _copy_id(licence_id: str, serial: int) -> str:
    return attachment_identifier(licence_id, LeafKind.COPY, serial)


@router.get("/licences/{licence_id}/copies/{serial}/pdf", response_class=FileResponse,
            responses={200: {"content": {"application/pdf": {}}}, **ERRORS})  # fmt: skip
def copy_pdf(licence_id: str, serial: RowId, rt: RuntimeDep, person: LicenceReader) -> FileResponse:
    """The signed PDF of a use-specific copy (personal data in full: issuers of the agency)."""
    ident = _copy_id(licence_id, serial)
    ensure_full_pdf(rt, person, ident, "GET /api/v1/licences/{licence_id}/copies/{serial}/pdf")
    return FileResponse(pdf_path(rt, ident), media_type="application/pdf",
                        filename=f"{ident.replace('/', '-')}.pdf")  # fmt: skip


@router.post("/licences/{licence_id}/copies/{serial}/revoke", response_model=StatusResult,
             responses=ERRORS)  # fmt: skip
def revoke_copy(
    licence_id: str, serial: RowId, body: StatusIn, rt: RuntimeDep, person: LicenceIssuer
) -> StatusResult:
    """Revoke one copy; the licence itself is untouched."""
    res = apply_action(rt, _copy_id(licence_id, serial), "revoke", body.reason,
                       body.code or ReasonCode.OTHER, actor=person.label)  # fmt: skip
    return res


@router.post("/licences/{licence_id}/inspections", status_code=201,
             response_model=AttachmentOut, responses=ERRORS)  # fmt: skip
def inspection_endpoint(
    licence_id: str, body: InspectionIn, rt: RuntimeDep, person: LicenceIssuer
) -> AttachmentOut:
    """Attach an annual inspection (年检) result to the current version; anchored."""
    res = record_inspection(rt, licence_id, body.year, body.result, body.note,
                            actor=person.label)  # fmt: skip
    return AttachmentOut(identifier=res.identifier, kind=res.kind, leaf=res.leaf,
                         valid_until=None)  # fmt: skip


@router.get("/reviews", responses=ERRORS)
def reviews_endpoint(
    rt: RuntimeDep, _: Staff, state: str | None = ReviewState.PENDING
) -> list[Any]:
    """Joint reviews (pending by default) with approvals given and still needed."""
    return reviews(rt, state)


@router.post("/reviews/{review_id}/approve", response_model=StatusResult, responses=ERRORS)
def approve_endpoint(
    review_id: RowId, body: ApproveIn, rt: RuntimeDep, person: Issuer
) -> StatusResult:
    """An issuer approves for their own agency (one of the review's named agencies); the
    last required approval executes the operation."""
    return approve(rt, review_id, person, body.note)


@router.post("/licences/{licence_id}/check", response_model=FieldCheckOut, responses=ERRORS)
def field_check_endpoint(
    licence_id: str, body: FieldCheckIn, rt: RuntimeDep, person: LicenceReader
) -> FieldCheckOut:
    """Does this field of the current version equal the value? A proof comes with `true`.
    Counted as a read of the licence (read log, enumeration limit)."""
    disclose(rt, person, licence_id, "POST /api/v1/licences/{licence_id}/check")
    return FieldCheckOut.model_validate(asdict(check_field(rt, licence_id, body.field,
                                                           body.value)))  # fmt: skip


@router.post("/verify/field-proof", response_model=FieldProofOut, responses=ERRORS)
def field_proof_endpoint(body: FieldProofIn, rt: RuntimeDep) -> FieldProofOut:
    """Check a field proof against the chain (public: it discloses nothing new)."""
    rt.indexer.sync()
    res = check_field_proof(dict(body.proof), rt.index)
    return FieldProofOut.model_validate({"ok": res.ok, "checks": [asdict(c) for c in res.checks]})


@router.post("/submissions", status_code=201, responses=ERRORS)
def submit_endpoint(
    rt: RuntimeDep,
    _: WindowStaff,
    image: Annotated[UploadFile, File(description="PNG or JPEG picture of the original")],
    title: Annotated[str, Form()],
    holder_name: Annotated[str, Form()],
    holder_id: Annotated[str, Form()],
    grade: Annotated[str, Form(description="C or D")] = "C",
) -> dict[str, Any]:
    """A holder's copy taken in at the window: stamped grade C or D, not anchored."""
    res = submit_copy(rt, image.file.read(), title, holder_name, holder_id, grade)
    return {"submission_id": res.submission_id, "grade": res.grade}


@router.post("/submissions/{submission_id}/upgrade", responses=ERRORS)
def upgrade_endpoint(
    submission_id: RowId, body: UpgradeIn, rt: RuntimeDep, person: WindowStaff
) -> dict[str, Any]:
    """Checked against the original by the calling window staff: the grade-B copy names them
    and their agency, signed by that agency and anchored."""
    staff = f"{person.display_name} ({person.label})"
    res = upgrade_to_b(rt, submission_id, staff, body.valid_until, person.agency_code)
    return {"submission_id": submission_id, "grade": "B", "identifier": res.identifier,
            "valid_until": res.valid_until}  # fmt: skip
