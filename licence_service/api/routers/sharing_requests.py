"""Sharing requests between regions: another region asks (signed), a reviewer of this region
approves or refuses, and the asking region fetches the data through ``/release`` with its
``request_id`` (metered)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from licence_service.api.bounds import RowId
from licence_service.api.deps import RuntimeDep, require_role
from licence_service.api.routers.federation import RegionCaller
from licence_service.api.routers.licences import ERRORS
from licence_service.federation.requests import (
    approve_request,
    list_requests,
    receive_request,
    refuse_request,
    request_status,
)
from licence_service.people.identity import PersonInfo, PersonRole

router = APIRouter(tags=["sharing"])

Reviewer = Annotated[PersonInfo, Depends(require_role(PersonRole.SHARING_REVIEWER))]


class SharingRequestIn(BaseModel):
    licence_id: str = Field(min_length=1, max_length=140)
    purpose: str = Field(min_length=1, max_length=500)
    fields: list[str] = Field(
        default_factory=list, max_length=50, description="Fields needed; empty: all shareable"
    )
    requested_by: str = Field("", max_length=100, description="Who asks, in the asking region")


class ApproveIn(BaseModel):
    valid_until: date | None = Field(None, description="Last day of use; default 30 days")
    use_cap: int | None = Field(None, ge=1, le=2**32 - 1, description="Most releases; none: no cap")
    fields_in_full: list[str] = Field(default_factory=list, max_length=50)


class RefuseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


@router.post("/federation/sharing-requests", status_code=201, responses=ERRORS)
def ask_endpoint(body: SharingRequestIn, rt: RuntimeDep, caller: RegionCaller) -> dict[str, Any]:
    """Another region asks for a licence's data for a purpose; it waits for review here."""
    return receive_request(rt, caller, body.licence_id, body.purpose, body.fields,
                           body.requested_by)  # fmt: skip


@router.get("/federation/sharing-requests/{request_id}", responses=ERRORS)
def status_endpoint(request_id: RowId, rt: RuntimeDep, caller: RegionCaller) -> dict[str, Any]:
    """Where the calling region's own request stands (pending, approved, refused; uses)."""
    return request_status(rt, caller, request_id)


@router.get("/sharing-requests", responses=ERRORS)
def list_endpoint(
    rt: RuntimeDep,
    person: Reviewer,
    state: Annotated[
        str | None, Query(description="PENDING (default), APPROVED, REFUSED or ALL")
    ] = "PENDING",
) -> list[dict[str, Any]]:
    """Requests the reviewer may decide: of their agency's licences, or all for the region's."""
    return list_requests(rt, person, None if state == "ALL" else state)


@router.post("/sharing-requests/{request_id}/approve", responses=ERRORS)
def approve_endpoint(
    request_id: RowId, body: ApproveIn, rt: RuntimeDep, person: Reviewer
) -> dict[str, Any]:
    """Approve as the signed-in reviewer (anchored), until a date and up to a cap."""
    return approve_request(rt, person, request_id, body.valid_until, body.use_cap,
                           body.fields_in_full)  # fmt: skip


@router.post("/sharing-requests/{request_id}/refuse", responses=ERRORS)
def refuse_endpoint(
    request_id: RowId, body: RefuseIn, rt: RuntimeDep, person: Reviewer
) -> dict[str, Any]:
    """Refuse as the signed-in reviewer, with the reason the asking region is told."""
    return refuse_request(rt, person, request_id, body.reason)
