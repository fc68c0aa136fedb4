"""`licledger audit …`: replay the chain, compare with the database, report, statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from licence_service.cli.common import (
    DataDir,
    ExitWith,
    JsonOut,
    app,
    err,
    handled,
    out,
    print_json,
    required_at,
    runtime,
)
from licence_service.domain.errors import ServiceError

audit_app = typer.Typer(
    help="Auditor tools: replay, state at a time, statistics.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


def write_reports(report: dict[str, Any], stats: list[dict[str, Any]], paths: list[Path]) -> None:
    """Write the report in the format each path's ending names (.json, .html, .pdf)."""
    from licence_service.audit.reports import render_html, render_pdf

    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".json":
            path.write_text(
                json.dumps({**report, "statistics": stats}, ensure_ascii=False, indent=2),
                encoding="utf-8",
            )
        elif suffix in (".html", ".htm"):
            path.write_text(render_html(report, stats), encoding="utf-8")
        elif suffix == ".pdf":
            path.write_bytes(render_pdf(report, stats))
        else:
            raise ServiceError(f"--report {path}: use a .json, .html or .pdf file", "report")


@audit_app.command("replay")
@handled
def replay_cmd(
    report: Annotated[
        list[Path] | None,
        typer.Option("--report", help="Write the report here (.json, .html or .pdf; repeat)."),
    ] = None,
    from_block: Annotated[
        int | None, typer.Option(help="First block (default: deployment).")
    ] = None,
    region: Annotated[int | None, typer.Option(help="Only this region's batches.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Rebuild every licence's history from the chain and compare it with the database.

    Exit 0 when consistent, 1 when discrepancies are found.
    """
    from licence_service.audit.replay import replay
    from licence_service.audit.stats import statistics
    from licence_service.audit.summary import report_json

    rt = runtime(data_dir)
    for path in report or []:
        if path.suffix.lower() not in (".json", ".html", ".htm", ".pdf"):
            raise ServiceError(f"--report {path}: use a .json, .html or .pdf file", "report")
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        TextColumn("block {task.completed:.0f}/{task.total:.0f} · {task.fields[events]} events"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("replay", total=1, events=0)

        def progress(block: int, head: int, events: int) -> None:
            bar.update(task, completed=block, total=head, events=events)

        result = replay(rt, from_block, region, progress)
    data = report_json(rt, result)
    stats = statistics(rt, result.history)
    write_reports(data, stats, list(report or []))
    if as_json:
        print_json(data)
    else:
        s = data["summary"]
        out.print(
            f"{s['batches']} batches, {s['leaves']} leaves, {s['status_changes']} status "
            f"changes, {s['version_links']} version links, {s['licences']} licences; "
            f"{s['events_read']} events in {s['seconds']} s",
            markup=False,
        )
        if result.consistent:
            out.print("[green]consistent[/]: the database matches the chain")
        for d in result.discrepancies:
            out.print(
                f"[red]{d.kind}[/] {d.licence}: {d.detail}"
                + (f" (since {d.since})" if d.since else ""),
                highlight=False,
            )
        for path in report or []:
            out.print(f"report written to {path}", markup=False)
    raise ExitWith(0 if result.consistent else 1)


@audit_app.command("state")
@handled
def state_cmd(
    at: Annotated[str, typer.Option(help="UTC time, e.g. 2026-03-01T00:00:00Z.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Every licence's status at a point in time, from the chain."""
    from licence_service.audit.summary import state_at

    rows = state_at(runtime(data_dir), required_at(at))
    if as_json:
        print_json(rows)
        return
    for row in rows:
        version = f"v{row['version']:03d}" if row["version"] else "—"
        out.print(f"{row['licence']}  {version}  {row['status']}", markup=False)


@audit_app.command("stats")
@handled
def stats_cmd(
    period: Annotated[
        str, typer.Option(help="day, month, quarter or year (quarter, year: with --by).")
    ] = "month",
    by: Annotated[
        str | None,
        typer.Option(
            help="Workload by agency, type, window or person (from the operation "
            "log and the verification counts)."
        ),
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV.")] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write the table as an Excel workbook.")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's rows.")] = None,
    type_code: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First period.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last period.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Without --by: issued, amended, revoked, copies and shares by region, agency, type and
    period, replayed from the chain. With --by: the workload (issued, changed, status changes,
    verifications, releases) by agency, type, window or person."""
    from licence_service.audit import workload as wl
    from licence_service.audit.history import read_history
    from licence_service.audit.stats import COLUMNS, filter_rows, statistics, to_csv

    if by is not None:
        q = wl.Query.of(by, period, agency, type_code, start, end)
        rows = wl.workload(runtime(data_dir), q)
        cols: tuple[str, ...] = wl.columns(q.by)
        text = wl.to_csv(rows, q.by)
    else:
        if period not in ("month", "day"):
            raise ServiceError("--period must be month or day (quarter and year: with --by)",
                               field="period")  # fmt: skip
        if xlsx is not None:
            raise ServiceError("--xlsx needs --by (agency, type, window or person)", "xlsx")
        rt = runtime(data_dir)
        rows = statistics(rt, read_history(rt.registry(), rt.deployment.block_number), period)
        rows, cols = filter_rows(rows, agency, type_code, start, end), COLUMNS
        text = to_csv(rows)
    if csv is not None:
        csv.write_text(text, encoding="utf-8")
    if xlsx is not None and by is not None:
        xlsx.write_bytes(wl.to_xlsx(rows, by))
    if as_json:
        print_json(rows)
        return
    out.print("  ".join(cols), markup=False)
    for row in rows:
        out.print("  ".join(str(row[c]) for c in cols), markup=False)


@audit_app.command("oplog")
@handled
def oplog_cmd(
    actor: Annotated[str | None, typer.Option(help="Only this person's actions.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """The operation log by person: each person's count, or one person's actions."""
    from licence_service.audit.oplog_view import actions_of, people_summary

    rt = runtime(data_dir)
    rows = actions_of(rt, actor, limit) if actor else people_summary(rt)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        out.print("  ".join(str(v) for v in row.values()), markup=False)


@audit_app.command("sync")
@handled
def sync_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Bring the local chain index up to the chain head now."""
    rt = runtime(data_dir)
    res = rt.indexer.sync()
    info = {
        "from_block": res.from_block,
        "to_block": res.to_block,
        "batches": res.batches,
        "status_changes": res.status_changes,
    }
    if as_json:
        print_json(info)
    else:
        out.print(
            f"indexed blocks {res.from_block}–{res.to_block}: {res.batches} batches, "
            f"{res.status_changes} status changes",
            markup=False,
        )
