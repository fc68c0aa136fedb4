"""Licences: issue, read, download, revoke."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ledger_client.registry import LeafStatus
from licence_service.api.deps import (
    Issuer,
    LicenceIssuer,
    LicenceReader,
    RuntimeDep,
    ensure_agency,
)
from licence_service.api.schemas import (
    ErrorOut,
    IssuedOut,
    IssueIn,
    LicenceOut,
    RevokeIn,
    StatusOut,
)
from licence_service.services import issue_licence, licence_view, pdf_path
from licence_service.services.disclosure import disclose, ensure_full_pdf
from licence_service.services.issue import IssueRequest
from licence_service.services.status import change_status

router = APIRouter(prefix="/licences", tags=["licences"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422, 503)
}


@router.post("", status_code=201, response_model=IssuedOut, responses=ERRORS)
async def issue_endpoint(
    body: IssueIn, rt: RuntimeDep, request: Request, person: Issuer
) -> IssuedOut:
    """Issue a licence as a signed PDF; with `wait` (default) it returns once anchored.

    For the caller's own agency only (`agency_code` may be left out).
    """
    # Async, with the issuance itself in a worker thread: a sync endpoint's answer is
    # serialised in the thread pool too, where under a burst it queued behind every other
    # request's issuance and no answer went out until the burst was done.
    agency_code = body.agency_code or person.agency_code
    ensure_agency(person, agency_code, "the licence asked for")
    req = IssueRequest(
        type_code=body.type_code,
        holder_name=body.holder_name,
        holder_id=body.holder_id,
        fields=body.fields,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        agency_code=agency_code,
        holder_email=body.holder_email,
        holder_phone=body.holder_phone,
    )
    doc = await run_in_threadpool(partial(issue_licence, rt, req, wait=body.wait))
    pdf_url = str(request.url_for("download_pdf", licence_id=doc.licence_id))
    return IssuedOut.model_validate({**vars(doc), "pdf_url": pdf_url, **doc.extra})


@router.get("/{licence_id}", response_model=LicenceOut, responses=ERRORS)
def get_licence(licence_id: str, rt: RuntimeDep, person: LicenceReader) -> LicenceOut:
    """A licence with all its versions (by full identifier or base id); the holder's personal
    data masked unless the caller is an issuer of its agency (SECURITY.md, disclosure)."""
    full = disclose(rt, person, licence_id, "GET /api/v1/licences/{licence_id}")
    return LicenceOut.model_validate(licence_view(rt, licence_id, full))


@router.get(
    "/{licence_id}/pdf",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}}, **ERRORS},
)
def download_pdf(licence_id: str, rt: RuntimeDep, person: LicenceReader) -> FileResponse:
    """The signed PDF of a version (or of the current version for a base id): it carries the
    holder's personal data, so only for issuers of the licence's agency (403 for others)."""
    ensure_full_pdf(rt, person, licence_id, "GET /api/v1/licences/{licence_id}/pdf")
    path = pdf_path(rt, licence_id)
    return FileResponse(path, media_type="application/pdf", filename=f"{licence_id}.pdf")


@router.post("/{licence_id}/revoke", response_model=StatusOut, responses=ERRORS)
async def revoke(
    licence_id: str, body: RevokeIn, rt: RuntimeDep, person: LicenceIssuer
) -> StatusOut:
    """Revoke the licence's current version (terminal), anchored with its reason code."""
    res = await run_in_threadpool(
        change_status, rt, licence_id, LeafStatus.REVOKED, body.code, body.reason, person.label
    )
    return StatusOut.model_validate(res, from_attributes=True)
