"""One licence in the holder's wallet (issue 20.2 and 20.3): versions, status, copies, uses
per day, releases, consents with grant and withdraw forms, the PDF, a use-specific copy for an
allowed purpose, and the presentation code (亮证).

The code is drawn on the server as SVG (:func:`documents.qr_encode.qr_matrix`) at
``/wallet/l/{id}/code.svg?fields=…``; ``static/wallet.js`` swaps the image's address every
30 s so a fresh code (new nonce and time) is minted, with the fields the holder ticked. The
image is same-origin, so the CSP (``img-src 'self'``) holds and no script is inline. Another
holder's licence answers 404 exactly as a missing one (``services.wallet.own_licence``)."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.layout import CSRF, Raw, table
from licence_service.api.pages.texts import language, texts
from licence_service.api.pages.wallet_pages import SIGN_IN, wallet_frame
from licence_service.api.security import require_csrf
from licence_service.api.wallet_auth import optional_holder
from licence_service.documents.qr_encode import qr_matrix
from licence_service.domain.errors import NotFoundError, ServiceError
from licence_service.people.holders import HolderInfo
from licence_service.services import wallet
from licence_service.services.attachments import PURPOSE_CHARS, RECIPIENT_CHARS
from licence_service.services.presentation import make_presentation

router = APIRouter(include_in_schema=False)


async def _holder(request: Request) -> HolderInfo | None:
    return await optional_holder(request)


def code_svg(token: str, scale: int = 4) -> str:
    """The QR code of ``token`` as SVG: one path of dark modules and a 4-module quiet zone."""
    matrix = qr_matrix(token.encode())
    size = len(matrix) + 8
    dark = "".join(
        f"M{x + 4} {y + 4}h1v1h-1z" for y, row in enumerate(matrix) for x, v in enumerate(row) if v
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {size} {size}' "
        f"width='{size * scale}' height='{size * scale}' shape-rendering='crispEdges'>"
        f"<rect width='{size}' height='{size}' fill='#fff'/><path d='{dark}' fill='#000'/></svg>"
    )


def _sections(t: dict[str, str], base_id: str, data: dict[str, Any]) -> str:
    versions = table(
        [t["w_version"], t["w_licence"], t["w_anchor"], t["w_valid_until"]],
        [
            (v.get("version"), v["licence_id"], v["anchor_state"], v["valid_until"])
            for v in data.get("versions", [])
        ],
        id_="wallet-versions",
    )
    copies = table(
        [t["w_licence"], t["w_purpose"], t["w_status"]],
        [(a.get("identifier"), a.get("data"), a.get("status")) for a in data["attachments"]],
        id_="wallet-copies",
        empty=t["w_none"],
    )
    uses = data["uses"]
    per_day = table([t["w_day"], t["w_count"]],
                    [(d["day"], d["count"]) for d in uses["verifications"]],
                    id_="wallet-uses", empty=t["w_none"])  # fmt: skip
    releases = table([t["w_time"], t["w_region"], t["w_purpose"]],
                     [(r["time"], r["to_region"], r["purpose"]) for r in uses["releases"]],
                     id_="wallet-releases", empty=t["w_none"])  # fmt: skip
    consents = table(
        [t["w_region"], t["w_purpose"], t["w_valid_until"], t["w_status"], ""],
        [
            (
                c["grantee_region"],
                c["purpose"],
                c["valid_until"],
                t["w_withdrawn"] if c["withdrawn"] else t["w_active"],
                ""
                if c["withdrawn"]
                else Raw(
                    f"<form method='post' action='/wallet/consents/{c['consent_id']}/withdraw' "
                    f"class='inline'>{CSRF}<input type='hidden' name='base_id' "
                    f"value='{escape(base_id)}'><button type='submit' class='withdraw'>"
                    f"{escape(t['w_withdraw'])}</button></form>"
                ),
            )
            for c in data["consents"]
        ],
        id_="wallet-consents",
        empty=t["w_none"],
    )
    action = f"/wallet/l/{escape(base_id)}"
    copy_form = (
        f"<form method='post' action='{action}/copies' id='copy-form'>{CSRF}"
        f"<label for='purpose'>{escape(t['w_purpose'])}</label>"
        f"<input type='text' id='purpose' name='purpose' required minlength='{PURPOSE_CHARS[0]}' "
        f"maxlength='{PURPOSE_CHARS[1]}' placeholder='{escape(t['w_purpose_hint'])}'>"
        f"<label for='recipient'>{escape(t['w_recipient'])}</label>"
        f"<input type='text' id='recipient' name='recipient' required "
        f"maxlength='{RECIPIENT_CHARS[1]}'>"
        f"<label for='copy_until'>{escape(t['w_valid_until'])}</label>"
        "<input type='date' id='copy_until' name='valid_until' required>"
        f"<p><button type='submit' id='copy-submit'>{escape(t['w_make_copy'])}</button></p></form>"
    )
    grant_form = (
        f"<form method='post' action='{action}/consents' id='consent-form'>{CSRF}"
        f"<label for='grantee_region'>{escape(t['w_region'])}</label>"
        "<input type='text' id='grantee_region' name='grantee_region' inputmode='numeric' "
        f"required><label for='consent_purpose'>{escape(t['w_purpose'])}</label>"
        "<input type='text' id='consent_purpose' name='purpose' required>"
        f"<label for='consent_until'>{escape(t['w_valid_until'])}</label>"
        "<input type='date' id='consent_until' name='valid_until' required>"
        f"<p><button type='submit' id='consent-submit'>{escape(t['w_grant'])}</button></p></form>"
    )
    return (
        f"<h2>{escape(t['w_versions'])}</h2>{versions}<h2>{escape(t['w_copies'])}</h2>{copies}"
        f"{copy_form}<h2>{escape(t['w_uses'])}</h2>{per_day}"
        f"<h2>{escape(t['w_releases'])}</h2>{releases}"
        f"<h2>{escape(t['w_consents'])}</h2>{consents}{grant_form}"
    )


def _present(t: dict[str, str], base_id: str, fields: list[str]) -> str:
    boxes = "".join(
        f"<label class='inline'><input type='checkbox' class='present-field' "
        f"value='{escape(f)}'{' checked' if i == 0 else ''}> {escape(t.get('pf_' + f, f))}</label> "
        for i, f in enumerate(fields)
    )
    src = f"/wallet/l/{escape(base_id)}/code.svg?fields={escape(fields[0]) if fields else ''}"
    return (
        f"<h2>{escape(t['w_present'])}</h2><p>{escape(t['w_present_hint'])}</p>"
        f"<fieldset id='present-fields'>{boxes}</fieldset>"
        f"<p><img id='presentation-code' alt='{escape(t['w_present'])}' src='{src}' "
        f"data-base='/wallet/l/{escape(base_id)}/code.svg' data-refresh='30'></p>"
    )


def _not_found(request: Request, holder: HolderInfo, base_id: str) -> HTMLResponse:
    """A page, not the API's JSON: a licence that is not in this holder's wallet (whether it
    does not exist or is somebody else's: the wallet is no oracle of who holds what)."""
    t = texts(language(request))
    body = (
        f"<p id='error' class='verdict invalid' role='alert'>"
        f"{escape(t['w_not_found'].replace('{id}', base_id))}</p>"
        f"<p><a href='/wallet' id='wallet-back'>{escape(t['w_list'])}</a></p>"
    )
    return wallet_frame(request, t["w_not_found_title"], body, holder, 404)


async def _licence_page(
    request: Request, rt: RuntimeDep, base_id: str, error: str = "", status: int = 200
) -> HTMLResponse | RedirectResponse:
    holder = await _holder(request)
    if holder is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    t = texts(language(request))
    try:
        data = await run_in_threadpool(wallet.wallet_licence, rt, holder, base_id)
    except NotFoundError:  # unknown, or another holder's: the same page, in the holder's language
        return _not_found(request, holder, base_id)
    meta = data["metadata"]
    shown = (
        f"<p id='error' class='verdict invalid' role='alert'>{escape(error)}</p>" if error else ""
    )
    head = (
        f"{shown}<dl id='wallet-licence'><dt>{escape(t['w_type'])}</dt>"
        f"<dd>{escape(meta['licence_name'])}</dd><dt>{escape(t['w_status'])}</dt>"
        f"<dd id='wallet-status'>{escape(data['status'])}</dd>"
        f"<dt>{escape(t['w_valid_until'])}</dt><dd>{escape(meta['valid_until'])}</dd></dl>"
        f"<p><a id='wallet-pdf' href='/api/v1/wallet/licences/{escape(base_id)}/pdf'>"
        f"{escape(t['w_pdf'])}</a></p>"
    )
    body = head + _present(t, base_id, data["presentable_fields"]) + _sections(t, base_id, data)
    return wallet_frame(request, meta["licence_id"], body, holder, status, ("wallet.js",))


@router.get("/wallet/l/{base_id}", response_model=None)
async def wallet_licence_page(
    request: Request, rt: RuntimeDep, base_id: str
) -> HTMLResponse | RedirectResponse:
    return await _licence_page(request, rt, base_id)


@router.get("/wallet/l/{base_id}/code.svg", response_model=None)
async def wallet_code_svg(
    request: Request, rt: RuntimeDep, base_id: str,
    fields: Annotated[str, Query(description="comma-separated field names shown")] = "",
) -> Response:  # fmt: skip
    """A fresh presentation code (valid 2 minutes) as an SVG image; never cached."""
    holder = await _holder(request)
    if holder is None:
        return Response("sign in to your wallet", status_code=401)
    made = await run_in_threadpool(make_presentation, rt, holder, base_id, fields.split(","))
    return Response(code_svg(made["token"]), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})  # fmt: skip


