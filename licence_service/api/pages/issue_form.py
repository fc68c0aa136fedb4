"""The issue form (``/desk/issue``), generated from the chosen licence type's field definitions
(licence types are data): a type chooser, then the holder (with an optional e-mail address and
phone number, where the expiry reminders go), the type's own fields and the validity dates.
``static/desk.js`` shows per-field errors while the person types (required
fields, dates, ID-number check characters); the server is the authority: ``POST /desk/issue``
checks every field again (:func:`services.issue_checks.field_errors`) and re-renders the form
with the errors beside their inputs (422, nothing issued), else issues through the same use
case as the CLI and the API and redirects to the new licence's page. Issuers only: window staff
posting the form directly get 403, and so does a cookie session without the form's CSRF token.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.layout import CSRF, FIELD_PREFIX, field_input, page
from licence_service.api.pages.session import page_role
from licence_service.api.pages.texts import language, texts
from licence_service.domain.errors import ServiceError
from licence_service.domain.licence_types import LicenceType, get_licence_type, load_licence_types
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.services import issue_licence
from licence_service.services.issue import IssueRequest
from licence_service.services.issue_checks import field_errors

__all__ = ["Issuer", "router", "type_chooser"]

router = APIRouter(include_in_schema=False)
Issuer = Annotated[PersonInfo, Depends(page_role(PersonRole.ISSUER))]
CORE = ("holder_name", "holder_id", "holder_email", "holder_phone", "valid_from", "valid_until")


def type_chooser(t: dict[str, str], chosen: str, dom_id: str = "type_code") -> str:
    """A labelled ``<select>`` of the catalogue's licence types."""
    options = "".join(
        f"<option value='{lt.code}'{' selected' if lt.code == chosen else ''}>"
        f"{lt.code} · {escape(lt.name)}</option>"
        for lt in load_licence_types().values()
    )
    return (
        f"<div class='field'><label for='{dom_id}'>{escape(t['desk_type'])}</label>"
        f"<select id='{dom_id}' name='type_code'>{options}</select></div>"
    )


def _form(
    request: Request, ltype: LicenceType, values: dict[str, str], errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    t = texts(language(request))
    check = "citizen_id" if ltype.holder_id_type.value == "citizen_id" else "uscc"
    inputs = [
        field_input("holder_name", "holder_name", t["desk_holder"], values.get("holder_name", ""),
                    errors, required=True),
        field_input("holder_id", "holder_id", ltype.holder_id_type.label,
                    values.get("holder_id", ""), errors, required=True, check=check),
    ]  # fmt: skip
    for key in ("holder_email", "holder_phone"):  # optional: where the expiry reminders go
        inputs.append(field_input(key, key, t[f"desk_{key}"], values.get(key, ""), errors,
                                  hint=t["desk_contact_hint"]))  # fmt: skip
    for i, spec in enumerate(ltype.fields):
        inputs.append(
            field_input(f"f{i}", FIELD_PREFIX + spec.key, spec.label, values.get(spec.key, ""),
                        errors, key=spec.key, kind=spec.kind, required=spec.required,
                        check="date" if spec.kind == "date" else "",
                        hint=spec.example and f"{t['desk_example']} {spec.example}")
        )  # fmt: skip
    for key in ("valid_from", "valid_until"):
        inputs.append(field_input(key, key, t[f"desk_{key}"], values.get(key, ""), errors,
                                  kind="date", check="date"))  # fmt: skip
    shown = ""
    if errors:
        listed = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in errors.items())
        shown = (
            f"<div id='form-errors' class='verdict invalid' role='alert'><ul>{listed}</ul></div>"
        )
    chooser = (
        f"<form method='get' action='/desk/issue' class='chooser'>{type_chooser(t, ltype.code)}"
        f"<button type='submit' id='choose-type'>{escape(t['desk_choose'])}</button></form>"
    )
    body = (
        f"{chooser}<h2>{escape(ltype.name)} ({ltype.code})</h2>{shown}"
        f"<form method='post' action='/desk/issue' id='issue-form' data-validate novalidate "
        f"data-msg-required='{escape(t['err_required'])}' data-msg-date='{escape(t['err_date'])}' "
        f"data-msg-length='{escape(t['err_id_length'])}' "
        f"data-msg-chars='{escape(t['err_id_chars'])}' "
        f"data-msg-check='{escape(t['err_id_check'])}'>{CSRF}"
        f"<input type='hidden' name='type_code' value='{ltype.code}'>{''.join(inputs)}"
        f"<p><button type='submit' id='issue-submit'>{escape(t['desk_issue'])}</button></p>"
        "</form>"
    )
    return page(request, t["desk_issue"], body, status, scripts=["desk.js"], issuer=True)


@router.get("/desk/issue", response_class=HTMLResponse)
async def issue_form(request: Request, _: Issuer, type_code: str = "BL01") -> HTMLResponse:
    """The form for ``type_code`` (a type chooser at the top)."""
    try:
        ltype = get_licence_type(type_code)
    except ValueError:
        ltype = get_licence_type("BL01")
    return _form(request, ltype, {}, {})


def _date(text: str, key: str, errors: dict[str, str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[key] = f"{key} must be a date written YYYY-MM-DD, got {text!r}"
        return None


@router.post("/desk/issue", response_class=HTMLResponse, response_model=None)
async def desk_issue(
    request: Request, rt: RuntimeDep, person: Issuer
) -> HTMLResponse | RedirectResponse:
    """Issue for the person's agency, the face fields named ``field:<key>``: every error is
    shown beside its field (nothing issued), success goes to the licence page."""
    form = await request.form()
    text = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    fields = {
        k.removeprefix(FIELD_PREFIX): v for k, v in text.items() if k.startswith(FIELD_PREFIX)
    }
    errors: dict[str, str] = {}
    start, end = (_date(text.get(k, ""), k, errors) for k in ("valid_from", "valid_until"))
    req = IssueRequest(
        type_code=text.get("type_code", ""),
        holder_name=text.get("holder_name", ""),
        holder_id=text.get("holder_id", ""),
        fields=fields,
        valid_from=start,
        valid_until=end,
        agency_code=person.agency_code,
        holder_email=text.get("holder_email") or None,
        holder_phone=text.get("holder_phone") or None,
    )
    errors = field_errors(req) | errors
    ltype = get_licence_type("BL01" if "type_code" in errors else req.type_code)
    values = {k: text.get(k, "") for k in CORE} | fields
    if not errors:
        try:
            doc = await run_in_threadpool(issue_licence, rt, req)
        except ServiceError as exc:  # a check only the use case can make: shown on its field
            errors = {exc.field or "holder_name": str(exc)}
        else:
            return RedirectResponse(f"/desk/licences/{doc.base_id}?done=issue", status_code=303)
    return _form(request, ltype, values, errors, 422)
