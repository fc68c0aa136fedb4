"""Verification: anyone holding a licence file or its QR code may check it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from licence_service.api.deps import RuntimeDep
from licence_service.api.schemas import ErrorOut, QrIn, VerificationOut
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import type_name
from licence_service.services import verify_pdf, verify_qr, verify_qr_from_memory
from licence_service.services.presentation import verify_code
from licence_service.services.trust_list import trust_list
from verifier.presentation import is_presentation
from verifier.verdicts import VerificationResult

router = APIRouter(prefix="/verify", tags=["verify"])
trust_router = APIRouter(tags=["verify"])
ERRORS: dict[int | str, dict[str, object]] = {422: {"model": ErrorOut}, 503: {"model": ErrorOut}}
MAX_PDF_BYTES = 20 * 1024 * 1024
DIRECT = Query(
    description="Forced chain read: sync the index now and confirm the Merkle proof and the "
    "status against contract state (slower); by default the answer is from the server's "
    "in-memory index, as of the block named in the X-Index-Block header"
)


def _answer(result: VerificationResult) -> Response:
    """The verdict as ``VerificationOut`` JSON, saying which index it came from (see
    ``region.verifying``). Returned as a ready response: validated once here, not again and
    through ``jsonable_encoder`` by FastAPI."""
    response = Response(to_out(result).model_dump_json(), media_type="application/json")
    if "as_of_block" in result.extra:
        response.headers["X-Index-Block"] = str(result.extra["as_of_block"])
        response.headers["X-Index-Synced-At"] = str(result.extra["index_synced_at"])
    return response


def to_out(result: VerificationResult) -> VerificationOut:
    """The API's shape of a verdict; a QR verdict (whose code carries only the type's code)
    gets the type's name from the licence type catalogue, as a PDF verdict has it."""
    data = result.to_json()
    data["current_version"] = result.extra.get("current_version")
    data["anchor_block"] = result.extra.get("anchor_block")
    data["presentation"] = result.extra.get("presentation")
    data["type_name"] = data["type_name"] or type_name(result.type_code)
    return VerificationOut.model_validate(data)


@router.post("/pdf", response_model=VerificationOut, responses=ERRORS)
def verify_pdf_endpoint(
    rt: RuntimeDep,
    file: Annotated[UploadFile, File(description="The licence PDF")],
    at: Annotated[datetime | None, Form(description="Verify as of this time")] = None,
    direct: Annotated[bool, DIRECT] = False,
) -> Response:
    """Verdict for an uploaded licence PDF (200 for every verdict, VALID or not)."""
    return _answer(verify_pdf(rt, read_pdf(file), at, direct))


def read_pdf(file: UploadFile) -> bytes:
    """The uploaded PDF's bytes; more than :data:`MAX_PDF_BYTES` is refused, naming the field."""
    data = file.file.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise InvalidInputError("the file is larger than 20 MiB", field="file")
    return data


@router.post("/qr", response_model=VerificationOut, responses=ERRORS)
async def verify_qr_endpoint(
    body: QrIn, rt: RuntimeDep, direct: Annotated[bool, DIRECT] = False
) -> Response:
    """Verdict for a scanned QR payload."""
    if not direct and not is_presentation(body.payload):
        quick = verify_qr_from_memory(rt, body.payload, body.at)
        if quick is not None:
            return _answer(quick)
    if is_presentation(body.payload):  # a holder's wallet code (亮证), not a printed one
        return _answer(await run_in_threadpool(verify_code, rt, body.payload, body.at))
    return _answer(await run_in_threadpool(verify_qr, rt, body.payload, body.at, direct))


@trust_router.get("/trust-list")
def trust_list_endpoint(rt: RuntimeDep) -> Response:
    """The agencies' QR-signing public keys (JWK and SPKI) with their region, validity and the
    on-chain directory's retirement and compromise times, as of a block: what the offline
    counter caches to check a QR code's signature in the browser when the network drops."""
    body = json.dumps(trust_list(rt), ensure_ascii=False)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-cache"})
