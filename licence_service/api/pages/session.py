"""Browser sessions for the signed-in pages.

A session is a row kept on the server (:mod:`people.sessions`): the cookie ``ll_session``
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the service is reached over TLS) holds only
its random id, the database only the id's SHA-256. A session idle for longer than the idle
timeout (``LICLEDGER_SESSION_IDLE_SECONDS``, :data:`IDLE_TIMEOUT` by default) is deleted on its
next request; sign-out deletes it; disabling the person deletes all of theirs. An API token in
the cookie opens nothing, and a session id is no bearer token for the API. Because a cookie is
sent by the browser on its own, every state-changing form of a cookie session also needs the
CSRF token; a caller presenting a bearer token in a header (not ambient) is checked the same
way for roles but needs no form token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from licence_service.api.deps import current_person, require_role
from licence_service.api.security import require_csrf
from licence_service.people import sessions
from licence_service.people.identity import AuthenticationError, PersonInfo, PersonRole

SESSION_COOKIE = "ll_session"
IDLE_TIMEOUT = 30 * 60  # seconds without a request before a session ends (default)


def _idle_timeout(request: Request) -> float:
    return float(getattr(request.app.state, "idle_timeout", IDLE_TIMEOUT))


def _secure(request: Request) -> bool:
    public: str = request.app.state.runtime.settings.public_url
    return request.url.scheme == "https" or public.startswith("https://")


def _cookie(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE, "").strip('"')
    return raw if raw.startswith(sessions.SCHEME) and len(raw) < 200 else None


async def start_session(request: Request, response: Response, username: str) -> None:
    """A new server-side session for ``username`` (whose password was just checked) in the
    cookie; a session the browser already had is ended first (no fixation)."""
    await run_in_threadpool(_end, request)
    session_id = await run_in_threadpool(sessions.create_session, request.app.state.runtime,
                                         username)  # fmt: skip
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=_secure(request), path="/")  # fmt: skip


def _end(request: Request) -> None:
    session_id = _cookie(request)
    if session_id is not None:
        sessions.end_session(request.app.state.runtime, session_id)


def end_session(request: Request, response: Response) -> None:
    """Delete the session's row (if any) and clear the cookie."""
    _end(request)
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)


class SignedIn:
    """Who is asking: the cookie session's person, else the bearer token's; 401 when
    neither. ``via_cookie`` says whether a form token must be checked."""

    def __init__(self, person: PersonInfo, via_cookie: bool) -> None:
        self.person, self.via_cookie = person, via_cookie


async def _session_person(request: Request, session_id: str) -> PersonInfo:
    rt, idle = request.app.state.runtime, _idle_timeout(request)
    return await run_in_threadpool(sessions.resolve_session, rt, session_id, idle)


async def signed_in(request: Request) -> SignedIn:
    session_id = _cookie(request)
    if session_id is None:
        if SESSION_COOKIE in request.cookies and not request.headers.get("authorization"):
            raise HTTPException(401, "this is no session of these pages: sign in at /signin")
        header = request.headers.get("authorization")
        return SignedIn(await current_person(request, header), False)
    try:
        return SignedIn(await _session_person(request, session_id), True)
    except AuthenticationError as exc:
        raise HTTPException(401, str(exc)) from None


async def optional_viewer(request: Request) -> PersonInfo | None:
    """The cookie session's person, or None (nobody signed in, idle, ended): for the public
    pages whose content depends on who looks (the counter's holder name). Never refuses."""
    session_id = _cookie(request)
    if session_id is None:
        return None
    try:
        return await _session_person(request, session_id)
    except AuthenticationError:
        return None


async def optional_person(request: Request) -> PersonInfo | None:
    """The cookie session's person, else the bearer token's, else None: for a page form that
    staff reach from the browser or a script, and that answers nobody with its own message."""
    viewer = await optional_viewer(request)
    header = request.headers.get("authorization")
    if viewer is not None or not header:
        return viewer
    try:
        return await current_person(request, header)
    except (AuthenticationError, HTTPException):
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
        if who.via_cookie and request.method == "POST":
            require_csrf(request, csrf_token)
        return person

    return check
