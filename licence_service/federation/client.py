"""Calling another region's service with a signed (EIP-712) request."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx

from licence_service.domain.errors import ServiceError
from licence_service.federation.auth import Domain, sign_request
from licence_service.region.runtime import Runtime


class RemoteError(ServiceError):
    """The other region refused or failed; its status code and message are kept."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status


def domain(rt: Runtime) -> Domain:
    return Domain(rt.settings.chain_id, rt.deployment.directory)


def call(
    rt: Runtime,
    base_url: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    timeout: float = 30.0,
    *,
    to_region: int,
) -> Any:
    """Send a request signed by this region's (first) agency account and addressed to region
    ``to_region`` (the receiver refuses a request addressed to another region); JSON answer
    or error."""
    with rt.sessions() as s:
        agency = rt.agency(s)
    raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    if params:
        path = f"{path}?{urlencode(params)}"  # the query is signed too
    headers = sign_request(
        domain(rt),
        rt.agency_account(agency.code),
        agency.region_code,
        method,
        path,
        raw,
        to_region=to_region,
    )
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = httpx.request(
            method,
            base_url.rstrip("/") + path,
            content=raw or None,
            headers=headers,
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise RemoteError(503, f"region service at {base_url} is not reachable ({exc})") from exc
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RemoteError(
            response.status_code, f"{base_url} answered {response.status_code}: {detail}"
        )
    return response.json()
