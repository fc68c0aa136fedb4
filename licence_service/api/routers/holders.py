"""Licences by holder: what window staff and issuers see of one citizen's or company's
licences when they enter the ID (``services.holder_lookup``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from licence_service.api.deps import RuntimeDep, require_role
from licence_service.api.routers.federation import RegionCaller
from licence_service.api.routers.licences import ERRORS
from licence_service.domain.national_ids import HolderIdType
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.services.holder_lookup import licences_for_region, licences_of_holder

router = APIRouter(tags=["holders"])
WindowOrIssuer = Annotated[
    PersonInfo, Depends(require_role(PersonRole.WINDOW_STAFF, PersonRole.ISSUER))
]


class HolderLicenceOut(BaseModel):
    licence_id: str
    base_id: str
    type_code: str
    type_name: str
    agency_code: str
    agency_name: str
    region_code: int
    status: str = Field(description="ACTIVE, SUSPENDED, REVOKED, …, or EXPIRED")
    valid_from: str
    valid_until: str
    holder_name: str = Field(description="Masked unless the caller sees this licence in full")
    fields: dict[str, str]
    in_full: bool = Field(description="The disclosure rule's answer for the caller")
    consent_purpose: str | None = Field(
        None, description="Another region's licence, shown under the holder's consent for this"
    )


class HolderLicencesOut(BaseModel):
    holder_id: str = Field(description="Masked unless every licence shown is seen in full")
    holder_id_type: str
    looked_up_at: str
    licences: list[HolderLicenceOut]
    unreachable_regions: list[int] = Field(
        default_factory=list, description="Peer regions (LICLEDGER_PEER_REGIONS) not answering"
    )


class HolderIn(BaseModel):
    holder_id: str = Field(max_length=64, description="Citizen ID or credit code")


@router.get("/holders/{holder_id}/licences", response_model=HolderLicencesOut, responses=ERRORS)
async def holder_licences(
    holder_id: Annotated[
        str,
        Path(
            max_length=64,
            description="Citizen ID (GB 11643) or unified social credit code (GB 32100), or a "
            "scanned holder code LLH1:<ID>",
        ),
    ],
    rt: RuntimeDep,
    person: WindowOrIssuer,
    holder_id_type: Annotated[HolderIdType | None, Query()] = None,
) -> HolderLicencesOut:
    """The holder's licences of the caller's region with status, masked as the caller's role
    allows; another region's only under the holder's consent. Logged (operation log, read
    log) and counted against the caller's read limit (429 with `Retry-After` beyond it); a
    wrong check character is a 422 naming `holder_id`."""
    found = await run_in_threadpool(
        licences_of_holder, rt, person, holder_id, holder_id_type, "GET /api/v1/holders"
    )
    return HolderLicencesOut.model_validate(found, from_attributes=True)


@router.post("/federation/holders/licences", response_model=HolderLicencesOut, responses=ERRORS)
async def holder_licences_for_region(
    body: HolderIn, rt: RuntimeDep, caller: RegionCaller
) -> HolderLicencesOut:
    """Another region's window asks (signed request) for a holder's licences here: only those
    a live consent of the holder to the calling region covers, released as it says."""
    found = await run_in_threadpool(licences_for_region, rt, caller.region, body.holder_id)
    return HolderLicencesOut.model_validate(found, from_attributes=True)
