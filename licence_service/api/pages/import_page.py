"""Batch issuance from a CSV or .xlsx upload (``/desk/import``; a CSV's encoding detected or
chosen; each type's template linked): the file and a licence type are posted,
the import runs as a job (:mod:`.import_jobs`), and the job's page shows a live progress bar
(``static/desk.js`` polls ``/desk/import/{job}/progress``), the failed rows with their field,
and a downloadable result file (identifier and PDF link, or the row's error). Issuers only,
for their own agency, with the form's CSRF token."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.import_jobs import (
    ImportJob,
    find_job,
    result_csv,
    result_xlsx,
    start_job,
)
from licence_service.api.pages.issue_form import Issuer, type_chooser
from licence_service.api.pages.layout import CSRF, error_of, page
from licence_service.api.pages.texts import language, texts
from licence_service.api.routers.imports import stored_upload, template_response
from licence_service.domain.errors import ServiceError
from licence_service.domain.licence_types import get_licence_type, load_licence_types
from licence_service.people.identity import PersonInfo
from licence_service.services.bulk_csv import CORE_COLUMNS, OPTIONAL_COLUMNS
from licence_service.services.bulk_files import TEMPLATE_FORMATS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _template_links() -> str:
    """Each type's template, .xlsx and CSV (``/desk/import/templates/BL01.xlsx``)."""
    return " · ".join(
        f"{escape(code)} <a id='template-{escape(code)}-{fmt}' download "
        f"href='/desk/import/templates/{escape(code)}.{fmt}'>{label}</a>"
        for code in sorted(load_licence_types())
        for fmt, label in (("xlsx", ".xlsx"), ("csv", "CSV"))
    )


def _form(
    request: Request, errors: dict[str, str], type_code: str = "BL01", status: int = 200
) -> HTMLResponse:
    t = texts(language(request))
    optional = [f"[{c}]" for c in OPTIONAL_COLUMNS]  # validity, and the holder's contact
    columns = ", ".join((*CORE_COLUMNS, *optional, *get_licence_type(type_code).field_keys))
    body = (
        f"<p>{escape(t['imp_intro'])}</p><p><code id='columns'>{escape(columns)}</code></p>"
        f"<p id='templates'>{escape(t['imp_template'])} {_template_links()}</p>"
        f"<form method='post' action='/desk/import' enctype='multipart/form-data' id='import-form'>"
        f"{CSRF}{type_chooser(t, type_code, 'import-type')}"
        f"{error_of(errors, 'type', 'import-type')}"
        f"<div class='field'><label for='csv'>{escape(t['imp_file'])}</label>"
        f"<input type='file' id='csv' name='file' required "
        f"accept='.csv,text/csv,.xlsx,application/vnd.openxmlformats-officedocument."
        f"spreadsheetml.sheet' aria-describedby='csv-error'>{error_of(errors, 'file', 'csv')}"
        f"</div><div class='field'><label for='encoding'>{escape(t['imp_encoding'])}</label>"
        f"<select id='encoding' name='encoding'><option value=''>{escape(t['imp_detect'])}"
        f"</option><option value='utf-8'>UTF-8</option><option value='gb18030'>GB18030 / GBK"
        f"</option></select>{error_of(errors, 'encoding', 'encoding')}</div>"
        f"<p><button type='submit' id='import-submit'>{escape(t['imp_start'])}</button></p></form>"
    )
    return page(request, t["desk_import"], body, status, issuer=True)


@router.get("/desk/import", response_class=HTMLResponse)
async def import_form(request: Request, _: Issuer) -> HTMLResponse:
    """The upload form."""
    return _form(request, {})


