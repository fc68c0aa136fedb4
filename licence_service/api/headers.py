"""Security headers on every response, in one pure-ASGI middleware.

Why one small middleware and not a library such as ``secure``: the rules here depend on the
request (the camera only on the counter page, HSTS only over HTTPS, ``no-store`` unless a
route chose its own caching), which a fixed header set cannot say; the header values
themselves are a few constant strings, kept together below.

- **Content-Security-Policy** :data:`CSP`: scripts, styles, images, fetches, the service
  worker and the manifest from this origin only, no inline script or style (the pages keep
  their scripts in ``static/``; the data blocks ``<script type="application/json">`` are not
  scripts), no plugins, no ``<base>``, forms posting only here, and ``frame-ancestors
  'none'`` (with ``X-Frame-Options: DENY`` for older browsers): no page can be framed.
- **X-Content-Type-Options: nosniff** and **Referrer-Policy: same-origin**: no referrer ever
  leaves for another site (a QR link ``/v/<token>`` or a desk URL names a licence). Not
  ``no-referrer``: under it browsers send ``Origin: null`` on this site's own form posts
  (Fetch standard, "serializing a request origin"), which the CSRF check refuses.
- **Cache-Control: no-store** on every response that does not set its own caching (the
  static files and the trust list do): pages and API answers may show personal data.
- **Permissions-Policy**: the camera for this origin on the counter page (``/verify``, a QR
  link ``/v/…``) only; camera, microphone, geolocation and payment off everywhere else.
- **Strict-Transport-Security** when the request came over HTTPS: the ASGI scheme, which
  uvicorn takes from ``X-Forwarded-Proto`` only for the proxies it trusts
  (``--forwarded-allow-ips``, default loopback).
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; "
    "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
COUNTER_PATHS = ("/verify", "/v/")
"""The counter page: ``/verify`` (and its POST) and the QR links ``/v/…``."""
PERMISSIONS_COUNTER = "camera=(self), microphone=(), geolocation=(), payment=()"
PERMISSIONS_ELSEWHERE = "camera=(), microphone=(), geolocation=(), payment=()"
HSTS = "max-age=31536000; includeSubDomains"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
FAVICON = "https://fastapi.tiangolo.com"

_ALWAYS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def is_counter_page(path: str) -> bool:
    """``/verify`` itself or a QR link (not the counter's JSON endpoints ``/verify/…``)."""
    return path == COUNTER_PATHS[0] or path.startswith(COUNTER_PATHS[1])


def headers_for(scope: Scope, existing: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers to add to a response to ``scope`` that already carries ``existing``."""
    names = {name.lower() for name, _ in existing}
    added = [(name, value) for name, value in _ALWAYS if name not in names]
    if b"cache-control" not in names:
        added.append((b"cache-control", b"no-store"))
    counter = is_counter_page(str(scope.get("path", "")))
    permissions = PERMISSIONS_COUNTER if counter else PERMISSIONS_ELSEWHERE
    added.append((b"permissions-policy", permissions.encode()))
    if scope.get("scheme") == "https":
        added.append((b"strict-transport-security", HSTS.encode()))
    return added


class SecurityHeaders:
    """Add :func:`headers_for` to every HTTP response (errors, redirects and 413/429 refusals
    of the outer guards included, as this middleware is installed outermost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = list(message.get("headers", []))
                message["headers"] = existing + headers_for(scope, existing)
            await send(message)

        await self.app(scope, receive, with_headers)


async def internal_error(request: Request, _: Exception) -> JSONResponse:
    """The answer to an unexpected exception, sent by Starlette's outermost error middleware
    (outside :class:`SecurityHeaders`), so it carries the headers itself; no traceback."""
    headers = {k.decode(): v.decode() for k, v in headers_for(request.scope, [])}
    body = {"detail": "internal error: the server could not answer this request", "field": None}
    return JSONResponse(body, 500, headers=headers)


def hashes_of(html: str, tag: str) -> str:
    """The CSP sources allowing exactly the inline ``<tag>`` elements of ``html`` (their
    SHA-256), and nothing else inline."""
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in bodies
    )


def docs_page(openapi_url: str, title: str) -> HTMLResponse:
    """FastAPI's Swagger UI page (the API's developer documentation, no personal data) under
    a CSP of its own: its one inline script allowed by its SHA-256 only, the Swagger UI
    bundle from its CDN, whose inline styles and ``data:`` images it needs; still never
    framed. The middleware keeps a CSP a response brings."""
    body = bytes(get_swagger_ui_html(openapi_url=openapi_url, title=title).body).decode()
    csp = (
        f"default-src 'none'; script-src {hashes_of(body, 'script')} {SWAGGER_CDN}; "
        f"style-src {SWAGGER_CDN} 'unsafe-inline'; img-src 'self' data: {FAVICON}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": csp})


def report_page(html: str) -> HTMLResponse:
    """A self-contained HTML report (the audit replay: meant to be saved and opened from
    disk, so its style is inline) under a CSP allowing its own ``<style>`` blocks alone: no
    script at all, nothing loaded, never framed."""
    csp = (
        f"default-src 'none'; style-src {hashes_of(html, 'style')}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})
