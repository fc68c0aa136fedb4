"""The audit room's workload section: counts by agency, type, window or person per day, month,
quarter or year (``audit.workload``), two server-rendered SVG charts (no script, no chart
library: the page's CSP allows none inline), the table, and CSV / .xlsx downloads of the same
rows. Reading only (GET)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from licence_service.api.deps import RuntimeDep
from licence_service.api.pages.layout import table
from licence_service.api.pages.session import page_role
from licence_service.audit import workload as wl
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.region.runtime import Runtime

__all__ = ["WorkloadDep", "WorkloadView", "router", "workload_html"]

router = APIRouter(include_in_schema=False)
AuditorPage = Annotated[PersonInfo, Depends(page_role(PersonRole.AUDITOR))]
COLOURS = ("#3b7dd8", "#8e5bd8", "#d8553b", "#2e9e6a", "#d8a43b")  # one per measure
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class WorkloadView:
    """The section's choices (``by``, ``wperiod``) and the page's filters."""

    query: wl.Query
    raw: dict[str, str]

    def link(self, path: str) -> str:
        return f"{path}?{escape(urlencode(self.raw))}"


def _view(
    by: Annotated[str, Query(max_length=10)] = "agency",
    wperiod: Annotated[str, Query(max_length=10)] = "month",
    agency: Annotated[str, Query(max_length=40)] = "",
    type_code: Annotated[str, Query(alias="type", max_length=32)] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> WorkloadView:
    q = wl.Query.of(by, wperiod, agency, type_code, start, end)
    raw = {"by": by, "wperiod": wperiod, "agency": agency, "type": type_code,
           "from": start, "to": end}  # fmt: skip
    return WorkloadView(q, raw)


WorkloadDep = Annotated[WorkloadView, Depends(_view)]


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@router.get("/audit/workload.csv")
async def workload_csv(rt: RuntimeDep, _: AuditorPage, v: WorkloadDep) -> Response:
    rows = await run_in_threadpool(wl.workload, rt, v.query)
    name = f"licledger-workload-{v.query.by}-{_stamp()}.csv"
    return Response(wl.to_csv(rows, v.query.by), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/audit/workload.xlsx")
async def workload_xlsx(rt: RuntimeDep, _: AuditorPage, v: WorkloadDep) -> Response:
    rows = await run_in_threadpool(wl.workload, rt, v.query)
    name = f"licledger-workload-{v.query.by}-{_stamp()}.xlsx"
    return Response(wl.to_xlsx(rows, v.query.by), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def stacked_bars(totals: dict[str, dict[str, int]], labels: dict[str, str], title: str) -> str:
    """Horizontal bars, one per key, each stacked by measure (colours in ``COLOURS``), with a
    ``<title>`` per segment for the exact count and a legend; plain SVG presentation
    attributes only, so no style or script is needed."""
    if not totals:
        return ""
    top = max(sum(m.values()) for m in totals.values()) or 1
    bar, gap, label_w, width = 18, 8, 220, 640
    height = len(totals) * (bar + gap) + 24
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}'"
        f" height='{height}' role='img' aria-label='{escape(title)}'>"
    ]
    for i, (key, measures) in enumerate(totals.items()):
        y, x = i * (bar + gap), label_w
        parts.append(f"<text x='0' y='{y + 13}' font-size='12'>{escape(key[:34])}</text>")
        for measure, colour in zip(wl.MEASURES, COLOURS, strict=True):
            n = measures.get(measure, 0)
            w = int(n / top * (width - label_w - 50))
            if n:
                parts.append(f"<rect x='{x}' y='{y}' width='{max(w, 1)}' height='{bar}' "
                             f"fill='{colour}'><title>{escape(labels[measure])}: {n}"
                             "</title></rect>")  # fmt: skip
            x += w
        total = sum(measures.values())
        parts.append(f"<text x='{x + 4}' y='{y + 13}' font-size='12'>{total}</text>")
    legend_y, x = height - 6, 0
    for measure, colour in zip(wl.MEASURES, COLOURS, strict=True):
        parts.append(f"<rect x='{x}' y='{legend_y - 10}' width='10' height='10' fill='{colour}'/>"
                     f"<text x='{x + 14}' y='{legend_y}' font-size='11'>"
                     f"{escape(labels[measure])}</text>")  # fmt: skip
        x += 14 + 8 * len(labels[measure]) + 18
    return f"<h3>{escape(title)}</h3>" + "".join(parts) + "</svg>"


def _totals(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        bucket = out.setdefault(str(row[key]) or "—", dict.fromkeys(wl.MEASURES, 0))
        for m in wl.MEASURES:
            bucket[m] += row[m]
    return out


def _form(t: dict[str, str], v: WorkloadView) -> str:
    def options(name: str, values: tuple[str, ...], chosen: str, prefix: str) -> str:
        opts = "".join(
            f"<option value='{x}'{' selected' if x == chosen else ''}>"
            f"{escape(t.get(prefix + x, x))}</option>"
            for x in values
        )
        return f"<select name='{name}' id='w-{name}'>{opts}</select>"

    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(v.raw[k])}'>"
        for k in ("agency", "type", "from", "to")
    )
    return (
        "<form method='get' action='/audit' class='filters' id='workload-form'>" + hidden
        + f"<label>{escape(t['a_by'])}{options('by', wl.BY, v.query.by, 'a_dim_')}</label>"
        + f"<label>{escape(t['a_period'])}"
        + options("wperiod", wl.PERIODS, v.query.period, "a_")
        + f"</label><button type='submit' id='w-apply'>{escape(t['a_apply'])}</button></form>"
    )  # fmt: skip


def workload_html(rt: Runtime, t: dict[str, str], v: WorkloadView) -> str:
    """The section: form, two charts (by the chosen key, by period), table and downloads."""
    rows = wl.workload(rt, v.query)
    by = v.query.by
    labels = {m: t["a_m_" + m] for m in wl.MEASURES}
    dim = t.get("a_dim_" + by, by)
    charts = stacked_bars(
        _totals(rows, by), labels, t["a_workload_by_group"].replace("{by}", dim)
    ) + stacked_bars(_totals(rows, "period"), labels, t["a_workload_by_period"])
    cols = wl.columns(by)
    heads = [t.get("a_period", "period"), dim, *(labels[m] for m in wl.MEASURES)]
    return (
        f"<h2 id='workload'>{escape(t['a_workload'])}</h2>" + _form(t, v)
        + f"<div class='chart' id='workload-chart'>{charts}</div>"
        + f"<p><a id='workload-csv' href='{v.link('/audit/workload.csv')}' download>"
        + f"{escape(t['a_csv'])}</a> · <a id='workload-xlsx' "
        + f"href='{v.link('/audit/workload.xlsx')}' download>{escape(t['a_xlsx'])}</a></p>"
        + table(heads, [[r[c] for c in cols] for r in rows], "workload-table", t["a_none"])
    )  # fmt: skip