async def _act(request: Request, rt: RuntimeDep, base_id: str, work: Any) -> Any:
    holder = await _holder(request)
    if holder is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    try:
        await run_in_threadpool(work, holder)
    except ServiceError as exc:  # said on the page, nothing changed
        return await _licence_page(request, rt, base_id, str(exc), exc.status_code)
    return RedirectResponse(f"/wallet/l/{base_id}", status_code=303)


@router.post("/wallet/l/{base_id}/copies", response_model=None,
             dependencies=[Depends(require_csrf)])  # fmt: skip
async def wallet_copy_post(
    request: Request, rt: RuntimeDep, base_id: str,
    purpose: Annotated[str, Form()] = "", recipient: Annotated[str, Form()] = "",
    valid_until: Annotated[date | None, Form()] = None,
) -> Any:  # fmt: skip
    def work(holder: HolderInfo) -> None:
        wallet.wallet_copy(rt, holder, base_id, purpose, recipient, valid_until or date.today())

    return await _act(request, rt, base_id, work)


@router.post("/wallet/l/{base_id}/consents", response_model=None,
             dependencies=[Depends(require_csrf)])  # fmt: skip
async def wallet_consent_post(
    request: Request, rt: RuntimeDep, base_id: str,
    grantee_region: Annotated[int, Form()], purpose: Annotated[str, Form()] = "",
    valid_until: Annotated[date | None, Form()] = None,
) -> Any:  # fmt: skip
    def work(holder: HolderInfo) -> None:
        wallet.wallet_grant(rt, holder, base_id, grantee_region, purpose,
                            valid_until or date.today(), [])  # fmt: skip

    return await _act(request, rt, base_id, work)


@router.post("/wallet/consents/{consent_id}/withdraw", response_model=None,
             dependencies=[Depends(require_csrf)])  # fmt: skip
async def wallet_withdraw_post(
    request: Request, rt: RuntimeDep, consent_id: int, base_id: Annotated[str, Form()] = ""
) -> Any:
    return await _act(request, rt, base_id,
                      lambda holder: wallet.wallet_withdraw(rt, holder, consent_id))  # fmt: skip
