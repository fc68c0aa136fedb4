"""Cross-region endpoints: signed requests from other regions, consents, exchange feeds."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select, tuple_

from ledger_client.index import IndexedBatch, IndexedStatus
from ledger_client.registry import LeafStatus
from licence_service.api.bounds import BlockNumber, ProposalId, RegionCode, RowId
from licence_service.api.deps import (
    LicenceReader,
    Member,
    RegionAdmin,
    RuntimeDep,
    Staff,
    WindowStaff,
)
from licence_service.api.routers.licences import ERRORS
from licence_service.domain.errors import InvalidInputError
from licence_service.federation.auth import Caller, verify_request
from licence_service.federation.change_feed import MAX_LIMIT, changes_since, feed_page
from licence_service.federation.client import domain
from licence_service.federation.sharing import (
    grant_consent,
    release,
    sharing_history,
    withdraw_consent,
)
from licence_service.region.runtime import Runtime
from licence_service.services.disclosure import disclose

router = APIRouter(tags=["sharing"])


async def region_caller(request: Request) -> Caller:
    """The calling region, proven by its EIP-712 signature and the on-chain directory."""
    rt: Runtime = request.app.state.runtime
    body = await request.body()
    query = request.url.query
    path = f"{request.url.path}?{query}" if query else request.url.path
    with rt.sessions() as s:
        own_region = rt.agency(s).region_code
    return verify_request(
        domain(rt),
        dict(request.headers),
        request.method,
        path,
        body,
        rt.directory().account_region,
        rt.sessions,
        audience=own_region,
    )


RegionCaller = Annotated[Caller, Depends(region_caller)]


class ReleaseIn(BaseModel):
    purpose: str = Field(min_length=1)
    request_id: RowId | None = Field(
        None, description="Release under this approved sharing request instead of a consent"
    )


class ConsentIn(BaseModel):
    holder_id: str
    grantee_region: RegionCode
    purpose: str = Field(min_length=1)
    valid_until: date
    licence_id: str | None = None
    type_code: str | None = None
    fields_in_full: list[str] = Field(default_factory=list)


@router.post("/federation/licences/{licence_id}/release", responses=ERRORS)
def release_endpoint(
    licence_id: str, body: ReleaseIn, rt: RuntimeDep, caller: RegionCaller
) -> dict[str, Any]:
    """Another region asks for a licence's data for a purpose; the holder's consent decides,
    or, with ``request_id``, the approval of that region's sharing request (metered)."""
    if body.request_id is not None:
        from licence_service.federation.requests import release_under_request

        return release_under_request(rt, caller, licence_id, body.purpose, body.request_id)
    return release(rt, caller, licence_id, body.purpose)


