"""`GET /api/v1/deadlines`: the deadline cards (黄牌/红牌) the caller may see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from licence_service.api.deps import RuntimeDep, require_role
from licence_service.api.routers.licences import ERRORS
from licence_service.people.identity import PersonInfo
from licence_service.services.deadlines import CARD_VIEWERS, deadline_cards

router = APIRouter(prefix="/deadlines", tags=["deadlines"])
Viewer = Annotated[PersonInfo, Depends(require_role(*sorted(CARD_VIEWERS)))]


@router.get("", responses=ERRORS)
def list_deadlines(
    rt: RuntimeDep,
    person: Viewer,
    agency: Annotated[
        str | None, Query(max_length=18, description="agency code (auditors; staff: their own)")
    ] = None,
    state: Annotated[
        str | None, Query(pattern="^(green|yellow|red)$", description="only this colour")
    ] = None,
) -> dict[str, Any]:
    """Pending joint reviews, sharing requests, consents running out, licences expiring and
    inspections due or overdue, each with its start, time limit and state: yellow from two
    thirds of the limit, red past it. Auditors see their region's cards; agency staff the
    cards their own agency must act on (another agency's: 403)."""
    return deadline_cards(rt, person, agency, state)
