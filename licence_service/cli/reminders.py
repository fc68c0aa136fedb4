"""`licledger reminders …`: licences expiring soon and inspections due, per agency; one
reminder round now (``serve`` runs them on a schedule)."""

from __future__ import annotations

from typing import Annotated

import typer

from licence_service.cli.common import DataDir, JsonOut, app, handled, out, print_json, runtime

reminders_app = typer.Typer(
    help="Licences expiring soon and inspections due; reminding their holders.",
    no_args_is_help=True,
)
app.add_typer(reminders_app, name="reminders")


@reminders_app.command("list")
@handled
def list_cmd(
    within: Annotated[int, typer.Option(help="Days ahead (0 to 3660).")] = 30,
    agency: Annotated[str | None, typer.Option(help="Agency code (default: every agency).")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Licences expiring within --within days and inspections due by then (overdue first)."""
    from licence_service.services.reminders import reminders_list

    found = reminders_list(runtime(data_dir), within, agency)
    if as_json:
        print_json(found)
        return
    for title, rows in (("expiring", found["expiring"]), ("inspections due", found["inspections"])):
        out.print(f"{title} within {within} days: {len(rows)}", highlight=False, markup=False)
        for r in rows:
            contact = "" if r["reachable"] else "  (no contact)"
            out.print(
                f"  {r['due']}  {r['days_left']:>5} d  {r['licence_id']}  {r['type_name']}  "
                f"{r['holder_name']}{contact}",
                highlight=False, markup=False,
            )  # fmt: skip


@reminders_app.command("send")
@handled
def send_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Put today's reminders into the outbox now (each once per licence and threshold)."""
    from licence_service.services.reminders import send_reminders

    done = send_reminders(runtime(data_dir))
    info = {"enqueued": done.enqueued, "already": done.already, "unreachable": done.unreachable}
    if as_json:
        print_json(info)
        return
    out.print(
        f"{done.enqueued} reminder(s) queued, {done.already} queued before, "
        f"{done.unreachable} holder(s) without a contact",
        highlight=False, markup=False,
    )  # fmt: skip
