"""Browser sessions for the signed-in pages.

A session is a sign-in token (from :func:`people.signin.sign_in`, argon2id-checked) kept in the
cookie ``ll_session``: ``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the service is reached
over TLS. The cookie also carries the time of the last request, HMAC-signed with the app's
secret: a session idle for longer than the idle timeout (``LICLEDGER_SESSION_IDLE_SECONDS``,
:data:`IDLE_TIMEOUT` by default) is ended on its next request, its token revoked so that it
is no use as a bearer token either. Because a cookie is sent by the browser on its own, every
state-changing form of a cookie session also needs the CSRF token; a caller presenting a
bearer token in a header (not ambient) is checked the same way for roles but needs no form
token.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from contextlib import suppress
from typing import Annotated

from fastapi import Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from licence_service.api.deps import current_person, require_role
from licence_service.api.security import require_csrf
from licence_service.domain.errors import ServiceError
from licence_service.people.identity import AuthenticationError, PersonInfo, PersonRole
from licence_service.people.service import authenticate, revoke_token
from licence_service.people.tokens import prefix_of

SESSION_COOKIE = "ll_session"
IDLE_TIMEOUT = 30 * 60  # seconds without a request before a session ends (default)


class _Idle(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


def _idle_timeout(request: Request) -> float:
    return float(getattr(request.app.state, "idle_timeout", IDLE_TIMEOUT))


def _revoke(request: Request, token: str | None) -> None:
    """Revoke a session's token; one already gone is no error."""
    prefix = token and prefix_of(token)
    if prefix:
        with suppress(ServiceError):
            revoke_token(request.app.state.runtime, prefix)


async def _end_idle(request: Request, idle: _Idle) -> None:
    await run_in_threadpool(_revoke, request, idle.token)


def _mac(request: Request, token: str, seen: int) -> str:
    secret: bytes = request.app.state.csrf_secret
    return hmac.new(secret, f"{token}|{seen}".encode(), hashlib.sha256).hexdigest()[:32]


def _secure(request: Request) -> bool:
    public: str = request.app.state.runtime.settings.public_url
    return request.url.scheme == "https" or public.startswith("https://")


def start_session(request: Request, response: Response, token: str) -> None:
    """Put ``token`` in the session cookie, stamped now."""
    seen = int(time.time())
    value = f"{token}|{seen}|{_mac(request, token, seen)}"
    response.set_cookie(
        SESSION_COOKIE, value, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )


def end_session(request: Request, response: Response) -> None:
    """Revoke the session's token (if any) and clear the cookie."""
    _revoke(request, _cookie_token(request, check_idle=False))
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)


def _cookie_token(request: Request, check_idle: bool = True) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or raw.count("|") != 2:
        return None
    token, seen_text, mac = raw.split("|")
    if not seen_text.isdigit():
        return None
    if not hmac.compare_digest(mac, _mac(request, token, int(seen_text))):
        return None
    if check_idle and time.time() - int(seen_text) > _idle_timeout(request):
        raise _Idle(token)
    return token


class SignedIn:
    """Who is asking: the cookie session's person (refreshing its idle stamp), else the bearer
    token's; 401 when neither. ``via_cookie`` says whether a form token must be checked."""

    def __init__(self, person: PersonInfo, token: str | None) -> None:
        self.person, self.cookie_token = person, token


async def signed_in(request: Request, response: Response) -> SignedIn:
    try:
        token = _cookie_token(request)
    except _Idle as idle:
        await _end_idle(request, idle)
        minutes = round(_idle_timeout(request) / 60, 1)
        raise HTTPException(401, f"the session ended after {minutes:g} idle minutes") from None
    if token is None:
        header = request.headers.get("authorization")
        person = await current_person(request, header)
        return SignedIn(person, None)
    try:
        person = await run_in_threadpool(authenticate, request.app.state.runtime, token)
    except AuthenticationError as exc:
        raise HTTPException(401, str(exc)) from None
    start_session(request, response, token)  # a request: the idle clock restarts
    return SignedIn(person, token)


async def optional_viewer(request: Request) -> PersonInfo | None:
    """The cookie session's person, or None (nobody signed in, idle, revoked): for the public
    pages whose content depends on who looks (the counter's holder name). Never refuses."""
    try:
        token = _cookie_token(request)
    except _Idle as idle:
        await _end_idle(request, idle)
        return None
    if token is None:
        return None
    try:
        return await run_in_threadpool(authenticate, request.app.state.runtime, token)
    except AuthenticationError:
        return None


def page_role(*roles: PersonRole):  # type: ignore[no-untyped-def]
    """A signed-in person holding one of ``roles``; for a cookie session also the form's CSRF
    token (checked after the role: a wrong role is refused for the role)."""

    async def check(
        request: Request,
        who: Annotated[SignedIn, Depends(signed_in)],
        csrf_token: Annotated[str | None, Form()] = None,
    ) -> PersonInfo:
        person = await require_role(*roles)(request, who.person)  # role and region, as the API
        if who.cookie_token is not None and request.method == "POST":
            require_csrf(request, csrf_token)
        return person

    return check
