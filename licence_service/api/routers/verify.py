"""Verification: anyone holding a licence file or its QR code may check it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from licence_service.api.deps import RuntimeDep
from licence_service.api.schemas import ErrorOut, QrIn, VerificationOut
from licence_service.services import verify_pdf, verify_qr
from verifier.verdicts import VerificationResult

router = APIRouter(prefix="/verify", tags=["verify"])
ERRORS: dict[int | str, dict[str, object]] = {422: {"model": ErrorOut}, 503: {"model": ErrorOut}}
MAX_PDF_BYTES = 20 * 1024 * 1024


def to_out(result: VerificationResult) -> VerificationOut:
    data = result.to_json()
    data["current_version"] = result.extra.get("current_version")
    return VerificationOut.model_validate(data)


@router.post("/pdf", response_model=VerificationOut, responses=ERRORS)
def verify_pdf_endpoint(
    rt: RuntimeDep,
    file: Annotated[UploadFile, File(description="The licence PDF")],
    at: Annotated[datetime | None, Form(description="Verify as of this time")] = None,
) -> VerificationOut:
    """Verdict for an uploaded licence PDF (200 for every verdict, VALID or not)."""
    from licence_service.domain.errors import InvalidInputError

    data = file.file.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise InvalidInputError("the file is larger than 20 MiB", field="file")
    return to_out(verify_pdf(rt, data, at))


@router.post("/qr", response_model=VerificationOut, responses=ERRORS)
def verify_qr_endpoint(body: QrIn, rt: RuntimeDep) -> VerificationOut:
    """Verdict for a scanned QR payload."""
    return to_out(verify_qr(rt, body.payload, body.at))
