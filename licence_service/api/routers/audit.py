"""Auditor endpoints: replay, state at a time, statistics (read-only, auditor role)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from licence_service.api.bounds import BlockNumber, RegionCode
from licence_service.api.deps import Auditor, RuntimeDep, require_role
from licence_service.api.headers import report_page
from licence_service.api.routers.licences import ERRORS
from licence_service.audit import workload as wl
from licence_service.audit.history import read_history
from licence_service.audit.replay import replay
from licence_service.audit.reports import render_html, render_pdf
from licence_service.audit.stats import statistics, to_csv
from licence_service.audit.summary import report_json, state_at
from licence_service.domain.errors import InvalidInputError
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.services.disclosure import read_alerts
from licence_service.services.read_log import ReadQuery, read_log, search_subject

router = APIRouter(prefix="/audit", tags=["audit"])
# who watches the readers: auditors, and the region administrator who can disable a person
Supervisor = Annotated[
    PersonInfo, Depends(require_role(PersonRole.AUDITOR, PersonRole.REGION_ADMIN))
]


@router.get(
    "/replay",
    responses={
        200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}},
        **ERRORS,
    },
)
def replay_endpoint(
    rt: RuntimeDep,
    _: Auditor,
    format: Annotated[str, Query(pattern="^(json|html|pdf)$")] = "json",
    from_block: BlockNumber | None = None,
    region: RegionCode | None = None,
) -> Any:
    """Rebuild the history from the chain and compare it with the database."""
    result = replay(rt, from_block, region)
    report = report_json(rt, result)
    stats = statistics(rt, result.history)
    if format == "html":
        return report_page(render_html(report, stats))
    if format == "pdf":
        return Response(render_pdf(report, stats), media_type="application/pdf")
    return {**report, "statistics": stats}


@router.get("/state", responses=ERRORS)
def state_endpoint(rt: RuntimeDep, _: Auditor, at: datetime) -> list[dict[str, Any]]:
    """Every licence's status at time ``at``, from the chain."""
    return state_at(rt, at)


@router.get("/stats", responses=ERRORS)
def stats_endpoint(
    rt: RuntimeDep,
    _: Auditor,
    period: str = "month",
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Counts by region, agency, licence type and period; `format=csv` for spreadsheets."""
    if period not in ("month", "day"):
        raise InvalidInputError("period must be month or day", field="period")
    rows = statistics(rt, read_history(rt.registry(), rt.deployment.block_number), period)
    if format == "csv":
        return PlainTextResponse(to_csv(rows), media_type="text/csv")
    return rows


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/workload",
    responses={200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}}, **ERRORS},
)
def workload_endpoint(
    rt: RuntimeDep,
    _: Auditor,
    by: Annotated[str, Query(pattern="^(agency|type|window|person)$")] = "agency",
    period: Annotated[str, Query(pattern="^(day|month|quarter|year)$")] = "month",
    agency: Annotated[str | None, Query(max_length=40)] = None,
    type_code: Annotated[str | None, Query(alias="type", max_length=32)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Any:
    """Workload: issued, changed, status changes, verifications (counts only) and releases by
    agency, licence type, window or person, per day, month, quarter or year (`format=csv` or
    `xlsx` for spreadsheets)."""
    rows = wl.workload(rt, wl.Query.of(by, period, agency, type_code, start, end))
    name = f"licledger-workload-{by}-{period}"
    if format == "csv":
        return PlainTextResponse(wl.to_csv(rows, by), media_type="text/csv",
                                 headers=_attachment(f"{name}.csv"))  # fmt: skip
    if format == "xlsx":
        return Response(wl.to_xlsx(rows, by), media_type=XLSX, headers=_attachment(f"{name}.xlsx"))
    return rows


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get("/reads", responses=ERRORS)
def reads_endpoint(
    rt: RuntimeDep,
    _: Supervisor,
    reader: Annotated[str | None, Query(max_length=120)] = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    purpose: Annotated[str | None, Query(max_length=200)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    all: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """The read log, newest first: who viewed whose personal data (the subject: a licence,
    or a holder by keyed hash), for what purpose, when and through which route. Filters:
    `reader` (a person's label), `subject` (a licence identifier, a holder ID or a logged
    subject), `purpose` (contains), `from`/`to` (dates, inclusive); `all=true`: masked reads
    too."""
    q = ReadQuery(reader, search_subject(rt, subject), purpose, start, end, not all, limit)
    return read_log(rt, q)


@router.get("/read-alerts", responses=ERRORS)
def read_alerts_endpoint(
    rt: RuntimeDep, _: Supervisor, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, Any]]:
    """People throttled for reading too many distinct licences a minute (enumeration)."""
    return read_alerts(rt, limit)
