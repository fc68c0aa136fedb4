"""The supervisor's workload statistics (部门/事项/窗口/年度个人业务量): how much was done, by
agency, licence type, window or person, per day, month, quarter or year.

Measures: ``issued`` (first versions), ``changed`` (amendments: new versions), ``status_changes``
(revoke, suspend, reinstate, cancel, report lost, …), ``verifications`` (counts only, from
``audit.verify_counts``) and ``releases`` (data released to another region). Everything but
the verifications comes from the operation log, which names the person who did it; a
licence's agency and type are read from its identifier (``<prefix>.<type>.<agency>.<serial>…``).

``by``: ``agency`` and ``type`` as they say; ``person`` is who did it (``user@unit``;
verifications by the signed-in viewer, ``(anonymous)`` otherwise); ``window`` is where it was
done: the person's window for staff actions, and for verifications the signed-in person at
the counter or else the channel it came through (``counter``, ``status-page``, ``api``,
``cli``). The same rows are shown on ``/audit``, printed by ``licledger audit stats --by``,
answered by ``GET /api/v1/audit/workload`` and exported as CSV or .xlsx.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.identifiers import LICENCE_ID_PREFIX
from licence_service.region.runtime import Runtime
from licence_service.store.models import OpLogEntry
from licence_service.store.reads import VerificationCount

BY = ("agency", "type", "window", "person")
PERIODS = ("day", "month", "quarter", "year")
MEASURES = ("issued", "changed", "status_changes", "verifications", "releases")
ANONYMOUS = "(anonymous)"


def check_choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    """``value`` if it is one of ``allowed``, else a clear error naming the field."""
    if value not in allowed:
        raise InvalidInputError(f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


def period_of(day: date, period: str) -> str:
    """The period's label: ``2026-12-07``, ``2026-12``, ``2026-Q4`` or ``2026``."""
    if period == "day":
        return day.isoformat()
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def parse_bound(text: str | None, field: str, last: bool) -> date | None:
    """``2026``, ``2026-03`` or ``2026-03-01`` as the first (or ``last``) day it covers."""
    if not text:
        return None
    for fmt, kind in (("%Y-%m-%d", "day"), ("%Y-%m", "month"), ("%Y", "year")):
        try:
            d = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if not last or kind == "day":
            return d
        if kind == "year":
            return date(d.year, 12, 31)
        following = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    raise InvalidInputError(f"{field} must be YYYY, YYYY-MM or YYYY-MM-DD", field=field)


@dataclass(frozen=True)
class Query:
    """What to count: grouping, period and filters (all checked)."""

    by: str = "agency"
    period: str = "month"
    agency: str = ""
    type_code: str = ""
    start: date | None = None
    end: date | None = None

    @classmethod
    def of(cls, by: str = "agency", period: str = "month", agency: str | None = None,
           type_code: str | None = None, start: str | None = None,
           end: str | None = None) -> Query:  # fmt: skip
        return cls(check_choice(by, BY, "by"), check_choice(period, PERIODS, "period"),
                   (agency or "").strip(), (type_code or "").strip().upper(),
                   parse_bound(start, "from", False), parse_bound(end, "to", True))  # fmt: skip

    def keeps(self, day: date, agency: str, type_code: str) -> bool:
        return (
            (not self.agency or agency == self.agency)
            and (not self.type_code or type_code == self.type_code)
            and (self.start is None or day >= self.start)
            and (self.end is None or day <= self.end)
        )


@dataclass(frozen=True)
class _Event:
    day: date
    agency: str
    type_code: str
    window: str
    person: str
    measure: str
    n: int = 1


def _measure(action: str) -> str | None:
    if action == "issue":
        return "issued"
    if action == "amend":
        return "changed"
    if action.startswith("status:"):
        return "status_changes"
    if action == "share:release":
        return "releases"
    return None


def _agency_and_type(target: str) -> tuple[str, str]:
    """(agency, type) of a licence or attachment identifier; ("", "") for anything else."""
    head = f"{LICENCE_ID_PREFIX}."
    if not target.startswith(head):
        return "", ""
    parts = target[len(head) :].split("/")[0].split(".")
    return (parts[1], parts[0]) if len(parts) >= 3 else ("", "")


def _events(rt: Runtime) -> Iterator[_Event]:
    wanted = or_(OpLogEntry.action.in_(("issue", "amend", "share:release")),
                 OpLogEntry.action.like("status:%"))  # fmt: skip
    with rt.sessions() as s:
        for at, actor, action, target in s.execute(
            select(OpLogEntry.at, OpLogEntry.actor, OpLogEntry.action, OpLogEntry.target).where(
                wanted
            )
        ):
            measure = _measure(action)
            if measure is not None:
                agency, type_code = _agency_and_type(target)
                yield _Event(at.date(), agency, type_code, actor, actor, measure)
        for c in s.scalars(select(VerificationCount)):
            person = c.person or ANONYMOUS
            yield _Event(c.day, c.agency, c.type_code, c.person or c.channel, person,
                         "verifications", c.count)  # fmt: skip


def workload(rt: Runtime, q: Query) -> list[dict[str, Any]]:
    """One row per (period, ``q.by`` value) with each measure's count, sorted."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for e in _events(rt):
        if not q.keeps(e.day, e.agency, e.type_code):
            continue
        key = {"agency": e.agency, "type": e.type_code, "window": e.window, "person": e.person}
        counts[(period_of(e.day, q.period), key[q.by], e.measure)] += e.n
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for (period, value, measure), n in counts.items():
        row = table.setdefault(
            (period, value), {"period": period, q.by: value} | dict.fromkeys(MEASURES, 0)
        )
        row[measure] += n
    return [table[k] for k in sorted(table)]


def columns(by: str) -> tuple[str, ...]:
    return ("period", by, *MEASURES)


def to_csv(rows: list[dict[str, Any]], by: str) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(by))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_xlsx(rows: list[dict[str, Any]], by: str) -> bytes:
    """The rows as an Excel workbook: one sheet of figures (header frozen, numbers as
    numbers) and a clustered bar chart of the measures per row."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "statistics"
    cols = columns(by)
    sheet.append(list(cols))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[c] for c in cols])
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (12, 40, 10, 10, 15, 14, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    if rows:
        chart = BarChart()
        chart.title = f"workload by {by}"
        data = Reference(sheet, min_col=3, max_col=len(cols), min_row=1, max_row=len(rows) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=2, min_row=2, max_row=len(rows) + 1))
        chart.width, chart.height = 24, 12
        sheet.add_chart(chart, "I2")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
