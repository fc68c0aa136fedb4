"""`licledger audit deadlines`: the deadline cards (黄牌/红牌) on the command line, and one
alert round now (``serve`` runs the rounds on a schedule)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from licence_service.cli.audit import audit_app
from licence_service.cli.common import DataDir, JsonOut, handled, out, parse_at, print_json, runtime
from licence_service.domain.errors import ServiceError

_COLOURS = {"green": "green", "yellow": "yellow", "red": "red"}


@audit_app.command("deadlines")
@handled
def deadlines_cmd(
    agency: Annotated[str | None, typer.Option(help="Only this agency's cards.")] = None,
    state: Annotated[str | None, typer.Option(help="Only green, yellow or red cards.")] = None,
    at: Annotated[
        str | None, typer.Option(help="The cards as at this UTC time (default: now).")
    ] = None,
    alert: Annotated[
        bool, typer.Option("--alert", help="Queue the alerts of red cards now (each once).")
    ] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Joint reviews, sharing requests, consents, expiries and inspections against their
    time limits: yellow from two thirds of the limit, red past it."""
    from licence_service.services.deadlines import deadline_cards, send_deadline_alerts

    rt = runtime(data_dir)
    now = parse_at(at)
    if alert and now is not None:
        raise ServiceError("--alert queues the alerts of cards red now: leave out --at", "at")
    found = deadline_cards(rt, None, agency, state, now)
    done = send_deadline_alerts(rt, now) if alert else None
    if done is not None:
        found["alerts"] = {"enqueued": done.enqueued, "already": done.already,
                           "unaddressed": done.unaddressed}  # fmt: skip
    if as_json:
        print_json(found)
        return
    c = found["counts"]
    out.print(f"{c['red']} red, {c['yellow']} yellow, {c['green']} green as of {found['as_of']}",
              highlight=False, markup=False)  # fmt: skip
    for card in found["cards"]:
        colour = _COLOURS[str(card["state"])]
        out.print(
            f"[{colour}]{str(card['state']).upper():6}[/] {card['deadline']}  "
            f"{card['kind']:10} {card['agency'] or '-':18} {escape(str(card['title']))}",
            highlight=False,
        )
    if done is not None:
        out.print(
            f"{done.enqueued} alert(s) queued, {done.already} queued before, "
            f"{done.unaddressed} red card(s) with no contact (LICLEDGER_DEADLINE_CONTACTS)",
            highlight=False, markup=False,
        )  # fmt: skip
