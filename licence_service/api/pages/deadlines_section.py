"""The deadline cards' section (黄牌/红牌) of ``/audit`` and the desk: the cards the person
may see (``services.deadlines.deadline_cards``, as ``GET /api/v1/deadlines``), red first,
each with its kind, licence, agency, start, time limit and the time left or over. A card is a
box that wraps on a 360 px phone; its colour is also said in words (never colour alone)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from licence_service.people.identity import PersonInfo
from licence_service.region.runtime import Runtime
from licence_service.services.deadlines import CARD_VIEWERS, REGION_VIEWERS, deadline_cards

__all__ = ["deadlines_section"]

_OTHER = {"review": "dl_waiting", "sharing": "dl_from_region", "consent": "dl_to_region",
          "expiry": "f_type", "inspection": "f_type"}  # fmt: skip
"""The label of each kind's counterpart (the agencies awaited, the other region, the type)."""


def _span(seconds: int, t: dict[str, str]) -> str:
    """A duration as days, hours or minutes, in the page's language."""
    s = abs(seconds)
    if s >= 86_400:
        return f"{s // 86_400} {t['dl_days']}"
    if s >= 3600:
        return f"{s // 3600} {t['dl_hours']}"
    return f"{max(s // 60, 1) if s else 0} {t['dl_minutes']}"


def _when(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%Y-%m-%d %H:%M} UTC"


def _card(c: dict[str, Any], t: dict[str, str]) -> str:
    state, left = str(c["state"]), int(c["seconds_left"])
    remaining = (f"{t['dl_over']} {_span(left, t)}" if left < 0
                 else f"{t['dl_left']} {_span(left, t)}")  # fmt: skip
    licence = escape(str(c["licence"]))
    if licence:
        licence = f"<a href='/desk/licences/{licence}'>{licence}</a>"
    return (
        f"<li class='dl-card {state}' data-kind='{escape(str(c['kind']))}' data-state='{state}' "
        f"data-key='{escape(str(c['key']))}'>"
        f"<b class='dl-state'>{escape(t['dl_' + state])}</b> "
        f"<span class='dl-kind'>{escape(t['dl_' + str(c['kind'])])}</span>"
        f"<span class='dl-licence'>{licence}</span>"
        f"<span class='dl-detail'>{escape(t[_OTHER[str(c['kind'])]])}: "
        f"{escape(str(c['counterpart']) or '-')}</span>"
        f"<span>{escape(t['dl_agency'])}: {escape(str(c['agency']) or '-')}</span>"
        f"<span>{escape(t['dl_start'])}: {_when(str(c['start']))}</span>"
        f"<span>{escape(t['dl_deadline'])}: {_when(str(c['deadline']))} · "
        f"<b class='dl-left'>{escape(remaining)}</b></span></li>"
    )


def deadlines_section(
    rt: Runtime, person: PersonInfo, t: dict[str, str], agency: str | None = None,
    now: datetime | None = None,
) -> str:  # fmt: skip
    """The section's HTML, or nothing for a person who may see no cards."""
    if not person.roles & CARD_VIEWERS:
        return ""
    if not person.roles & REGION_VIEWERS:
        agency = None  # agency staff: their own agency's, whatever the page's filter says
    found = deadline_cards(rt, person, agency, None, now)
    counts = found["counts"]
    summary = " · ".join(
        f"<span class='dl-count {s}' id='dl-count-{s}'>{escape(t['dl_' + s])} {counts[s]}</span>"
        for s in ("red", "yellow", "green")
    )
    cards = "".join(_card(c, t) for c in found["cards"])
    body = (f"<ul class='dl-cards' id='dl-cards'>{cards}</ul>" if cards
            else f"<p class='note' id='dl-none'>{escape(t['dl_none'])}</p>")  # fmt: skip
    return (
        f"<section id='deadlines'><h2>{escape(t['dl_title'])}</h2>"
        f"<p class='dl-summary'>{summary}</p>{body}</section>"
    )
