"""The desk's reminders section: the person's agency's licences expiring soon and
inspections due (``services.reminders.reminders_list``, as ``GET /api/v1/reminders``)."""

from __future__ import annotations

from html import escape
from typing import Any

from licence_service.api.pages.layout import table
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.region.runtime import Runtime
from licence_service.services.reminders import reminders_list

SHOWN_TO = frozenset({PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AGENCY_ADMIN})
DEFAULT_WITHIN = 30


def reminders_section(rt: Runtime, person: PersonInfo, t: dict[str, str], within: int) -> str:
    """The section's HTML, or nothing for a person of no agency or another role."""
    if person.agency_code is None or not person.roles & SHOWN_TO:
        return ""
    found = reminders_list(rt, within, person.agency_code, person)

    def rows(items: list[dict[str, Any]]) -> list[tuple[object, ...]]:
        return [
            (f"<a href='/desk/licences/{escape(r['base_id'])}'>{escape(r['licence_id'])}</a>",
             r["type_name"], r["holder_name"], r["due"], r["days_left"],
             t["rem_yes"] if r["reachable"] else t["rem_no"])
            for r in items
        ]  # fmt: skip

    head = [t["f_licence"], t["f_type"], t["desk_holder"], t["rem_due"], t["rem_days"],
            t["rem_reachable"]]  # fmt: skip
    return (
        f"<section id='reminders'><h2>{escape(t['rem_title'])}</h2>"
        "<form method='get' action='/desk' class='search'>"
        f"<label for='within'>{escape(t['rem_within'])}</label>"
        f"<input type='number' id='within' name='within' min='0' max='3660' value='{within}'>"
        f"<button type='submit'>{escape(t['desk_search_go'])}</button></form>"
        f"<h3>{escape(t['rem_expiring'])} ({len(found['expiring'])})</h3>"
        + table(head, rows(found["expiring"]), "expiring", t["rem_none"], raw=0)
        + f"<h3>{escape(t['rem_inspections'])} ({len(found['inspections'])})</h3>"
        + table(head, rows(found["inspections"]), "inspections-due", t["rem_none"], raw=0)
        + "</section>"
    )
