"""People: sign-in, the caller's own account, and administration of people and tokens.

A region administrator manages the people of the region; an agency administrator those of
its own agency (and may give them only agency roles). A token is issued only to its owner
(by sign-in or by the owner's own request), so no administrator can act as someone else
through the API; administrators list, revoke and disable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from licence_service.api.deps import CurrentPerson, PeopleAdmin, RuntimeDep
from licence_service.api.routers.licences import ERRORS
from licence_service.people.identity import (
    PersonInfo,
    PersonRole,
    TooManyAttemptsError,
    parse_roles,
)
from licence_service.people.passwords import generate_password
from licence_service.people.service import (
    MAX_TOKEN_DAYS,
    add_person,
    disable_person,
    get_person,
    issue_token,
    list_people,
    list_tokens,
    revoke_token,
    token_owner,
)
from licence_service.people.signin import sign_in, unlock_person
from licence_service.region.runtime import Runtime

router = APIRouter(tags=["people"])
LIMITED: dict[int | str, dict[str, object]] = {
    **ERRORS,
    429: {"description": "Inside a sign-in delay after failed tries (see Retry-After)"},
}


class SignInIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    days: int = Field(1, ge=1, le=MAX_TOKEN_DAYS, description="Token lifetime in days")


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; only its hash is kept")
    prefix: str
    username: str
    expires_at: datetime


class TokenIn(BaseModel):
    label: str = Field("", max_length=100)
    days: int = Field(90, ge=1, le=MAX_TOKEN_DAYS)


class PersonIn(BaseModel):
    username: str
    unit: str = Field(description="'region', 'audit' or an agency code of this region")
    roles: list[str] = Field(min_length=1)
    display_name: str = ""
    password: str | None = Field(None, description="Left out: one is generated and shown once")


@router.post("/auth/token", status_code=201, response_model=TokenOut, responses=LIMITED)
def sign_in_endpoint(body: SignInIn, rt: RuntimeDep, request: Request) -> TokenOut:
    """Username and password for a new personal token (failed attempts are throttled per
    account, per source and per both, with doubling delays, and logged)."""
    client = request.client.host if request.client else "?"
    try:
        issued = sign_in(rt, body.username, body.password, client, body.days)
    except TooManyAttemptsError as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    return TokenOut.model_validate(issued, from_attributes=True)


@router.get("/me", responses=ERRORS)
def me_endpoint(person: CurrentPerson) -> dict[str, Any]:
    """Who the token belongs to: unit, region, roles."""
    return person.to_json()


def manages(rt: Runtime, admin: PersonInfo, username: str) -> PersonInfo:
    """The person ``username`` if ``admin`` manages them; 403 otherwise."""
    target = get_person(rt, username)
    if PersonRole.REGION_ADMIN in admin.roles and target.region_code == admin.region_code:
        return target
    if PersonRole.AGENCY_ADMIN in admin.roles and target.agency_code == admin.agency_code:
        return target
    raise HTTPException(403, f"{admin.label} does not manage {target.label}")


def _self_or_manager(rt: Runtime, caller: PersonInfo, username: str) -> None:
    if caller.username != username:
        manages(rt, caller, username)


@router.get("/people", responses=ERRORS)
def people_endpoint(rt: RuntimeDep, admin: PeopleAdmin) -> list[dict[str, object]]:
    """The people this administrator manages."""
    scope = None if PersonRole.REGION_ADMIN in admin.roles else admin.agency_code
    return [p.to_json() for p in list_people(rt, scope)]


@router.post("/people", status_code=201, responses=ERRORS)
def add_person_endpoint(body: PersonIn, rt: RuntimeDep, admin: PeopleAdmin) -> dict[str, object]:
    """Add a person; an agency administrator only to its own agency."""
    if PersonRole.REGION_ADMIN not in admin.roles and body.unit != admin.agency_code:
        raise HTTPException(403, f"{admin.label} adds people to agency {admin.agency_code} only")
    password = body.password or generate_password()
    person = add_person(
        rt, body.username, body.unit, parse_roles(body.roles), body.display_name, password
    )
    shown = {} if body.password else {"password": password}
    return {**person.to_json(), **shown}


@router.post("/people/{username}/disable", responses=ERRORS)
def disable_endpoint(username: str, rt: RuntimeDep, admin: PeopleAdmin) -> dict[str, object]:
    """Disable a person: password and tokens stop working at once."""
    manages(rt, admin, username)
    return disable_person(rt, username).to_json()


@router.post("/people/{username}/unlock", responses=ERRORS)
def unlock_endpoint(username: str, rt: RuntimeDep, admin: PeopleAdmin) -> dict[str, object]:
    """Clear a person's failed sign-ins (account and per-source delays) so they may try again
    at once; ``cleared`` is how many consecutive failures there were."""
    manages(rt, admin, username)
    return {"username": username, "cleared": unlock_person(rt, username)}


@router.get("/people/{username}/tokens", responses=ERRORS)
def tokens_endpoint(
    username: str, rt: RuntimeDep, caller: CurrentPerson
) -> list[dict[str, object]]:
    """A person's tokens by prefix (never the secret); the person or an administrator."""
    _self_or_manager(rt, caller, username)
    return list_tokens(rt, username)


@router.post("/people/{username}/tokens", status_code=201, response_model=TokenOut,
             responses=ERRORS)  # fmt: skip
def new_token_endpoint(
    username: str, body: TokenIn, rt: RuntimeDep, caller: CurrentPerson
) -> TokenOut:
    """A new token for the caller (only for themselves), shown once."""
    if caller.username != username:
        raise HTTPException(403, f"{caller.label} may issue tokens only to themselves")
    issued = issue_token(rt, username, body.days, body.label)
    return TokenOut.model_validate(issued, from_attributes=True)


@router.post("/people/{username}/tokens/{prefix}/revoke", status_code=204, responses=ERRORS)
def revoke_token_endpoint(
    username: str, prefix: str, rt: RuntimeDep, caller: CurrentPerson
) -> None:
    """Revoke a token; the person or an administrator."""
    _self_or_manager(rt, caller, username)
    if token_owner(rt, prefix) != username:
        raise HTTPException(404, f"{username} has no token with prefix {prefix}")
    revoke_token(rt, prefix)