@router.post("/desk/import", response_class=HTMLResponse, response_model=None)
async def import_post(
    request: Request,
    rt: RuntimeDep,
    person: Issuer,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse | RedirectResponse:
    """Store the upload and start the job; its page shows the progress."""
    form = await request.form()
    type_code = str(form.get("type_code") or "")
    encoding = str(form.get("encoding") or "") or None
    try:
        get_licence_type(type_code)
    except ValueError as exc:
        return _form(request, {"type": str(exc)}, status=422)
    if file is None or not file.filename:
        return _form(request, {"file": texts(language(request))["imp_no_file"]}, type_code, 422)
    try:
        path = await run_in_threadpool(stored_upload, file, rt.settings.home / "imports")
        job = await run_in_threadpool(start_job, rt, path, type_code, person.agency_code,
                                      person.label, encoding)  # fmt: skip
    except ServiceError as exc:
        return _form(request, {exc.field if exc.field == "encoding" else "file": str(exc)},
                     type_code, 422)  # fmt: skip
    return RedirectResponse(f"/desk/import/{job.id}", status_code=303)


def _job(job_id: str, person: PersonInfo) -> ImportJob:
    job = find_job(job_id, person.label)
    if job is None:
        raise HTTPException(404, f"no import {job_id} of {person.label}")
    return job


@router.get("/desk/import/{job_id}", response_class=HTMLResponse)
async def import_job_page(job_id: str, request: Request, person: Issuer) -> HTMLResponse:
    """The job's progress bar, summary, failed rows and result file."""
    job = _job(job_id, person)
    t = texts(language(request))
    done = job.progress()
    body = (
        f"<div id='import-job' data-progress='/desk/import/{job.id}/progress' "
        f"data-texts='{escape(t['imp_status'])}' data-running='{escape(t['imp_state_running'])}' "
        f"data-done='{escape(t['imp_state_done'])}' data-failed='{escape(t['imp_state_failed'])}'>"
        f"<label for='progress'>{escape(t['imp_progress'])}</label>"
        f"<progress id='progress' max='{max(job.total, 1)}' value='{done['done']}'></progress>"
        f"<p id='import-state' role='status' aria-live='polite' data-state='{job.state}'>"
        f"{escape(job.state)}</p><p id='import-error' class='field-error'>{escape(job.error)}</p>"
        f"<p><a id='result-file' href='/desk/import/{job.id}/result.csv' download "
        f"{'' if job.state == 'done' else 'hidden'}>{escape(t['imp_result'])}</a> "
        f"<a id='result-xlsx' href='/desk/import/{job.id}/result.xlsx' download "
        f"{'' if job.state == 'done' else 'hidden'}>.xlsx</a></p>"
        f"<h2>{escape(t['imp_failed'])}</h2><div class='scroll'><table id='import-errors'><tr>"
        f"<th scope='col'>{escape(t['imp_row'])}</th><th scope='col'>{escape(t['desk_field'])}"
        f"</th><th scope='col'>{escape(t['imp_error'])}</th></tr></table></div></div>"
    )
    return page(request, t["desk_import"], body, scripts=["desk.js"], issuer=True)


@router.get("/desk/import/{job_id}/progress")
async def import_progress(job_id: str, person: Issuer) -> JSONResponse:
    """How far the job is: rows done of total, issued, failed (with fields), state."""
    return JSONResponse(_job(job_id, person).progress(), headers={"Cache-Control": "no-store"})


@router.get("/desk/import/{job_id}/result.csv")
async def import_result(job_id: str, request: Request, person: Issuer) -> PlainTextResponse:
    """The result file: row, status, identifier, PDF link, field, error."""
    job = _job(job_id, person)
    base = str(request.base_url).rstrip("/")
    return PlainTextResponse(
        result_csv(job, base), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=import-{job.id}.csv"},
    )  # fmt: skip


@router.get("/desk/import/{job_id}/result.xlsx")
async def import_result_xlsx(job_id: str, request: Request, person: Issuer) -> Response:
    """The result file as .xlsx (the same rows as the CSV)."""
    job = _job(job_id, person)
    body = await run_in_threadpool(result_xlsx, job, str(request.base_url).rstrip("/"))
    disposition = f"attachment; filename=import-{job.id}.xlsx"
    return Response(body, media_type=TEMPLATE_FORMATS["xlsx"],
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.get("/desk/import/templates/{name}")
async def import_template(name: str, _: Issuer) -> Response:
    """A licence type's template, ``BL01.xlsx`` or ``BL01.csv``: its columns, one example."""
    return template_response(name)