@router.get("/federation/changes", responses=ERRORS)
def changes_endpoint(
    rt: RuntimeDep,
    caller: RegionCaller,
    type: str,
    since: Annotated[
        datetime | None, Query(description="the older, unpaged form: changed since a time")
    ] = None,
    cursor: Annotated[str | None, Query(description="cursor of the previous answer")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    purpose: Annotated[
        str | None,
        Query(description="Release data of licences whose holder consented for this purpose"),
    ] = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Changes of a type after ``cursor``, page by page (``{"items", "cursor", "more"}``):
    identifiers, status and leaves; personal data only for consented licences, released
    (masked, logged, receipted) as by ``/release``. With ``since`` (and no cursor): the older
    unpaged list of licences changed since that time."""
    if since is not None and cursor is None:
        return changes_since(rt, caller, type, since, purpose)
    return feed_page(rt, caller, type, cursor, limit, purpose)


@router.post("/consents", status_code=201, responses=ERRORS)
def consent_endpoint(body: ConsentIn, rt: RuntimeDep, person: WindowStaff) -> dict[str, Any]:
    """Record a holder's consent, confirmed at this region's counter or portal."""
    res = grant_consent(
        rt,
        body.holder_id,
        body.grantee_region,
        body.purpose,
        body.valid_until,
        body.licence_id,
        body.type_code,
        body.fields_in_full,
        confirmed_by=person.label,
    )
    return asdict(res)


@router.post("/consents/{consent_id}/withdraw", responses=ERRORS)
def withdraw_endpoint(consent_id: RowId, rt: RuntimeDep, _: WindowStaff) -> dict[str, Any]:
    return asdict(withdraw_consent(rt, consent_id))


@router.get("/licences/{licence_id}/sharing", responses=ERRORS)
def history_endpoint(
    licence_id: str, rt: RuntimeDep, person: LicenceReader
) -> list[dict[str, Any]]:
    """Where this licence's data went (each release with its on-chain receipt); field names
    only. Counted as a read of the licence (read log, enumeration limit)."""
    disclose(rt, person, licence_id, "GET /api/v1/licences/{licence_id}/sharing")
    return sharing_history(rt, licence_id)


@router.get("/exchange/status-changes", responses=ERRORS)
def status_feed(
    rt: RuntimeDep,
    _: Staff,
    region: RegionCode,
    since_block: BlockNumber = 0,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Status changes of a region's licences read from the chain, page by page."""
    block, index = since_block, -1
    if after:
        try:
            block, index = (int(x) for x in after.split(":"))
        except ValueError:
            raise InvalidInputError("after must be a cursor like 123:0", field="after") from None
    rt.indexer.sync()
    with rt.sessions() as s:
        rows = s.scalars(
            select(IndexedStatus)
            .join(
                IndexedBatch,
                (IndexedBatch.batch_id == IndexedStatus.batch_id)
                & (IndexedBatch.contract == IndexedStatus.contract),
            )
            .where(
                IndexedBatch.region == region,
                tuple_(IndexedStatus.block_number, IndexedStatus.log_index) > (block, index),
            )
            .order_by(IndexedStatus.block_number, IndexedStatus.log_index)
            .limit(limit + 1)
        ).all()
    page = rows[:limit]
    items = [
        {
            "leaf": r.leaf.hex(),
            "status": LeafStatus(r.to_status).name,
            "reason": r.reason,
            "time": r.timestamp,
            "block": r.block_number,
            "tx": r.tx_hash,
        }
        for r in page
    ]
    cursor = None
    if len(rows) > limit:
        last = page[-1]
        cursor = f"{last.block_number}:{last.log_index}"
    return {"items": items, "next": cursor}


@router.get("/regions", responses=ERRORS)
def regions_endpoint(rt: RuntimeDep, _: Member) -> dict[str, Any]:
    """The consortium: member regions, accounts, certificates, proposals."""
    from licence_service.federation.region import list_regions

    return list_regions(rt)


class ProposalIn(BaseModel):
    request: dict[str, Any] | None = Field(None, description="A new region's membership request")
    remove_region: RegionCode | None = None


@router.post("/regions/proposals", status_code=201, responses=ERRORS)
def propose_endpoint(body: ProposalIn, rt: RuntimeDep, _: RegionAdmin) -> dict[str, Any]:
    """Propose admitting a region (its membership request) or removing one."""
    from licence_service.federation.region import propose_region, propose_removal

    if (body.request is None) == (body.remove_region is None):
        raise InvalidInputError("give either request or remove_region", field="request")
    if body.request is not None:
        return asdict(propose_region(rt, body.request))
    return asdict(propose_removal(rt, body.remove_region or 0))


@router.post("/regions/proposals/{proposal_id}/approve", responses=ERRORS)
def approve_region_endpoint(
    proposal_id: ProposalId, rt: RuntimeDep, _: RegionAdmin
) -> dict[str, Any]:
    """Approve for this region; the proposal executes when enough regions approved."""
    from licence_service.federation.region import approve_proposal

    return asdict(approve_proposal(rt, proposal_id))
