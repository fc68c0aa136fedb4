"""The holder's wallet pages (issue 20.2): sign-in in two steps (ID number and password, then
the one-time code sent through the notifier), the list of the holder's licences, sign-out.

They call the same use cases as the wallet API (``people.holder_signin``, ``services.wallet``)
and use the same cookie session (:mod:`licence_service.api.wallet_auth`): a staff session
opens no wallet page (it is sent to the wallet's sign-in), and every form carries the CSRF
token like the desk's. One licence's page is :mod:`.wallet_licence`."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.layout import CSRF, Raw, page, table
from licence_service.api.pages.texts import language, texts
from licence_service.api.security import require_csrf
from licence_service.api.wallet_auth import (
    end_wallet_session,
    identity,
    optional_holder,
    start_wallet_session,
)
from licence_service.domain.errors import ServiceError
from licence_service.people.holders import HolderInfo
from licence_service.people.identity import AuthenticationError
from licence_service.services import wallet

router = APIRouter(include_in_schema=False)
SIGN_IN = "/wallet/signin"


def wallet_frame(
    request: Request, title: str, body: str, holder: HolderInfo | None = None,
    status: int = 200, scripts: tuple[str, ...] = (),
) -> HTMLResponse:  # fmt: skip
    """The page frame of the wallet: no desk links; the holder's sign-out when signed in."""
    t = texts(language(request))
    if holder is not None:
        body = (
            f"<p class='bar'><a href='/wallet' id='wallet-home'>{escape(t['w_list'])}</a> "
            f"<form method='post' action='/wallet/signout' class='inline'>{CSRF}"
            f"<button type='submit' id='wallet-signout'>{escape(t['sign_out'])}</button>"
            f"</form></p>{body}"
        )
    return page(request, title, body, status, scripts=scripts, nav=False)


def _error(message: str) -> str:
    return (
        f"<p id='error' class='verdict invalid' role='alert'>{escape(message)}</p>"
        if message
        else ""
    )


def _password_form(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    t = texts(language(request))
    body = (
        f"{_error(error)}<form method='post' action='{SIGN_IN}' id='wallet-signin'>{CSRF}"
        f"<label for='holder_id'>{escape(t['w_holder_id'])}</label>"
        "<input type='text' id='holder_id' name='holder_id' autocomplete='username' required>"
        f"<label for='password'>{escape(t['password'])}</label>"
        "<input type='password' id='password' name='password' "
        "autocomplete='current-password' required>"
        f"<p><button type='submit' id='submit'>{escape(t['w_next'])}</button></p></form>"
    )
    return wallet_frame(request, t["w_signin"], body, status=status)


def _code_form(
    request: Request, challenge: str, sent_to: str, error: str = "", status: int = 200
) -> HTMLResponse:
    t = texts(language(request))
    body = (
        f"{_error(error)}<p id='sent-to'>{escape(t['w_code_sent'])} {escape(sent_to)}</p>"
        f"<form method='post' action='{SIGN_IN}/code' id='wallet-code'>{CSRF}"
        f"<input type='hidden' name='challenge' value='{escape(challenge)}'>"
        f"<input type='hidden' name='sent_to' value='{escape(sent_to)}'>"
        f"<label for='code'>{escape(t['w_code'])}</label>"
        "<input type='text' id='code' name='code' inputmode='numeric' "
        "autocomplete='one-time-code' required>"
        f"<p><button type='submit' id='submit'>{escape(t['sign_in'])}</button></p></form>"
    )
    return wallet_frame(request, t["w_signin"], body, status=status)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get(SIGN_IN, response_class=HTMLResponse)
def wallet_signin_form(request: Request) -> HTMLResponse:
    return _password_form(request)


@router.post(SIGN_IN, response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def wallet_signin_post(
    request: Request,
    holder_id: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Step 1: the password checked (throttled), a one-time code sent; the code form."""
    for name, value in (("holder_id", holder_id), ("password", password)):
        if not value.strip():
            return _password_form(request, f"{name} is required", 422)
    try:
        challenge = await run_in_threadpool(identity(request).start, holder_id.strip(),
                                            password, _client(request))  # fmt: skip
    except (ServiceError, AuthenticationError) as exc:
        return _password_form(request, str(exc), getattr(exc, "status_code", 401))
    return _code_form(request, challenge.challenge_id, challenge.sent_to)


@router.post(f"{SIGN_IN}/code", response_model=None, dependencies=[Depends(require_csrf)])
async def wallet_code_post(
    request: Request,
    challenge: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    sent_to: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Step 2: the one-time code; the wallet session opens and the list is shown."""
    try:
        holder = await run_in_threadpool(identity(request).finish, challenge, code.strip(),
                                         _client(request))  # fmt: skip
    except (ServiceError, AuthenticationError) as exc:
        return _code_form(request, challenge, sent_to, str(exc), getattr(exc, "status_code", 401))
    response = RedirectResponse("/wallet", status_code=303)
    await start_wallet_session(request, response, holder)
    return response


@router.post("/wallet/signout", dependencies=[Depends(require_csrf)])
def wallet_signout(request: Request) -> RedirectResponse:
    response = RedirectResponse(SIGN_IN, status_code=303)
    end_wallet_session(request, response)
    return response


@router.get("/wallet", response_model=None)
async def wallet_list(request: Request, rt: RuntimeDep) -> HTMLResponse | RedirectResponse:
    """The signed-in holder's licences with their status; anyone else goes to sign-in."""
    holder = await optional_holder(request)
    if holder is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    t = texts(language(request))
    rows = await run_in_threadpool(wallet.my_licences, rt, holder)
    body = table(
        [t["w_licence"], t["w_type"], t["w_status"], t["w_valid_until"], t["w_issuer"]],
        [
            (
                Raw(f"<a href='/wallet/l/{escape(r['base_id'])}'>{escape(r['licence_id'])}</a>"),
                r["type_name"],
                r["status"],
                r["valid_until"],
                r["issuer"],
            )
            for r in rows
        ],
        id_="wallet-licences",
        empty=t["w_none"],
    )
    return wallet_frame(request, t["w_title"], body, holder)
