"""HTML pages for people: the status page a QR code opens, and a file-drop verification page."""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.security import csrf_field, csrf_token, require_csrf, with_csrf_cookie
from licence_service.domain.errors import ServiceError
from licence_service.services import verify_pdf, verify_qr
from verifier.errors import VerificationError
from verifier.verdicts import Verdict, VerificationResult

router = APIRouter(include_in_schema=False)

_VERDICT_ZH = {
    Verdict.VALID: "有效",
    Verdict.TAMPERED: "已被篡改",
    Verdict.NOT_ANCHORED: "链上无记录",
    Verdict.PENDING: "待上链",
    Verdict.SUPERSEDED: "已被新版本替代",
    Verdict.SUSPENDED: "已挂起",
    Verdict.REVOKED: "已撤销",
    Verdict.CANCELLED: "已注销",
    Verdict.REPORTED_LOST: "已挂失",
    Verdict.EXPIRED: "已过期",
    Verdict.UNKNOWN_ISSUER: "签发机构未知",
    Verdict.CONFLICTING: "链上记录冲突,请联系发证机构",
}

_STYLE = (Path(__file__).resolve().parents[2] / "templates" / "style.css").read_text("utf-8")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


_GRADE = {
    "A": "A · 发证机构出具 agency original",
    "B": "B · 窗口人员核对原件 checked copy",
    "C": "C · 本人按原件上传 uploaded by the holder",
    "D": "D · 本人承诺 vouched for by the holder",
}


def _result_html(result: VerificationResult) -> str:
    cls = "ok" if result.ok else "bad"
    current = result.extra.get("current_version")
    version = result.version and (
        f"{result.version:03d}" + (f" → 现行 current {current:03d}" if current else "")
    )
    rows = [
        ("证照标识 Licence", result.licence_id),
        ("证照类型 Type", result.type_name or result.type_code),
        ("持证主体 Holder (masked)", result.holder_name),
        ("签发机构 Issuer", result.issuer and f"{result.issuer} ({result.issuer_code})"),
        ("所属地区 Region", result.region),
        ("信任等级 Trust grade", result.trust_grade and _GRADE.get(result.trust_grade)),
        ("版本 Version", version),
        ("有效期至 Valid until", result.valid_until),
        ("上链时间 Anchored", result.anchored_at and f"{result.anchored_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("交易 Transaction", result.anchor_tx),
    ]
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows if v)
    checks = "".join(
        f"<tr><td>{'✔' if c.ok else ('✘' if c.ok is False else '?')}</td>"
        f"<td>{escape(c.name)}</td><td>{escape(c.detail)}</td></tr>"
        for c in result.checks
    )
    as_of = (
        f"<p id='as-of'>截至 As of {result.as_of:%Y-%m-%d %H:%M:%S} UTC — 非当前状态 not the "
        "current state</p>"
        if result.as_of is not None
        else ""
    )
    note = (
        f"<p id='document-note'>{escape(result.document_note)}</p>" if result.document_note else ""
    )
    return (
        f"<div class='verdict {cls}' id='verdict'>{escape(str(result.verdict))} · "
        f"{_VERDICT_ZH[result.verdict]}</div>{as_of}{note}"
        f"<p id='reason'>{escape(result.reason)}</p>"
        f"<table>{facts}</table><h2>核验项 Checks</h2><table id='checks'>{checks}</table>"
        "<p><a href='/verify'>核验另一份证照 Verify another licence</a></p>"
    )


def _error_html(message: str) -> str:
    return (
        "<div class='verdict bad' id='verdict'>无法核验 · Cannot verify</div>"
        f"<p>{escape(message)}</p>"
    )


@router.get("/v/{token}", response_class=HTMLResponse)
def qr_status_page(token: str, rt: RuntimeDep) -> HTMLResponse:
    """Where a licence's QR code leads: its live verdict."""
    try:
        result = verify_qr(rt, token)
    except (VerificationError, ServiceError) as exc:
        return _page("证照核验", _error_html(str(exc)), 422)
    return _page(
        "证照核验 Licence check", "<h1>电子证照核验 Licence check</h1>" + _result_html(result)
    )


_FORM = """
<h1>电子证照核验 Licence check</h1>
<form method='post' action='/verify' enctype='multipart/form-data'>
 {csrf}
 <div class='drop'><p>拖入或选择证照PDF文件 · Drop or choose the licence PDF</p>
 <input type='file' name='file' accept='application/pdf' id='file'></div>
 <p>或输入二维码内容 · or paste the QR code's content</p>
 <input type='text' name='qr' id='qr' placeholder='http://…/v/LL1…'>
 <p><button type='submit' id='submit'>核验 Verify</button></p>
</form>
"""


def _form_page(request: Request, before: str = "", status: int = 200) -> HTMLResponse:
    """The verification form with this browser's CSRF token (field and cookie)."""
    token = csrf_token(request)
    return with_csrf_cookie(
        _page("证照核验", before + _FORM.replace("{csrf}", csrf_field(token)), status), token
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> HTMLResponse:
    return _form_page(request)


@router.post("/verify", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def verify_form_post(
    request: Request,
    rt: RuntimeDep,
    file: Annotated[UploadFile | None, File()] = None,
    qr: Annotated[str | None, Form()] = None,
    at: Annotated[datetime | None, Form()] = None,
) -> HTMLResponse:
    try:
        data = file.file.read() if file is not None else b""
        if data:
            result = verify_pdf(rt, data, at)
        elif qr and qr.strip():
            result = verify_qr(rt, qr, at)
        else:
            return _form_page(request, _error_html("choose a PDF file or paste a QR payload"), 422)
    except (VerificationError, ServiceError) as exc:
        return _form_page(request, _error_html(str(exc)), 422)
    return _page("证照核验", _result_html(result))
