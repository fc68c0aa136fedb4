"""Sign-in, sign-out and the staff desk (first slice of issue 10's signed-in pages).

``/signin`` takes a username and password (argon2id via :func:`people.signin.check_sign_in`,
throttled per account and source) and starts a server-side cookie session; ``/desk`` greets a
signed-in person and lists the licences they may read, each linking to its licence page
(:mod:`.licence_page`). The issue form is :mod:`.issue_form`, batch issuance :mod:`.import_page`."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.deadlines_section import deadlines_section
from licence_service.api.pages.layout import page, table
from licence_service.api.pages.reminders_section import DEFAULT_WITHIN, reminders_section
from licence_service.api.pages.session import (
    SignedIn,
    end_session,
    signed_in,
    start_session,
)
from licence_service.api.pages.sharing_section import sharing_section
from licence_service.api.pages.texts import language, texts
from licence_service.api.security import require_csrf
from licence_service.domain.errors import ServiceError
from licence_service.notify.reminders import MAX_WITHIN_DAYS
from licence_service.people.identity import PersonRole
from licence_service.people.signin import check_sign_in
from licence_service.services.record_view import licence_list

router = APIRouter(include_in_schema=False)
READERS = frozenset({PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AUDITOR})


def _signin_form(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    t = texts(language(request))
    shown = f"<p id='error' class='verdict invalid'>{escape(error)}</p>" if error else ""
    body = (
        f"{shown}<form method='post' action='/signin' id='signin'>{{csrf}}"
        f"<label for='username'>{escape(t['username'])}</label>"
        "<input type='text' id='username' name='username' autocomplete='username' required>"
        f"<label for='password'>{escape(t['password'])}</label>"
        "<input type='password' id='password' name='password' "
        "autocomplete='current-password' required>"
        f"<p><button type='submit' id='submit'>{escape(t['sign_in'])}</button></p></form>"
    )
    return page(request, t["sign_in"], body, status, nav=False)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> HTMLResponse:
    """The sign-in form (with this browser's CSRF token)."""
    return _signin_form(request)


@router.post("/signin", dependencies=[Depends(require_csrf)], response_model=None)
async def signin_post(
    request: Request,
    rt: RuntimeDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Check the password; on success a session cookie and a redirect to the desk."""
    for name, value in (("username", username), ("password", password)):
        if not value.strip():
            return _signin_form(request, f"{name} is required", 422)
    client = request.client.host if request.client else "?"
    try:
        person = await run_in_threadpool(check_sign_in, rt, username, password, client)
    except ServiceError as exc:  # wrong password, throttled: said on the form
        return _signin_form(request, str(exc), exc.status_code)
    response = RedirectResponse("/desk", status_code=303)
    await start_session(request, response, person.username)
    return response


@router.post("/signout", dependencies=[Depends(require_csrf)])
def signout(request: Request) -> RedirectResponse:
    """End the session: its row is deleted, the cookie cleared."""
    response = RedirectResponse("/signin", status_code=303)
    end_session(request, response)
    return response


@router.get("/desk", response_class=HTMLResponse)
async def desk(
    request: Request,
    rt: RuntimeDep,
    who: Annotated[SignedIn, Depends(signed_in)],
    q: str = "",
    within: Annotated[int, Query(ge=0, le=MAX_WITHIN_DAYS)] = DEFAULT_WITHIN,
) -> HTMLResponse:
    """The signed-in person's start page: who they are, and the licences they may read
    (searched by identifier, or by holder name among their own agency's)."""
    person = who.person
    t = texts(language(request))
    roles = ", ".join(sorted(r.value for r in person.roles))
    found = ""
    if person.roles & READERS:
        rows = await run_in_threadpool(licence_list, rt, person, q)
        found = (
            f"<form method='get' action='/desk' role='search' class='search'>"
            f"<label for='q'>{escape(t['desk_search'])}</label>"
            f"<input type='search' id='q' name='q' value='{escape(q)}'>"
            f"<button type='submit'>{escape(t['desk_search_go'])}</button></form>"
            + table(
                [t["f_licence"], t["f_type"], t["desk_holder"], t["desk_status"], t["f_version"]],
                [
                    (f"<a href='/desk/licences/{escape(r['base_id'])}'>{escape(r['base_id'])}</a>",
                     r["type_code"], r["holder"], r["status"], r["version"])
                    for r in rows
                ],
                "licences",
                raw=0,
            )
        )  # fmt: skip
    found += await run_in_threadpool(deadlines_section, rt, person, t)
    found += await run_in_threadpool(reminders_section, rt, person, t, within)
    found += await run_in_threadpool(sharing_section, rt, person, t)
    body = (
        f"<p id='who'>{escape(person.display_name or person.username)} · "
        f"<span id='roles'>{escape(roles)}</span> · {escape(person.unit)}</p>"
        f"<p><a href='/verify'>{escape(t['title'])}</a></p>{found}"
        f"<form method='post' action='/signout'>{{csrf}}"
        f"<button type='submit' id='signout'>{escape(t['sign_out'])}</button></form>"
    )
    return page(request, t["desk"], body, issuer=PersonRole.ISSUER in person.roles)
