"""HTML pages for people: the counter page (``/verify``), which a licence's QR URL
(``/v/{token}``) opens with that licence's verdict, and the pages' static files."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages import (
    admin_page,
    audit_page,
    desk,
    import_page,
    issue_form,
    licence_actions,
    licence_page,
    sharing_section,
    wallet_licence,
    wallet_pages,
)
from licence_service.api.pages.assets import ROOT_FILES, static_file
from licence_service.api.pages.counter import counter_page
from licence_service.api.pages.holder import show_holder
from licence_service.api.pages.holder_search import search_html
from licence_service.api.pages.results import error_html, result_html
from licence_service.api.pages.session import optional_person, optional_viewer
from licence_service.api.pages.texts import language, texts
from licence_service.api.routers.verify import read_pdf, to_out
from licence_service.api.schemas import QrIn
from licence_service.api.security import require_csrf
from licence_service.domain.errors import ServiceError
from licence_service.people.identity import PersonInfo
from licence_service.region.runtime import Runtime
from licence_service.services import verify_pdf, verify_qr
from licence_service.services.presentation import verify_code
from verifier.errors import VerificationError
from verifier.verdicts import VerificationResult

router = APIRouter(include_in_schema=False)
router.include_router(desk.router)
for part in (issue_form, licence_page, licence_actions, import_page, audit_page, admin_page,
             wallet_pages, wallet_licence, sharing_section):  # fmt: skip
    router.include_router(part.router)


Viewer = Annotated[PersonInfo | None, Depends(optional_viewer)]


def _label(viewer: PersonInfo | None) -> str:
    """Whom a verification at the counter is counted for: the signed-in person, if any."""
    return viewer.label if viewer is not None else ""


def _verdict_json(
    rt: Runtime, viewer: PersonInfo | None, result: VerificationResult
) -> dict[str, Any]:
    """The API's verdict JSON with the holder's name as ``viewer`` may see it."""
    full = show_holder(rt, viewer, result)
    return to_out(result).model_dump(mode="json") | {"holder_full": full}


def _verdict_page(
    request: Request, rt: Runtime, viewer: PersonInfo | None, result: VerificationResult
) -> HTMLResponse:
    data = _verdict_json(rt, viewer, result)
    t = texts(language(request))
    return counter_page(request, result_html(result, t, data["holder_full"]), data)


@router.get("/v/{token}", response_class=HTMLResponse)
def qr_status_page(token: str, request: Request, rt: RuntimeDep, viewer: Viewer) -> HTMLResponse:
    """Where a licence's QR code leads: the counter page showing its live verdict."""
    t = texts(language(request))
    try:
        result = verify_qr(rt, token, channel="status-page", person=_label(viewer))
    except (VerificationError, ServiceError) as exc:
        return counter_page(request, error_html(str(exc), t), {"error": str(exc)}, 422)
    return _verdict_page(request, rt, viewer, result)


@router.post("/verify/qr.json")
def verify_qr_json(body: QrIn, rt: RuntimeDep, viewer: Viewer) -> dict[str, Any]:
    """The counter script's QR check: the public API's verdict (from the server's in-memory
    verifier), the holder's name as the signed-in viewer may see it."""
    return _verdict_json(
        rt, viewer, verify_code(rt, body.payload, body.at, channel="counter", person=_label(viewer))
    )


@router.post("/verify/pdf.json")
def verify_pdf_json(
    rt: RuntimeDep, viewer: Viewer, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """The counter script's PDF check, as :func:`verify_qr_json`."""
    return _verdict_json(
        rt, viewer, verify_pdf(rt, read_pdf(file), channel="counter", person=_label(viewer))
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> HTMLResponse:
    """The counter page, empty: scan, paste or drop."""
    return counter_page(request)


@router.post("/verify", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def verify_form_post(
    request: Request,
    rt: RuntimeDep,
    viewer: Viewer,
    file: Annotated[UploadFile | None, File()] = None,
    qr: Annotated[str | None, Form()] = None,
    at: Annotated[datetime | None, Form()] = None,
) -> HTMLResponse:
    """The form without JavaScript: the verdict rendered on the server."""
    t = texts(language(request))
    try:
        data = file.file.read() if file is not None else b""
        if data:
            result = verify_pdf(rt, data, at, channel="counter", person=_label(viewer))
        elif qr and qr.strip():
            result = verify_code(rt, qr, at, channel="counter", person=_label(viewer))
        else:
            message = "choose a PDF file or paste a QR payload"
            return counter_page(request, error_html(message, t), {"error": message}, 422)
    except (VerificationError, ServiceError) as exc:
        return counter_page(request, error_html(str(exc), t), {"error": str(exc)}, 422)
    return _verdict_page(request, rt, viewer, result)


@router.post("/verify/holder", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def holder_search(
    request: Request,
    rt: RuntimeDep,
    viewer: Annotated[PersonInfo | None, Depends(optional_person)],
    holder_id: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """The counter's search box: the holder's licences for signed-in window staff and
    issuers (``pages.holder_search``; works without JavaScript)."""
    t = texts(language(request))
    html, status, headers = await run_in_threadpool(search_html, rt, viewer, t, holder_id)
    response = counter_page(request, status=status, holder_html=html)
    response.headers.update(headers)
    return response


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The pages' scripts, style and the bundled QR decoder."""
    return static_file(name)


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """The offline counter's service worker (from the root: it controls /verify and /v/…)."""
    return static_file("sw.js", ROOT_FILES)


@router.get("/manifest.webmanifest")
def manifest() -> FileResponse:
    """The offline counter's web app manifest (installable as an app)."""
    return static_file("manifest.webmanifest", ROOT_FILES)
