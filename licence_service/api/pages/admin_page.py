"""The administration (``/admin``, region and agency administrators): people and their roles,
the administrator's own personal API tokens, and the consortium (regions, proposals).

Each form posts with the page's CSRF token and is checked on the server with the same rules
as the API (``routers.people``: an agency administrator manages its own agency only; tokens
are issued only to their owner; approving a consortium proposal needs the region
administrator). A new token and a generated password are shown once, on the answer to the
form that made them, and never again (only their hashes are kept).
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.bounds import ProposalId
from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.layout import CSRF, Raw, frame, table
from licence_service.api.pages.session import page_role
from licence_service.api.pages.texts import language, texts
from licence_service.api.routers.people import manages
from licence_service.domain.errors import InvalidInputError
from licence_service.federation.region import approve_proposal, list_regions
from licence_service.people.identity import PersonInfo, PersonRole, parse_roles
from licence_service.people.passwords import generate_password
from licence_service.people.service import (
    add_person,
    disable_person,
    issue_token,
    list_people,
    list_tokens,
    revoke_token,
    token_owner,
)
from licence_service.people.signin import failed_sign_ins, unlock_person
from licence_service.region.runtime import Runtime

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
AdminPage = Annotated[
    PersonInfo, Depends(page_role(PersonRole.REGION_ADMIN, PersonRole.AGENCY_ADMIN))
]
RegionAdminPage = Annotated[PersonInfo, Depends(page_role(PersonRole.REGION_ADMIN))]


def _post(action: str, label: str, ident: str, hidden: dict[str, str] | None = None) -> str:
    """A one-button form (disable, revoke, approve) with the CSRF field."""
    fields = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
        for k, v in (hidden or {}).items()
    )
    return (
        f"<form method='post' action='{escape(action)}' class='inline'>{CSRF}{fields}"
        f"<button type='submit' id='{escape(ident)}'>{escape(label)}</button></form>"
    )


def _people_html(rt: Runtime, t: dict[str, str], admin: PersonInfo) -> str:
    scope = None if PersonRole.REGION_ADMIN in admin.roles else admin.agency_code
    rows = []
    failures = failed_sign_ins(rt)
    for p in list_people(rt, scope):
        action = (
            ""
            if p.disabled or p.username == admin.username
            else _post(
                f"/admin/people/{p.username}/disable", t["ad_disable"], f"disable-{p.username}"
            )
        )
        state = t["ad_disabled"] if p.disabled else t["ad_active"]
        if failures.get(p.username) and not p.disabled:
            state += f" · {failures[p.username]} {t['ad_failed_sign_ins']}"
            action += _post(
                f"/admin/people/{p.username}/unlock", t["ad_unlock"], f"unlock-{p.username}"
            )
        roles = ", ".join(sorted(r.value for r in p.roles))
        rows.append((p.username, p.display_name, p.unit, roles, state, Raw(action)))
    body = table(("username", "name", "unit", "roles", "state", ""), rows, "people")
    role_boxes = "".join(
        f"<label><input type='checkbox' name='roles' value='{r.value}'> {escape(r.value)}</label>"
        for r in PersonRole
    )
    unit = "" if scope is None else escape(scope)
    form = (
        f"<h3>{escape(t['ad_add_person'])}</h3>"
        f"<form method='post' action='/admin/people' id='add-person' class='filters'>{CSRF}"
        f"<label>{escape(t['username'])}<input name='username' id='p-username' required></label>"
        f"<label>{escape(t['ad_display_name'])}<input name='display_name'></label>"
        f"<label>{escape(t['ad_unit'])}"
        f"<input name='unit' id='p-unit' value='{unit}' required></label>"
        f"<fieldset><legend>{escape(t['ad_roles'])}</legend>{role_boxes}</fieldset>"
        f"<button type='submit' id='p-add'>{escape(t['ad_add'])}</button></form>"
    )
    return f"<h2>{escape(t['ad_people'])}</h2>{body}{form}"


def _tokens_html(rt: Runtime, t: dict[str, str], admin: PersonInfo) -> str:
    rows = [
        (
            k["prefix"],
            k["label"],
            k["state"],
            k["expires_at"],
            Raw(
                _post(
                    f"/admin/tokens/{k['prefix']}/revoke", t["ad_revoke"], f"revoke-{k['prefix']}"
                )
                if k["state"] == "active"
                else ""
            ),
        )
        for k in list_tokens(rt, admin.username)
    ]
    return (
        f"<h2>{escape(t['ad_tokens'])}</h2>"
        + table(("prefix", "label", "state", "expires", ""), rows, "tokens", t["a_none"])
        + f"<form method='post' action='/admin/tokens' id='new-token-form' class='filters'>{CSRF}"
        f"<label>{escape(t['ad_token_label'])}<input name='label' id='t-label' maxlength='100'>"
        f"</label><label>{escape(t['ad_token_days'])}<input name='days' id='t-days' value='90' "
        "inputmode='numeric' size='4'></label>"
        f"<button type='submit' id='t-create'>{escape(t['ad_token_create'])}</button></form>"
    )


def _consortium_html(rt: Runtime, t: dict[str, str], admin: PersonInfo) -> str:
    if not rt.deployment.directory:
        return f"<h2>{escape(t['ad_consortium'])}</h2><p>{escape(t['ad_no_directory'])}</p>"
    data: dict[str, Any] = list_regions(rt)
    regions = [
        (r["code"], r["name"], t["ad_active"] if r["active"] else "—", len(r["certificates"]))
        for r in data["regions"]
    ]
    can_approve = PersonRole.REGION_ADMIN in admin.roles
    pending = "".join(
        f"<li>#{p['id']} {escape(p['action'])} region {p['region']} · {p['approvals']}/"
        f"{data['effective_threshold']} "
        + (_post(f"/admin/proposals/{p['id']}/approve", t["ad_approve"], f"approve-{p['id']}")
           if can_approve else "")
        + "</li>"
        for p in data["proposals"]
        if not p["executed"]
    )  # fmt: skip
    return (
        f"<h2>{escape(t['ad_consortium'])}</h2>"
        + table(("code", "name", "state", "certificates"), regions, "regions", t["a_none"])
        + f"<h3>{escape(t['ad_proposals'])}</h3>"
        + (f"<ul id='proposals'>{pending}</ul>" if pending else f"<p>{escape(t['a_none'])}</p>")
    )


def _admin_page(
    request: Request, rt: Runtime, admin: PersonInfo, notice: str = "", status: int = 200
) -> HTMLResponse:
    t = texts(language(request))
    body = (
        notice
        + _people_html(rt, t, admin)
        + _tokens_html(rt, t, admin)
        + _consortium_html(rt, t, admin)
    )
    return frame(request, admin, t["ad_title"], body, status)


def _once(t: dict[str, str], what: str, secret: str, ident: str) -> str:
    return (
        f"<div class='shown-once' role='alert'><p>{escape(t['ad_shown_once'])}</p>"
        f"<p>{escape(what)}: <code id='{ident}'>{escape(secret)}</code></p></div>"
    )


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, rt: RuntimeDep, admin: AdminPage) -> HTMLResponse:
    """People, the administrator's tokens and the consortium."""
    return await run_in_threadpool(_admin_page, request, rt, admin)


