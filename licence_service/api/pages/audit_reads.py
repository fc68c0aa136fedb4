"""The audit room's read-log section: search who viewed whose personal data, for what
(``services.read_log``: the same search as ``GET /api/v1/audit/reads``). Reading only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Annotated

from fastapi import Depends, Query

from licence_service.api.pages.layout import table
from licence_service.domain.errors import InvalidInputError
from licence_service.region.runtime import Runtime
from licence_service.services.read_log import ReadQuery, read_log, search_subject

__all__ = ["ReadsDep", "ReadsView", "reads_html"]


@dataclass(frozen=True)
class ReadsView:
    reader: str = ""
    subject: str = ""
    purpose: str = ""
    start: str = ""
    end: str = ""
    everything: bool = False


def _date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{field} must be a date YYYY-MM-DD", field=field) from None


def _view(
    reader: Annotated[str, Query(max_length=120)] = "",
    subject: Annotated[str, Query(max_length=200)] = "",
    purpose: Annotated[str, Query(max_length=200)] = "",
    rfrom: Annotated[str, Query(max_length=10)] = "",
    rto: Annotated[str, Query(max_length=10)] = "",
    rall: bool = False,
) -> ReadsView:
    _date(rfrom, "rfrom"), _date(rto, "rto")
    return ReadsView(reader.strip(), subject.strip(), purpose.strip(), rfrom, rto, rall)


ReadsDep = Annotated[ReadsView, Depends(_view)]


def reads_html(rt: Runtime, t: dict[str, str], v: ReadsView) -> str:
    q = ReadQuery(v.reader or None, search_subject(rt, v.subject), v.purpose or None,
                  _date(v.start, "rfrom"), _date(v.end, "rto"), not v.everything, 200)  # fmt: skip
    rows = [
        (r["at"], r["reader"], r["subject"], r["purpose"], r["route"],
         "✔" if r["unmasked"] else "", "✔" if r["sealed"] else "…")
        for r in read_log(rt, q)
    ]  # fmt: skip

    def field(name: str, label: str, value: str, size: int) -> str:
        return (f"<label>{escape(label)}<input name='{name}' id='r-{name}' "
                f"value='{escape(value)}' size='{size}'></label>")  # fmt: skip

    checked = " checked" if v.everything else ""
    form = (
        "<form method='get' action='/audit' class='filters' id='reads-form'>"
        + field("reader", t["a_reader"], v.reader, 18)
        + field("subject", t["a_subject"], v.subject, 24)
        + field("purpose", t["a_purpose"], v.purpose, 14)
        + field("rfrom", t["a_from"], v.start, 10)
        + field("rto", t["a_to"], v.end, 10)
        + f"<label><input type='checkbox' name='rall' value='true'{checked}> all</label>"
        + f"<button type='submit' id='r-apply'>{escape(t['a_search'])}</button></form>"
    )
    heads = ("at", "reader", "subject", "purpose", "route", "unmasked", "sealed")
    return (f"<h2 id='reads'>{escape(t['a_reads'])}</h2>{form}"
            + table(heads, rows, "reads-table", t["a_none"]))  # fmt: skip
