"""The security-header rules of ``api/headers.py`` as a pure function (issue 24, point 4):
which answer gets the camera, ``no-store``, HSTS, and that a route's own header wins; and an
unexpected exception's 500, sent outside every middleware, with the headers all the same."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from licence_service.api.headers import (
    CSP,
    SecurityHeaders,
    headers_for,
    internal_error,
    is_counter_page,
)
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving


def _headers(path: str, scheme: str = "http", existing: dict[str, str] | None = None) -> dict:
    given = [(k.encode(), v.encode()) for k, v in (existing or {}).items()]
    scope = {"type": "http", "path": path, "scheme": scheme}
    return {k.decode(): v.decode() for k, v in headers_for(scope, given)}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("path", "counter"),
    [("/verify", True), ("/v/LL1.abc", True), ("/verify/qr.json", False),
     ("/verifyx", False), ("/desk", False), ("/api/v1/verify/qr", False)],
)  # fmt: skip
def test_the_camera_only_on_the_counter_page(path: str, counter: bool) -> None:
    assert is_counter_page(path) is counter
    policy = _headers(path)["permissions-policy"]
    assert ("camera=(self)" in policy) is counter and ("camera=()" in policy) is not counter


@pytest.mark.unit
def test_defaults_and_what_a_route_keeps() -> None:
    plain = _headers("/desk")
    assert plain["content-security-policy"] == CSP and plain["cache-control"] == "no-store"
    assert plain["x-frame-options"] == "DENY" and plain["x-content-type-options"] == "nosniff"
    assert plain["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in plain
    own = _headers(
        "/static/x.js", existing={"Cache-Control": "public", "Content-Security-Policy": "x"}
    )
    assert "cache-control" not in own and "content-security-policy" not in own
    assert _headers("/desk", "https")["strict-transport-security"].startswith("max-age=")


@pytest.mark.e2e
def test_an_unexpected_error_is_a_500_with_the_headers() -> None:
    """Starlette sends a 500 from outside every middleware: the handler adds the headers
    (a tiny app on a real uvicorn server on loopback)."""
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(Exception, internal_error)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("/secret/path/of/the/server")

    with serving(app, free_port()) as url:
        r = httpx.get(f"{url}/boom", timeout=10)
    assert r.status_code == 500 and "/secret" not in r.text
    assert r.headers["content-security-policy"] == CSP and r.headers["cache-control"] == "no-store"
