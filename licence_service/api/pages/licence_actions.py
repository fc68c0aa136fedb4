"""The licence page's lifecycle actions: ``POST /desk/licences/{id}/act/{action}``.

Issuers only (window staff get 403, checked on the server whatever the page showed), of the
licence's own agency (a joint-review approval is the exception: the approving agency is the
person's, checked by :func:`services.approve`), with the form's CSRF token. The first post
checks the input and answers a confirmation page repeating it; only the second
(``confirm=yes``) calls the use case, the same one as the CLI and the API. Errors come back on
the licence page beside the form's field; nothing is changed.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.deps import RuntimeDep, ensure_agency
from licence_service.api.pages.action_forms import ACTIONS
from licence_service.api.pages.issue_form import Issuer
from licence_service.api.pages.layout import CSRF, FIELD_PREFIX, page, table
from licence_service.api.pages.licence_page import check_reader, licence_html
from licence_service.api.pages.texts import language, texts
from licence_service.domain.errors import ServiceError
from licence_service.people.identity import PersonInfo
from licence_service.region.runtime import Runtime
from licence_service.services import Amendment, amend_licence, apply_action, approve, make_copy
from licence_service.services.record_view import licence_record

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _changes(
    rt: Runtime, identifier: str, person: PersonInfo, form: dict[str, str]
) -> dict[str, str]:
    current = licence_record(rt, identifier, person).fields
    given = {k.removeprefix(FIELD_PREFIX): v.strip() for k, v in form.items()
             if k.startswith(FIELD_PREFIX)}  # fmt: skip
    return {k: v for k, v in given.items() if current.get(k) != v}


def _check(action: str, form: dict[str, str], changes: dict[str, str]) -> dict[str, str]:
    """The input errors a person can fix on the form, before anything is confirmed."""
    errors: dict[str, str] = {}
    if not form.get("reason", "").strip():
        errors["reason"] = "a reason is required"
    if action == "amend" and not changes and form.get("category") != "reissue":
        errors[""] = "the amendment changes nothing: change at least one field"
    if action == "copy":
        if not form.get("recipient", "").strip():
            errors["recipient"] = "recipient is required"
        try:
            date.fromisoformat(form.get("valid_until", ""))
        except ValueError:
            errors["valid_until"] = "valid_until must be a date written YYYY-MM-DD"
    if action == "approve" and not form.get("review_id", "").isdigit():
        errors[""] = "no review to approve"
    return errors


def _run(
    rt: Runtime, person: PersonInfo, identifier: str, action: str, form: dict[str, str],
    changes: dict[str, str],
) -> Any:  # fmt: skip
    reason = form["reason"].strip()
    if action == "amend":
        category = form.get("category", "change")
        if not changes and category == "reissue":  # 补发 repeats the face unchanged
            changes = licence_record(rt, identifier, person).fields
        amendment = Amendment(changes, category, reason)
        return amend_licence(rt, identifier, amendment)
    if action == "copy":
        until = date.fromisoformat(form["valid_until"])
        return make_copy(rt, identifier, reason, form["recipient"], until, actor=person.label)
    if action == "approve":
        return approve(rt, int(form["review_id"]), person, reason)
    current = licence_record(rt, identifier, person).current
    return apply_action(rt, current, action, reason, actor=person.label)


def _confirmation(
    request: Request, identifier: str, action: str, form: dict[str, str], changes: dict[str, str]
) -> HTMLResponse:
    t = texts(language(request))
    hidden = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
        for k, v in form.items()
        if k not in ("csrf_token", "confirm")
    )
    shown = {t["f_licence"]: identifier, t["act_reason"]: form.get("reason", "")}
    shown |= {k: form[k] for k in ("category", "recipient", "valid_until") if form.get(k)}
    shown |= {f"{k} →": v for k, v in changes.items()}
    body = (
        f"<p id='confirm-question' class='verdict attention'>"
        f"{escape(t['act_confirm_q'])} {escape(t['act_' + action])}</p>"
        + table([t["desk_field"], t["desk_value"]], shown.items(), "confirm-summary")
        + f"<form method='post' action='/desk/licences/{escape(identifier)}/act/{action}'>{CSRF}"
        f"{hidden}<input type='hidden' name='confirm' value='yes'><p class='buttons'>"
        f"<button type='submit' id='confirm'>{escape(t['act_confirm'])}</button>"
        f"<a href='/desk/licences/{escape(identifier)}' id='back'>{escape(t['act_back'])}</a>"
        "</p></form>"
    )
    return page(request, t["act_" + action], body)


@router.post("/desk/licences/{identifier}/act/{action}", response_class=HTMLResponse,
             response_model=None)  # fmt: skip
async def licence_action(
    identifier: str, action: str, request: Request, rt: RuntimeDep, person: Issuer
) -> HTMLResponse | RedirectResponse:
    """Check, confirm, then do ``action`` on the licence."""
    if action not in ACTIONS:
        raise HTTPException(404, f"no action {action!r}; the actions are {', '.join(ACTIONS)}")
    agency = await check_reader(rt, person, identifier)
    if action != "approve":  # an approval is for the person's own agency, checked by approve()
        ensure_agency(person, agency, identifier)
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    changes = await run_in_threadpool(_changes, rt, identifier, person, form)
    errors = _check(action, form, changes)
    if errors:
        return await licence_html(request, rt, person, identifier, action, form, errors, 422)
    if form.get("confirm") != "yes":
        return _confirmation(request, identifier, action, form, changes)
    try:
        await run_in_threadpool(_run, rt, person, identifier, action, form, changes)
    except ServiceError as exc:
        field = exc.field if exc.field in form or (exc.field or "") in changes else ""
        status = exc.status_code if 400 <= exc.status_code < 500 else 422
        return await licence_html(request, rt, person, identifier, action, form,
                                  {field or "": str(exc)} | {"": str(exc)}, status)  # fmt: skip
    return RedirectResponse(f"/desk/licences/{identifier}?done={action}", status_code=303)
