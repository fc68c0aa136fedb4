"""The demos' people: a region administrator, an issuer, window staff and an auditor, each
with a fresh one-day token and (but for the administrator, whose one-time password is shown
on the first run only) a fresh password printed at the end, so the pages and the API can be
tried right away (`licledger serve`, then ``/signin``, or `curl -H "Authorization: Bearer
<token>" …/api/v1/me`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from licence_service.domain.errors import ConflictError
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.people.passwords import generate_password
from licence_service.people.service import (
    add_person,
    ensure_region_admin,
    get_person,
    issue_token,
    list_people,
    set_password,
)
from licence_service.region.runtime import Runtime

DEMO_TOKEN_DAYS = 1


@dataclass(frozen=True)
class DemoPeople:
    issuer: PersonInfo
    window: PersonInfo
    rows: list[dict[str, Any]]


def _ensure(rt: Runtime, username: str, unit: str, role: PersonRole) -> PersonInfo:
    try:
        return add_person(rt, username, unit, frozenset({role}))
    except ConflictError:  # made by an earlier run: keep it
        return get_person(rt, username)


def demo_people(rt: Runtime, agency_code: str, tag: str) -> DemoPeople:
    """The people (made once) with new tokens; the first run also shows the administrator's
    one-time password."""
    first = ensure_region_admin(rt)
    admins = [p for p in list_people(rt) if PersonRole.REGION_ADMIN in p.roles]
    people = [
        admins[0],
        _ensure(rt, f"issuer-{tag}", agency_code, PersonRole.ISSUER),
        _ensure(rt, f"window-{tag}", agency_code, PersonRole.WINDOW_STAFF),
        _ensure(rt, f"auditor-{tag}", "audit", PersonRole.AUDITOR),
    ]
    rows = []
    for person in people:
        issued = issue_token(rt, person.username, DEMO_TOKEN_DAYS, label="demo")
        roles = ",".join(sorted(r.value for r in person.roles))
        row = {"username": person.username, "unit": person.unit, "roles": roles,
               "token": issued.token}  # fmt: skip
        if first is not None and person.username == first.person.username:
            row["password"] = first.password
        elif PersonRole.REGION_ADMIN not in person.roles:
            # a fresh password each run, so the pages can be signed in to right away
            row["password"] = generate_password()
            set_password(rt, person.username, row["password"])
        rows.append(row)
    return DemoPeople(people[1], people[2], rows)


def print_people(
    console: Console,
    title: str,
    rows: list[dict[str, Any]],
    url: str,
    serve: str = "licledger serve",
) -> None:
    """The credentials, shown once (only their hashes are kept), and how to serve the region
    they belong to (``serve``) at ``url``."""
    table = Table(title=title)
    for col in ("username", "unit", "roles", f"token (valid {DEMO_TOKEN_DAYS} day)"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        table.add_row(r["username"], r["unit"], r["roles"], r["token"])
    console.print(table)
    console.print(f"pages: {serve}, then open {url}/signin and sign in as:", markup=False)
    for r in rows:
        if "password" in r:
            console.print(f"  {r['username']} / {r['password']}  ({r['roles']})", markup=False)
    console.print(f"the counter needs no sign-in: {url}/verify", markup=False)
    console.print(f"the API: curl -H 'Authorization: Bearer <token>' {url}/api/v1/me",
                  markup=False)  # fmt: skip