@router.post("/admin/people", response_class=HTMLResponse)
async def admin_add_person(request: Request, rt: RuntimeDep, admin: AdminPage) -> HTMLResponse:
    """Add a person (an agency administrator: to its own agency only); the generated
    password is shown once."""
    form = await request.form()
    unit = str(form.get("unit", "")).strip()
    if not unit:
        raise InvalidInputError("unit is required: an agency code, region or audit", field="unit")
    if PersonRole.REGION_ADMIN not in admin.roles and unit != admin.agency_code:
        raise HTTPException(403, f"{admin.label} adds people to agency {admin.agency_code} only")
    roles = parse_roles([str(v) for v in form.getlist("roles")])
    password = generate_password()
    person = await run_in_threadpool(
        add_person,
        rt,
        str(form.get("username", "")).strip(),
        unit,
        roles,
        str(form.get("display_name", "")).strip(),
        password,
    )
    t = texts(language(request))
    notice = _once(t, f"{t['password']} · {person.username}", password, "new-password")
    return await run_in_threadpool(_admin_page, request, rt, admin, notice, 201)


@router.post("/admin/people/{username}/disable")
async def admin_disable(username: str, rt: RuntimeDep, admin: AdminPage) -> RedirectResponse:
    """Disable a person this administrator manages (their password and tokens stop at once)."""
    await run_in_threadpool(manages, rt, admin, username)
    await run_in_threadpool(disable_person, rt, username)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/people/{username}/unlock")
async def admin_unlock(username: str, rt: RuntimeDep, admin: AdminPage) -> RedirectResponse:
    """Clear the failed sign-ins of a person this administrator manages."""
    await run_in_threadpool(manages, rt, admin, username)
    await run_in_threadpool(unlock_person, rt, username)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tokens", response_class=HTMLResponse)
async def admin_new_token(request: Request, rt: RuntimeDep, admin: AdminPage) -> HTMLResponse:
    """A new personal API token for the administrator, shown once."""
    form = await request.form()
    days_text = str(form.get("days", "90")).strip()
    if not days_text.isdigit():
        raise InvalidInputError("days must be a whole number of days", field="days")
    label = str(form.get("label", "")).strip()[:100]
    issued = await run_in_threadpool(issue_token, rt, admin.username, int(days_text), label)
    t = texts(language(request))
    notice = _once(t, t["ad_new_token"], issued.token, "new-token")
    return await run_in_threadpool(_admin_page, request, rt, admin, notice, 201)


@router.post("/admin/tokens/{prefix}/revoke")
async def admin_revoke_token(prefix: str, rt: RuntimeDep, admin: AdminPage) -> RedirectResponse:
    """Revoke one of the administrator's own tokens."""
    if await run_in_threadpool(token_owner, rt, prefix) != admin.username:
        raise HTTPException(404, f"{admin.username} has no token with prefix {prefix}")
    await run_in_threadpool(revoke_token, rt, prefix)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/proposals/{proposal_id}/approve")
async def admin_approve(
    proposal_id: ProposalId, rt: RuntimeDep, admin: RegionAdminPage
) -> RedirectResponse:
    """Approve a consortium proposal for this region (region administrators only)."""
    await run_in_threadpool(approve_proposal, rt, proposal_id)
    return RedirectResponse("/admin", status_code=303)
