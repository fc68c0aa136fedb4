"""The desk's reviewer section: other regions' sharing requests the signed-in reviewer may
decide, each with an approve form (last day of use, most releases) and a refuse form (reason).
The forms post to ``/desk/sharing-requests/{n}/approve|refuse``, which call the same use cases
as ``POST /api/v1/sharing-requests/{n}/approve|refuse`` and the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.bounds import RowId
from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.layout import CSRF, Raw, page, table
from licence_service.api.pages.session import page_role
from licence_service.api.pages.texts import language, texts
from licence_service.domain.errors import InvalidInputError, ServiceError
from licence_service.federation.requests import approve_request, list_requests, refuse_request
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.region.runtime import Runtime

router = APIRouter(include_in_schema=False)
ReviewerPage = Annotated[PersonInfo, Depends(page_role(PersonRole.SHARING_REVIEWER))]


def sharing_section(rt: Runtime, person: PersonInfo, t: dict[str, str]) -> str:
    """The section's HTML, or nothing for a person who reviews no sharing requests."""
    if PersonRole.SHARING_REVIEWER not in person.roles:
        return ""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = []
    for r in list_requests(rt, person):
        due = escape(r["due_at"]) + (f" · {escape(t['sh_overdue'])}" if r["due_at"] < now else "")
        rows.append(
            (f"#{r['id']}", r["licence"], r["type_code"], r["from_region"],
             r["requested_by"] or "—", r["purpose"],
             ", ".join(r["fields"]) or t["sh_all_fields"], Raw(due), Raw(_forms(r, t)))
        )  # fmt: skip
    head = ["#", t["f_licence"], t["f_type"], t["sh_from"], t["sh_by"], t["sh_purpose"],
            t["sh_fields"], t["sh_due"], t["sh_decide"]]  # fmt: skip
    return (
        f"<section id='sharing-requests'><h2>{escape(t['sh_title'])}</h2>"
        + table(head, rows, "sharing-pending", t["sh_none"])
        + "</section>"
    )


def _forms(r: dict[str, Any], t: dict[str, str]) -> str:
    n = r["id"]
    return (
        f"<form method='post' action='/desk/sharing-requests/{n}/approve' class='inline'>{CSRF}"
        f"<label>{escape(t['sh_until'])} <input type='date' name='valid_until'></label> "
        f"<label>{escape(t['sh_cap'])} <input type='number' name='use_cap' min='1'></label> "
        f"<button type='submit' id='approve-{n}'>{escape(t['sh_approve'])}</button></form>"
        f"<form method='post' action='/desk/sharing-requests/{n}/refuse' class='inline'>{CSRF}"
        f"<label>{escape(t['sh_reason'])} <input name='reason' required></label> "
        f"<button type='submit' id='refuse-{n}'>{escape(t['sh_refuse'])}</button></form>"
    )


def _date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"valid_until {value!r} is not a date", "valid_until") from None


def _cap(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise InvalidInputError("use_cap must be a whole number of releases", "use_cap")
    return int(value)


@router.post("/desk/sharing-requests/{request_id}/{decision}", response_model=None)
async def decide(
    request: Request,
    request_id: RowId,
    decision: Literal["approve", "refuse"],
    rt: RuntimeDep,
    person: ReviewerPage,
    valid_until: Annotated[str, Form()] = "",
    use_cap: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Approve or refuse as the signed-in reviewer; back to the desk, or the reason why not."""
    try:
        if decision == "approve":
            until, cap = _date(valid_until), _cap(use_cap)
            await run_in_threadpool(approve_request, rt, person, request_id, until, cap)
        else:
            await run_in_threadpool(refuse_request, rt, person, request_id, reason)
    except ServiceError as exc:
        t = texts(language(request))
        body = (
            f"<p id='error' class='verdict invalid'>{escape(str(exc))}</p>"
            f"<p><a href='/desk#sharing-requests'>{escape(t['sh_back'])}</a></p>"
        )
        return page(request, t["sh_title"], body, exc.status_code)
    return RedirectResponse("/desk#sharing-requests", status_code=303)
