"""Who is asking on a wallet route: a holder's wallet session, and nobody else.

The cookie ``ll_holder`` (``HttpOnly``, ``SameSite=Strict``) holds a wallet session id
(``llh_…``, :mod:`people.holder_signin`); a staff cookie (``ll_session``) or a staff bearer
token opens no wallet route (401), and a wallet session opens no staff route: the staff
dependencies read only their own cookie and tokens. Every state-changing wallet call also
needs the CSRF token (header ``X-CSRF-Token``, the double-submit value of ``ll_csrf``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from licence_service.api.security import CSRF_COOKIE, csrf_token, require_csrf
from licence_service.audit import oplog
from licence_service.people.holder_signin import (
    HOLDER_SCHEME,
    LocalHolderIdentity,
    default_sender,
    end_holder_session,
    open_holder_session,
    resolve_holder_session,
)
from licence_service.people.holders import HolderInfo
from licence_service.people.identity import AuthenticationError

HOLDER_COOKIE = "ll_holder"
CSRF_HEADER = "x-csrf-token"


def identity(request: Request) -> LocalHolderIdentity:
    """The region's holder identity provider (``app.state.holder_identity`` when wired)."""
    found = getattr(request.app.state, "holder_identity", None)
    if found is None:
        rt = request.app.state.runtime
        found = LocalHolderIdentity(rt, getattr(request.app.state, "code_sender", None)
                                    or default_sender(rt))  # fmt: skip
        request.app.state.holder_identity = found
    return found  # type: ignore[no-any-return]


def _cookie(request: Request) -> str | None:
    raw = request.cookies.get(HOLDER_COOKIE, "").strip('"')
    return raw if raw.startswith(HOLDER_SCHEME) and len(raw) < 200 else None


async def optional_holder(request: Request) -> HolderInfo | None:
    session_id = _cookie(request)
    if session_id is None:
        return None
    rt, idle = request.app.state.runtime, float(getattr(request.app.state, "idle_timeout", 1800))
    try:
        return await run_in_threadpool(resolve_holder_session, rt, session_id, idle)
    except AuthenticationError:
        return None


async def current_holder(request: Request) -> HolderInfo:
    """The wallet session's holder; 401 for anything else (staff credentials included). A
    state-changing request must carry the CSRF header."""
    holder = await optional_holder(request)
    if holder is None:
        raise HTTPException(401, "sign in to your wallet at /wallet/signin (staff accounts "
                                 "and tokens do not open a wallet)")  # fmt: skip
    if request.method not in ("GET", "HEAD"):
        require_csrf(request, request.headers.get(CSRF_HEADER))
    oplog.set_actor(holder.label, "holder")
    return holder


Holder = Annotated[HolderInfo, Depends(current_holder)]


async def start_wallet_session(request: Request, response: Response, holder: HolderInfo) -> str:
    """Open the wallet session in the cookie (an earlier one of this browser ended first);
    returns the CSRF token for the script's state-changing calls."""
    await run_in_threadpool(end_wallet_session, request, response)
    rt = request.app.state.runtime
    session_id = await run_in_threadpool(open_holder_session, rt, holder)
    secure = request.url.scheme == "https" or rt.settings.public_url.startswith("https://")
    response.set_cookie(HOLDER_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=secure, path="/")  # fmt: skip
    token = csrf_token(request)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return token


def end_wallet_session(request: Request, response: Response) -> None:
    session_id = _cookie(request)
    if session_id is not None:
        end_holder_session(request.app.state.runtime, session_id)
    response.delete_cookie(HOLDER_COOKIE, path="/", samesite="strict", httponly=True)
