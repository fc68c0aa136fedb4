"""The counter page's search box: licences by holder (``services.holder_lookup``).

One text field takes what the window has — a typed ID, an ID-card reader that types the
number and Enter, a scanned holder code ``LLH1:<ID>`` — and posts it (POST with the form's
CSRF token, so the ID is in no URL, history or log line). The answer (the route is in
``api.routers.pages``) is rendered on the server into the same page: no script, nothing
inline (CSP). The ID is not put back into the field; the heading shows it masked unless the
viewer sees every licence shown in full.
"""

from __future__ import annotations

from html import escape

from licence_service.api.pages.layout import table
from licence_service.domain.errors import ServiceError
from licence_service.people.identity import PersonInfo
from licence_service.region.runtime import Runtime
from licence_service.services.holder_lookup import HolderLookup, licences_of_holder

__all__ = ["ROUTE", "SEARCH_PATH", "holder_box", "results_html", "search_html"]

SEARCH_PATH = "/desk/holders"  # staff only: off the public /verify prefix and its rate bucket
ROUTE = f"POST {SEARCH_PATH}"


def holder_box(t: dict[str, str], csrf: str, result_html: str = "") -> str:
    """The search form (always shown: a person not signed in is told to sign in when they
    search) and, below it, the last answer."""
    return (
        f"<h2>{escape(t['hl_title'])}</h2>"
        f"<form id='holder-form' method='post' action='{SEARCH_PATH}' role='search'>{csrf}"
        f"<label for='holder-id'>{escape(t['hl_label'])}</label>"
        "<input type='text' id='holder-id' name='holder_id' autocomplete='off' "
        "autocapitalize='characters' spellcheck='false' maxlength='64' "
        "inputmode='text' placeholder='330106199001011234 / 91330106MA2B0XKH34'>"
        f"<p><button type='submit' id='holder-submit'>{escape(t['hl_search'])}</button></p>"
        f"</form><div id='holder-results' aria-live='polite'>{result_html}</div>"
    )


def _status(t: dict[str, str], status: str) -> str:
    return t.get("VALID" if status == "ACTIVE" else status, status)


def results_html(t: dict[str, str], found: HolderLookup) -> str:
    """The holder's licences as a table, another region's marked with the consent's purpose."""
    heading = t["hl_of"].replace("{id}", found.holder_id)
    rows = [
        (
            e.licence_id,
            e.type_name,
            e.agency_name,
            _status(t, e.status),
            e.valid_until,
            e.holder_name,
            t["hl_consent"].replace("{p}", e.consent_purpose) if e.consent_purpose else "",
        )
        for e in found.licences
    ]
    headers = [t["f_licence"], t["f_type"], t["f_issuer"], t["desk_status"],
               t["f_valid_until"], t["f_holder"], t["hl_source"]]  # fmt: skip
    return (
        f"<h3 id='holder-heading'>{escape(heading)}</h3>"
        + table(headers, rows, "holder-licences", empty=t["hl_none"])
        + "".join(
            f"<p class='holder-error'>{escape(t['hl_unreachable'].replace('{r}', str(r)))}</p>"
            for r in found.unreachable_regions
        )
        + f"<p class='holder-note'>{escape(t['hl_logged'])}</p>"
    )


def _error(message: str) -> str:
    return f"<p id='holder-error' class='holder-error' role='alert'>{escape(message)}</p>"


def search_html(
    rt: Runtime, viewer: PersonInfo | None, t: dict[str, str], raw: str
) -> tuple[str, int, dict[str, str]]:
    """The answer box for what was entered, its status code and headers (a limit's 429 says
    when to try again)."""
    if viewer is None:
        return _error(t["hl_sign_in"]), 401, {}
    try:
        found = licences_of_holder(rt, viewer, raw, route=ROUTE)
    except ServiceError as exc:
        wait = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(wait)} if wait is not None else {}
        where = f"{exc.field}: " if exc.field else ""
        return _error(f"{where}{exc}"), exc.status_code, headers
    return results_html(t, found), 200, {}
