"""Dependencies: the region's runtime and the calling person, their roles and their scope.

A caller is a person identified by ``Authorization: Bearer <personal token>``. Every
dependency here is async on purpose: it runs in the request's own context, which the
endpoint (run in a worker thread) inherits, so the person set here is the one the endpoint's
actions are logged under. Database look-ups go to the thread pool.

Scope (least privilege; the table in tests/security/test_item09_people.py is the contract):
issuers act only on their own agency's licences; window staff and auditors read licences of
the whole region; region administrators govern membership and people, not licences.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from licence_service.audit import oplog
from licence_service.people.identity import AuthenticationError, PersonInfo, PersonRole
from licence_service.people.service import authenticate, home_region
from licence_service.region.runtime import Runtime
from licence_service.store.queries import find_licence


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def get_runtime(request: Request) -> Runtime:
    """Async so that FastAPI does not send it to the thread pool: it only reads app state."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_person(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <personal token>")] = None,
) -> PersonInfo:
    """The person whose live personal token is presented; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "send Authorization: Bearer <personal token> (sign in at POST /api/v1/auth/token "
            "or ask an administrator: `licledger user token issue`)",
            headers=challenge,
        )
    try:
        person = await run_in_threadpool(authenticate, runtime_of(request), token.strip())
    except AuthenticationError as exc:
        raise HTTPException(401, str(exc), headers=challenge) from None
    oplog.set_actor(person.label, min(person.roles).value)
    return person


CurrentPerson = Annotated[PersonInfo, Depends(current_person)]


def _region(rt: Runtime) -> int:
    with rt.sessions() as s:
        return home_region(s)


def require_role(*roles: PersonRole):  # type: ignore[no-untyped-def]
    """A person of this region holding one of ``roles``; logged acting in that role."""

    async def check(request: Request, person: CurrentPerson) -> PersonInfo:
        held = sorted(r for r in roles if r in person.roles)
        if not held:
            needed = " or ".join(r.value for r in roles)
            raise HTTPException(403, f"{person.label} may not do this (needs {needed})")
        region = await run_in_threadpool(_region, runtime_of(request))
        if person.region_code != region:
            raise HTTPException(
                403, f"{person.label} belongs to region {person.region_code}, not {region}"
            )
        oplog.set_actor(person.label, held[0].value)
        return person

    return check


def ensure_agency(person: PersonInfo, agency_code: str | None, what: str) -> None:
    """Refuse acting for an agency other than the person's own."""
    if agency_code != person.agency_code:
        raise HTTPException(
            403, f"{person.label} acts only for agency {person.agency_code}; {what} is "
            f"of agency {agency_code}",
        )  # fmt: skip


def _licence_agency(rt: Runtime, licence_id: str) -> str:
    with rt.sessions() as s:
        return find_licence(s, licence_id).agency.code


Issuer = Annotated[PersonInfo, Depends(require_role(PersonRole.ISSUER))]
Staff = Annotated[
    PersonInfo,
    Depends(require_role(PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AUDITOR)),
]
WindowStaff = Annotated[PersonInfo, Depends(require_role(PersonRole.WINDOW_STAFF))]
Auditor = Annotated[PersonInfo, Depends(require_role(PersonRole.AUDITOR))]
RegionAdmin = Annotated[PersonInfo, Depends(require_role(PersonRole.REGION_ADMIN))]
PeopleAdmin = Annotated[
    PersonInfo, Depends(require_role(PersonRole.REGION_ADMIN, PersonRole.AGENCY_ADMIN))
]
Member = Annotated[PersonInfo, Depends(require_role(*PersonRole))]


async def licence_issuer(licence_id: str, request: Request, person: Issuer) -> PersonInfo:
    """An issuer of the agency that issued the licence in the path."""
    code = await run_in_threadpool(_licence_agency, runtime_of(request), licence_id)
    ensure_agency(person, code, licence_id)
    return person


async def licence_reader(licence_id: str, request: Request, person: Staff) -> PersonInfo:
    """Window staff and auditors of the region; an issuer only for their own agency."""
    if person.roles & {PersonRole.WINDOW_STAFF, PersonRole.AUDITOR}:
        return person
    return await licence_issuer(licence_id, request, person)


LicenceIssuer = Annotated[PersonInfo, Depends(licence_issuer)]
LicenceReader = Annotated[PersonInfo, Depends(licence_reader)]
