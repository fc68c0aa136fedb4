"""The audit room (``/audit``, auditors only): the replay report, the state at a point in
time, statistics with a chart (inline SVG, no chart library), filterable by agency, licence
type and period, a CSV export of the same rows, the workload by agency, type, window or person
(``audit_workload``: charts, CSV and .xlsx), the operation log by person, and the read log's
search (``audit_reads``).

Every number comes from the functions ``licledger audit …`` calls (``audit.replay``,
``audit.summary``, ``audit.stats``, ``audit.oplog_view``): one service layer, two faces.
Reading pages only (GET): nothing here changes state, so no form needs a CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages import audit_workload
from licence_service.api.pages.audit_reads import ReadsDep, ReadsView, reads_html
from licence_service.api.pages.audit_workload import WorkloadDep, WorkloadView, workload_html
from licence_service.api.pages.deadlines_section import deadlines_section
from licence_service.api.pages.layout import frame, table
from licence_service.api.pages.session import page_role
from licence_service.api.pages.texts import language, texts
from licence_service.audit.history import read_history
from licence_service.audit.oplog_view import actions_of, people_summary
from licence_service.audit.replay import replay
from licence_service.audit.reports import chart_svg
from licence_service.audit.stats import COLUMNS, filter_rows, statistics, to_csv
from licence_service.audit.summary import report_json, state_at
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import load_licence_types
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.region.runtime import Runtime
from licence_service.store.models import Agency

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(audit_workload.router)
AuditorPage = Annotated[PersonInfo, Depends(page_role(PersonRole.AUDITOR))]


@dataclass(frozen=True)
class Filters:
    """The page's filters, from its query string; checked like any other input."""

    agency: str = ""
    type_code: str = ""
    period: str = "month"
    start: str = ""
    end: str = ""

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode(
            {
                "agency": self.agency,
                "type": self.type_code,
                "period": self.period,
                "from": self.start,
                "to": self.end,
            }
        )


def _filters(
    agency: Annotated[str, Query(max_length=40)] = "",
    type_code: Annotated[str, Query(alias="type", max_length=32)] = "",
    period: str = "month",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Filters:
    if period not in ("month", "day"):
        raise InvalidInputError("period must be month or day", field="period")
    for name, value in (("from", start), ("to", end)):
        if value and not _is_period(value):
            raise InvalidInputError(f"{name} must be YYYY-MM or YYYY-MM-DD", field=name)
    return Filters(agency.strip(), type_code.strip().upper(), period, start, end)


def _is_period(text: str) -> bool:
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        return True
    return False


FiltersDep = Annotated[Filters, Depends(_filters)]


def _stats(rt: Runtime, f: Filters) -> list[dict[str, Any]]:
    history = read_history(rt.registry(), rt.deployment.block_number)
    return filter_rows(statistics(rt, history, f.period), f.agency, f.type_code, f.start, f.end)


@router.get("/audit/stats.csv")
async def audit_csv(rt: RuntimeDep, _: AuditorPage, f: FiltersDep) -> Response:
    """The filtered statistics as a CSV download (the CLI's ``audit stats --csv`` rows)."""
    rows = await run_in_threadpool(_stats, rt, f)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="licledger-stats-{stamp}.csv"'},
    )


def _options(values: list[tuple[str, str]], chosen: str, any_label: str) -> str:
    opts = [f"<option value=''>{escape(any_label)}</option>"]
    for value, label in values:
        sel = " selected" if value == chosen else ""
        opts.append(f"<option value='{escape(value)}'{sel}>{escape(label)}</option>")
    return "".join(opts)


def _filter_form(rt: Runtime, t: dict[str, str], f: Filters, at: str, actor: str) -> str:
    with rt.sessions() as s:
        agencies = [(a.code, f"{a.name} ({a.code})") for a in s.scalars(select(Agency))]
    types = [(code, f"{lt.name} ({code})") for code, lt in sorted(load_licence_types().items())]
    periods = "".join(
        f"<option value='{p}'{' selected' if p == f.period else ''}>{escape(t['a_' + p])}</option>"
        for p in ("month", "day")
    )
    return (
        "<form method='get' action='/audit' class='filters' id='filters'>"
        f"<label>{escape(t['a_agency'])}<select name='agency' id='f-agency'>"
        f"{_options(agencies, f.agency, t['a_any'])}</select></label>"
        f"<label>{escape(t['f_type'])}<select name='type' id='f-type'>"
        f"{_options(types, f.type_code, t['a_any'])}</select></label>"
        f"<label>{escape(t['a_period'])}<select name='period'>{periods}</select></label>"
        f"<label>{escape(t['a_from'])}<input name='from' id='f-from' value='{escape(f.start)}' "
        "placeholder='2026-01' size='10'></label>"
        f"<label>{escape(t['a_to'])}<input name='to' id='f-to' value='{escape(f.end)}' "
        "placeholder='2026-12' size='10'></label>"
        f"<label>{escape(t['a_state_at'])}<input name='at' id='f-at' value='{escape(at)}' "
        "placeholder='2026-03-01T00:00:00Z' size='20'></label>"
        f"<label>{escape(t['a_actor'])}<input name='actor' id='f-actor' value='{escape(actor)}' "
        "size='16'></label>"
        f"<button type='submit' id='apply'>{escape(t['a_apply'])}</button></form>"
    )


