"""The public surface's guards: upload cap while streaming, rate limit on public verification,
and CSRF protection of HTML forms.

- :class:`BodyLimit` counts request body bytes as they arrive (pure ASGI), so an oversized
  upload is refused with 413 as soon as it passes the cap or its ``Content-Length`` announces
  more — nothing is buffered first. It covers every path: API uploads and the pages alike.
- :class:`RateLimit` keeps a token bucket per client address for the public verification
  endpoints (``/api/v1/verify/…``, ``/verify``, ``/v/…``); an empty bucket answers 429 with
  ``Retry-After``. The client address is the socket peer: behind a reverse proxy, run uvicorn
  with ``--proxy-headers`` so the peer is the real client.
- HTML forms carry a signed double-submit token (a cookie and a hidden field with the same
  HMAC-signed value) checked by :func:`require_csrf` on POST, plus an ``Origin``/``Referer``
  check when the browser sends one. JSON API endpoints authenticate by header and are not forms.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from licence_service.domain.errors import ServiceError
from licence_service.region.settings import Settings

PUBLIC_VERIFY_PREFIXES = ("/api/v1/verify/", "/verify", "/v/")
CSRF_COOKIE = "ll_csrf"
CSRF_FIELD = "csrf_token"


# ---------------------------------------------------------------------------- upload cap
class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the cap; an HTTPException so that FastAPI's
    body parsing passes it through as a 413 instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes ({_mib(limit)})")


def _mib(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MiB"


async def _send_json(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"detail": detail, "field": None}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes while they stream in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = dict(scope["headers"]).get(b"content-length")
        if announced is not None and (not announced.isdigit() or int(announced) > self.limit):
            await _send_json(send, 413, BodyTooLarge(self.limit).detail, [])
            return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge as exc:
            if not started:
                await _send_json(send, 413, exc.detail, [])


# ---------------------------------------------------------------------------- rate limit
@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class TokenBuckets:
    """One bucket per client: ``burst`` requests at once, refilled at ``per_minute``."""

    per_minute: float
    burst: int
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    max_clients: int = 10_000

    def take(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until a token is available."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= self.max_clients:
                self._prune(now, rate)
            bucket = self.buckets[client] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate if rate > 0 else 3600.0

    def _prune(self, now: float, rate: float) -> None:
        """Forget clients whose bucket has refilled (they would start full anyway)."""
        full = [
            k for k, b in self.buckets.items() if b.tokens + (now - b.stamp) * rate >= self.burst
        ]
        for key in full or list(self.buckets)[: len(self.buckets) // 2]:
            del self.buckets[key]


class RateLimit:
    """429 with ``Retry-After`` when a client verifies faster than its bucket allows."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app, self.buckets = app, buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith(PUBLIC_VERIFY_PREFIXES):
            client = scope.get("client") or ("?", 0)
            wait = self.buckets.take(str(client[0]))
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                await _send_json(
                    send,
                    429,
                    f"too many verification requests from {client[0]}: at most "
                    f"{self.buckets.per_minute:g} per minute (bursts of {self.buckets.burst}); "
                    f"retry in {seconds} s",
                    [(b"retry-after", str(seconds).encode())],
                )
                return
        await self.app(scope, receive, send)


# ---------------------------------------------------------------------------- CSRF
class CsrfRefused(ServiceError):
    """A form POST that did not come from this service's own page."""

    status_code = 403


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _valid(secret: bytes, token: str | None) -> bool:
    if not token or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    return hmac.compare_digest(mac, _sign(secret, nonce))


def csrf_token(request: Request) -> str:
    """This browser's form token: the one in its cookie if genuine, else a new one."""
    secret: bytes = request.app.state.csrf_secret
    current = request.cookies.get(CSRF_COOKIE)
    if _valid(secret, current):
        return str(current)
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_sign(secret, nonce)}"


def csrf_field(token: str) -> str:
    """The hidden form field carrying ``token``."""
    return f"<input type='hidden' name='{CSRF_FIELD}' value='{token}'>"


def with_csrf_cookie(response: HTMLResponse, token: str) -> HTMLResponse:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


def _own_origins(request: Request) -> set[str]:
    origins = {f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"}
    public = urlsplit(request.app.state.runtime.settings.public_url)
    origins.add(f"{public.scheme}://{public.netloc}")
    return origins


def require_csrf(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> None:
    """Dependency of every HTML form POST: same origin (when the browser says) and the form's
    token equal to the cookie's, both signed by this service."""
    origin = request.headers.get("origin")
    if origin is None and request.headers.get("referer"):
        ref = urlsplit(request.headers["referer"])
        origin = f"{ref.scheme}://{ref.netloc}"
    if origin is not None and origin not in _own_origins(request):
        raise CsrfRefused(
            f"cross-site form submission refused: it came from {origin}, not from this "
            "service's own page; open the form on this site and submit it there",
            field=CSRF_FIELD,
        )
    cookie = request.cookies.get(CSRF_COOKIE)
    secret: bytes = request.app.state.csrf_secret
    if not (_valid(secret, csrf_token) and cookie == csrf_token):
        raise CsrfRefused(
            "the form's security token is missing or does not match: reload the form and "
            "submit it again",
            field=CSRF_FIELD,
        )


def install(app: FastAPI, settings: Settings) -> None:
    """Register the guards on ``app``: rate limit outermost, then the upload cap."""
    app.state.csrf_secret = secrets.token_bytes(32)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    buckets = TokenBuckets(settings.verify_rate_per_minute, settings.verify_burst)
    app.add_middleware(RateLimit, buckets=buckets)
