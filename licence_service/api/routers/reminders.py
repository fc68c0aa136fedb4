"""`GET /api/v1/reminders`: an agency's licences expiring soon and inspections due."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from licence_service.api.deps import RuntimeDep, require_role
from licence_service.api.routers.licences import ERRORS
from licence_service.notify.reminders import MAX_WITHIN_DAYS
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.services.reminders import reminders_list

router = APIRouter(prefix="/reminders", tags=["reminders"])
AgencyStaff = Annotated[
    PersonInfo,
    Depends(
        require_role(
            PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AGENCY_ADMIN, PersonRole.AUDITOR
        )
    ),
]


@router.get("", responses=ERRORS)
def list_reminders(
    rt: RuntimeDep,
    person: AgencyStaff,
    within: Annotated[int, Query(ge=0, le=MAX_WITHIN_DAYS, description="days ahead")] = 30,
    agency: Annotated[
        str | None, Query(max_length=18, description="agency code (default: your own)")
    ] = None,
) -> dict[str, Any]:
    """Licences of the agency expiring within `within` days and inspections due by then
    (overdue first), holders masked unless the caller is an issuer of that agency. Issuers
    and agency administrators see their own agency; window staff and auditors any agency
    of the region (auditors must name it)."""
    return reminders_list(rt, within, agency, person)