def _replay_html(t: dict[str, str], report: dict[str, Any]) -> str:
    s = report["summary"]
    ok = report["consistent"]
    cards = "".join(
        f"<div class='card'><b>{escape(str(s[k]))}</b>{escape(t['a_' + k])}</div>"
        for k in ("batches", "leaves", "status_changes", "licences", "discrepancies")
    )
    state = t["a_consistent"] if ok else t["a_inconsistent"]
    rows = [(d["kind"], d["licence"], d["detail"], d["since"]) for d in report["discrepancies"]]
    chain = report["chain"]
    return (
        f"<h2>{escape(t['a_replay'])}</h2>"
        f"<p id='replay-state' class='verdict {'valid' if ok else 'invalid'}' "
        f"data-consistent='{str(ok).lower()}'>{escape(state)}</p>"
        f"<p>{escape(t['a_blocks'])} {chain['from_block']}–{chain['to_block']} · "
        f"{escape(report['generated_at'])}</p><div class='cards'>{cards}</div>"
        + table(("kind", "licence", "detail", "since"), rows, "discrepancies", t["a_none"])
    )


def _state_html(rt: Runtime, t: dict[str, str], at: str) -> str:
    if not at:
        return ""
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError("at must be a time like 2026-03-01T00:00:00Z", field="at") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    rows = [(r["licence"], r["version"], r["status"]) for r in state_at(rt, when)]
    title = t["a_state"].replace("{t}", f"{when:%Y-%m-%d %H:%M:%S} UTC")
    return f"<h2 id='state-title'>{escape(title)}</h2>" + table(
        ("licence", "version", "status"), rows, "state", t["a_none"]
    )


def _oplog_html(rt: Runtime, t: dict[str, str], actor: str) -> str:
    people = table(
        ("actor", "actions", "first", "last"),
        [tuple(r.values()) for r in people_summary(rt)],
        "oplog-people",
        t["a_none"],
    )
    actions = ""
    if actor:
        rows = [
            (a["seq"], a["at"], a["role"], a["action"], a["target"], "✔" if a["sealed"] else "…")
            for a in actions_of(rt, actor)
        ]
        actions = f"<h3>{escape(actor)}</h3>" + table(
            ("seq", "at", "role", "action", "target", "sealed"), rows, "oplog-actions", t["a_none"]
        )
    return f"<h2>{escape(t['a_oplog'])}</h2>{people}{actions}"


def _type_chart(rows: list[dict[str, Any]], t: dict[str, str]) -> str:
    """Licences issued and amended per licence type, as inline SVG horizontal bars."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["type"]] = totals.get(row["type"], 0) + row["issued"] + row["amended"]
    if not totals:
        return ""
    names = load_licence_types()
    top = max(totals.values()) or 1
    bar, gap, label_w, width = 18, 8, 170, 520
    height = len(totals) * (bar + gap)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='{escape(t['a_by_type'])}'>"
    ]
    for i, (code, n) in enumerate(sorted(totals.items(), key=lambda kv: -kv[1])):
        y = i * (bar + gap)
        w = int(n / top * (width - label_w - 40))
        name = names[code].name if code in names else code
        parts.append(
            f"<text x='0' y='{y + 13}' font-size='12'>{escape(name)} ({escape(code)})</text>"
            f"<rect x='{label_w}' y='{y}' width='{w}' height='{bar}' fill='#3b7dd8'>"
            f"<title>{n}</title></rect>"
            f"<text x='{label_w + w + 4}' y='{y + 13}' font-size='12'>{n}</text>"
        )
    return f"<h3>{escape(t['a_by_type'])}</h3>" + "".join(parts) + "</svg>"


def _audit_body(
    rt: Runtime, t: dict[str, str], f: Filters, at: str, actor: str, w: WorkloadView,
    r: ReadsView,
) -> str:  # fmt: skip
    result = replay(rt, None, None)
    report = report_json(rt, result)
    rows = filter_rows(
        statistics(rt, result.history, f.period), f.agency, f.type_code, f.start, f.end
    )
    chart = chart_svg(rows, (t["a_legend_issued"], t["a_legend_status"]), t["a_none"])
    stats = table(COLUMNS, [[r[c] for c in COLUMNS] for r in rows], "stats", t["a_none"])
    return (
        _filter_form(rt, t, f, at, actor)
        + _replay_html(t, report)
        + _state_html(rt, t, at)
        + f"<h2>{escape(t['a_stats'])}</h2><div class='chart' id='chart'>{chart}</div>"
        + f"<div class='chart' id='type-chart'>{_type_chart(rows, t)}</div>"
        + f"<p><a id='csv' href='/audit/stats.csv?{escape(f.query())}' download>"
        f"{escape(t['a_csv'])}</a></p>{stats}"
        + workload_html(rt, t, w)
        + _oplog_html(rt, t, actor)
        + reads_html(rt, t, r)
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    rt: RuntimeDep,
    person: AuditorPage,
    f: FiltersDep,
    w: WorkloadDep,
    r: ReadsDep,
    at: Annotated[str, Query(max_length=40)] = "",
    actor: Annotated[str, Query(max_length=120)] = "",
) -> HTMLResponse:
    """The audit room: replay, state at ``at``, statistics and the operation log."""
    t = texts(language(request))
    body = await run_in_threadpool(_audit_body, rt, t, f, at.strip(), actor.strip(), w, r)
    cards = await run_in_threadpool(deadlines_section, rt, person, t, f.agency or None)
    return frame(request, person, t["a_title"], cards + body)
