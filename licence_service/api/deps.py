"""Dependencies: the region's runtime and the caller's role."""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from licence_service.audit import oplog
from licence_service.runtime import Runtime


class Role(StrEnum):
    AGENCY = "agency"
    WINDOW = "window"
    AUDITOR = "auditor"


def api_keys(rt: Runtime) -> dict[str, Role]:
    """API keys by role, generated once into ``keys/api-keys.json`` (mode 0600)."""
    path = rt.settings.keys_dir / "api-keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {role.value: secrets.token_urlsafe(24) for role in Role}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(keys, fh, indent=2)
    data = json.loads(path.read_text())
    return {key: Role(role) for role, key in data.items()}


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def caller_role(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Role:
    """The caller's role from its API key; also names the caller in the operation log.

    Async on purpose: it runs in the request's own context, which the endpoint (run in a
    worker thread) inherits, so the actor set here is the one its actions are logged under.
    """
    keys: dict[str, Role] = request.app.state.api_keys
    role = keys.get(x_api_key or "")
    if role is None:
        raise HTTPException(
            401,
            "missing or unknown X-API-Key header; keys are in the data directory's "
            "keys/api-keys.json",
        )
    host = request.client.host if request.client else "?"
    oplog.set_actor(f"api:{role.value}@{host}", role.value)
    return role


def require(*roles: Role):  # type: ignore[no-untyped-def]
    def check(role: Annotated[Role, Depends(caller_role)]) -> Role:
        if role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(403, f"role {role.value} may not do this (needs {allowed})")
        return role

    return check
