"""HTML pages for people: the counter page (``/verify``), which a licence's QR URL
(``/v/{token}``) opens with that licence's verdict, and the pages' static files."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages import desk, import_page, issue_form, licence_actions, licence_page
from licence_service.api.pages.assets import static_file
from licence_service.api.pages.counter import counter_page
from licence_service.api.pages.results import error_html, result_html
from licence_service.api.pages.texts import language, texts
from licence_service.api.routers.verify import to_out
from licence_service.api.security import require_csrf
from licence_service.domain.errors import ServiceError
from licence_service.services import verify_pdf, verify_qr
from verifier.errors import VerificationError

router = APIRouter(include_in_schema=False)
router.include_router(desk.router)
for part in (issue_form, licence_page, licence_actions, import_page):
    router.include_router(part.router)


@router.get("/v/{token}", response_class=HTMLResponse)
def qr_status_page(token: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    """Where a licence's QR code leads: the counter page showing its live verdict."""
    t = texts(language(request))
    try:
        result = verify_qr(rt, token)
    except (VerificationError, ServiceError) as exc:
        return counter_page(request, error_html(str(exc), t), {"error": str(exc)}, 422)
    initial = to_out(result).model_dump(mode="json")
    return counter_page(request, result_html(result, t), initial)


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> HTMLResponse:
    """The counter page, empty: scan, paste or drop."""
    return counter_page(request)


@router.post("/verify", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def verify_form_post(
    request: Request,
    rt: RuntimeDep,
    file: Annotated[UploadFile | None, File()] = None,
    qr: Annotated[str | None, Form()] = None,
    at: Annotated[datetime | None, Form()] = None,
) -> HTMLResponse:
    """The form without JavaScript: the verdict rendered on the server."""
    t = texts(language(request))
    try:
        data = file.file.read() if file is not None else b""
        if data:
            result = verify_pdf(rt, data, at)
        elif qr and qr.strip():
            result = verify_qr(rt, qr, at)
        else:
            message = "choose a PDF file or paste a QR payload"
            return counter_page(request, error_html(message, t), {"error": message}, 422)
    except (VerificationError, ServiceError) as exc:
        return counter_page(request, error_html(str(exc), t), {"error": str(exc)}, 422)
    return counter_page(request, result_html(result, t), to_out(result).model_dump(mode="json"))


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The pages' scripts, style and the bundled QR decoder."""
    return static_file(name)
