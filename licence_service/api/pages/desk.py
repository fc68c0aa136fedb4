"""Sign-in, sign-out and the staff desk (first slice of issue 10's signed-in pages).

``/signin`` takes a username and password (argon2id via :func:`people.signin.sign_in`, with
its per-user and per-client failure limits) and starts a cookie session; ``/desk`` greets a
signed-in person; ``POST /desk/issue`` is the issue form's target, for issuers only: a window
staff session posting it directly is refused with 403, a cookie session without the form's
CSRF token with 403 too."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.session import (
    SignedIn,
    end_session,
    page_role,
    signed_in,
    start_session,
)
from licence_service.api.pages.texts import language, texts
from licence_service.api.security import csrf_field, csrf_token, require_csrf, with_csrf_cookie
from licence_service.domain.errors import ServiceError
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.people.signin import sign_in
from licence_service.services import issue_licence
from licence_service.services.issue import IssueRequest

router = APIRouter(include_in_schema=False)
Issuer = Annotated[PersonInfo, Depends(page_role(PersonRole.ISSUER))]
FIELD_PREFIX = "field:"


def _page(request: Request, title: str, body: str, status: int = 200) -> HTMLResponse:
    t = texts(language(request))
    token = csrf_token(request)
    html = (
        f"<!doctype html><html lang='{t['lang']}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel='stylesheet' href='/static/counter.css'></head>"
        f"<body><header class='bar'><h1>{escape(title)}</h1></header><main>"
        f"{body.replace('{csrf}', csrf_field(token))}</main></body></html>"
    )
    return with_csrf_cookie(HTMLResponse(html, status_code=status), token)


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
    return _page(request, t["sign_in"], body, status)


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
        issued = await run_in_threadpool(sign_in, rt, username, password, client)
    except ServiceError as exc:  # wrong password, throttled: said on the form
        return _signin_form(request, str(exc), exc.status_code)
    response = RedirectResponse("/desk", status_code=303)
    start_session(request, response, issued.token)
    return response


@router.post("/signout", dependencies=[Depends(require_csrf)])
def signout(request: Request) -> RedirectResponse:
    """End the session: its token is revoked, the cookie cleared."""
    response = RedirectResponse("/signin", status_code=303)
    end_session(request, response)
    return response


@router.get("/desk", response_class=HTMLResponse)
async def desk(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> HTMLResponse:
    """The signed-in person's start page: who they are and what they may do."""
    person = who.person
    t = texts(language(request))
    roles = ", ".join(sorted(r.value for r in person.roles))
    body = (
        f"<p id='who'>{escape(person.display_name or person.username)} · "
        f"<span id='roles'>{escape(roles)}</span> · {escape(person.unit)}</p>"
        f"<p><a href='/verify'>{escape(t['title'])}</a></p>"
        f"<form method='post' action='/signout'>{{csrf}}"
        f"<button type='submit' id='signout'>{escape(t['sign_out'])}</button></form>"
    )
    return _page(request, t["desk"], body)


@router.post("/desk/issue", response_class=HTMLResponse)
async def desk_issue(request: Request, rt: RuntimeDep, person: Issuer) -> HTMLResponse:
    """The issue form's target: issue for the person's agency, the face fields named
    ``field:<key>``; every value is checked by the use case, errors name the field."""
    form = await request.form()
    text = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    req = IssueRequest(
        type_code=text.get("type_code", ""),
        holder_name=text.get("holder_name", ""),
        holder_id=text.get("holder_id", ""),
        fields={
            k.removeprefix(FIELD_PREFIX): v for k, v in text.items() if k.startswith(FIELD_PREFIX)
        },
        agency_code=person.agency_code,
    )
    doc = await run_in_threadpool(issue_licence, rt, req)
    body = f"<p id='issued'>{escape(doc.licence_id)}</p>"
    return _page(request, texts(language(request))["desk"], body, 201)
