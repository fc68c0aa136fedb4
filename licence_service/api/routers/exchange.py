"""Exchange at scale between regions: the first-sync snapshot and push subscriptions.

The paged change feed itself is ``GET /federation/changes`` (``routers.federation``). Every
route here but the staff listing is called by another region with a signed request, and a
region sees and ends only its own subscriptions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from licence_service.api.bounds import RowId
from licence_service.api.deps import RegionAdmin, RuntimeDep
from licence_service.api.routers.federation import RegionCaller
from licence_service.api.routers.licences import ERRORS
from licence_service.federation.change_feed import MAX_LIMIT
from licence_service.federation.snapshot import snapshot_page
from licence_service.federation.subscriptions import list_subscriptions, subscribe, unsubscribe

router = APIRouter(tags=["sharing"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per page")]
Purpose = Annotated[
    str | None,
    Query(description="Release data of licences whose holder consented for this purpose"),
]


@router.get("/federation/snapshot", responses=ERRORS)
def snapshot_endpoint(
    rt: RuntimeDep,
    caller: RegionCaller,
    type: str,
    cursor: Annotated[str | None, Query(description="cursor of the previous page")] = None,
    limit: Limit = 100,
    purpose: Purpose = None,
) -> dict[str, Any]:
    """Every licence of a type as of one change number, page by page; continue with the
    feed from ``feed_cursor`` (snapshot then feed: every change exactly once)."""
    return snapshot_page(rt, caller, type, cursor, limit, purpose)


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=1, max_length=300, description="the webhook to push to")
    type: str = Field(min_length=1, max_length=32, description="licence type code")
    purpose: str = Field("", max_length=500)
    cursor: str | None = Field(None, description="start after (the snapshot's feed_cursor)")


@router.post("/federation/subscriptions", status_code=201, responses=ERRORS)
def subscribe_endpoint(
    body: SubscriptionIn, rt: RuntimeDep, caller: RegionCaller
) -> dict[str, Any]:
    """Subscribe the calling region's webhook to this region's changes of a type."""
    return subscribe(rt, caller, body.url, body.type, body.purpose, body.cursor)


@router.get("/federation/subscriptions", responses=ERRORS)
def own_subscriptions_endpoint(rt: RuntimeDep, caller: RegionCaller) -> list[dict[str, Any]]:
    """The calling region's active subscriptions here."""
    return list_subscriptions(rt, caller.region)


@router.delete("/federation/subscriptions/{subscription_id}", responses=ERRORS)
def unsubscribe_endpoint(
    subscription_id: RowId, rt: RuntimeDep, caller: RegionCaller
) -> dict[str, Any]:
    """End one of the calling region's subscriptions."""
    return unsubscribe(rt, subscription_id, caller.region)


@router.get("/exchange/subscriptions", responses=ERRORS)
def all_subscriptions_endpoint(rt: RuntimeDep, _: RegionAdmin) -> list[dict[str, Any]]:
    """Every region's active subscription to this region (its administrators)."""
    return list_subscriptions(rt)
