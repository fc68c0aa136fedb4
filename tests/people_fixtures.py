"""People for tests: real accounts with real tokens, and a real uvicorn server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.people.identity import PersonRole
from licence_service.people.service import add_person, issue_token
from licence_service.region.bootstrap import DEFAULT_AGENCY
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port
from tests.service_fixtures import region_runtime

PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def person_token(rt: Runtime, username: str, unit: str, *roles: PersonRole) -> str:
    """Create a person (password ``PASSWORD``) and return a fresh token of theirs."""
    add_person(rt, username, unit, frozenset(roles), password=PASSWORD)
    return issue_token(rt, username).token


def staff(rt: Runtime, suffix: str = "", agency: str | None = None) -> dict[str, dict[str, str]]:
    """Headers of an issuer, window staff and agency admin of ``agency`` (default the
    region's first), an auditor and a region administrator, keyed ``issuer``, ``window``,
    ``agency_admin``, ``auditor``, ``admin``."""
    if agency is None:
        with rt.sessions() as s:
            agency = rt.agency(s).code
    people = {
        "issuer": (agency, PersonRole.ISSUER),
        "window": (agency, PersonRole.WINDOW_STAFF),
        "agency_admin": (agency, PersonRole.AGENCY_ADMIN),
        "auditor": ("audit", PersonRole.AUDITOR),
        "admin": ("region", PersonRole.REGION_ADMIN),
    }
    return {
        key: bearer(person_token(rt, f"{key.replace('_', '-')}{suffix}", unit, role))
        for key, (unit, role) in people.items()
    }


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """``app`` on a real uvicorn server on 127.0.0.1:``port``; yields its base URL."""
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@contextmanager
def served_region(
    home: Path, anvil: AnvilNode, **overrides: object
) -> Iterator[tuple[str, Runtime]]:
    """A region on the session's chain, served on a free loopback port (its QR codes point
    there); yields the base URL and the runtime."""
    port = free_port()
    rt = region_runtime(home, anvil, public_url=f"http://127.0.0.1:{port}", **overrides)
    with serving(create_app(rt), port) as url:
        yield url, rt


@contextmanager
def served_issuer(
    home: Path, anvil: AnvilNode, username: str
) -> Iterator[tuple[str, dict[str, str]]]:
    """A served region (:func:`served_region`) and the bearer headers of an issuer of its
    default agency called ``username``."""
    with served_region(home, anvil) as (url, rt):
        yield url, bearer(person_token(rt, username, DEFAULT_AGENCY[0], PersonRole.ISSUER))
