"""`licledger import FILE.csv --type CODE`: bulk issuance with a progress bar and a result file.

Re-running the same command after a crash or Ctrl-C finishes the rows not yet issued and
reports the others as ``already_issued`` with their identifiers: nothing is issued twice.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from licence_service.cli.common import DataDir, JsonOut, app, err, handled, print_json, runtime
from licence_service.domain.errors import ServiceError
from licence_service.region.runtime import Runtime
from licence_service.services.bulk_import import ImportOptions, ImportSummary, RowResult, run_import
from licence_service.services.bulk_sheet import count_rows

RESULT_COLUMNS = ("row", "status", "licence_id", "pdf", "field", "error")


class RateColumn(ProgressColumn):
    """Rows per second over the whole run (steadier than rich's windowed speed)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f} rows/s", style="progress.data.speed")


class ResultWriter:
    """The result CSV, written row by row (flushed, so a crash keeps what was reported)."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.writer = csv.writer(handle)
        self.writer.writerow(RESULT_COLUMNS)

    def __call__(self, result: RowResult) -> None:
        self.writer.writerow([getattr(result, c) for c in RESULT_COLUMNS])
        self.handle.flush()


def summary_info(summary: ImportSummary, results: Path | None) -> dict[str, object]:
    return {
        "rows": summary.rows,
        "issued": summary.issued,
        "already_issued": summary.already_issued,
        "failed": summary.failed,
        "anchored": summary.anchored,
        "seconds": round(summary.seconds, 2),
        "licences_per_s": round(summary.licences_per_s, 1),
        **({"results": str(results)} if results else {}),
    }


@app.command("import")
@handled
def import_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: holder_name, holder_id, [valid_from, "
            "valid_until,] then the type's field names."
        ),
    ],
    licence_type: Annotated[str, typer.Option("--type", help="Licence type code, e.g. BL01.")],
    agency: Annotated[str | None, typer.Option(help="Issuing agency code.")] = None,
    results: Annotated[
        Path | None, typer.Option(help="Result CSV (default FILE.results.csv).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Render/sign processes (0: one per core).")] = 0,
    chunk: Annotated[int, typer.Option(help="Rows recorded per database transaction.")] = 64,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return before anchoring.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Issue every row of a CSV file (signed, stored, anchored); resumable without duplicates."""
    if not file.is_file():
        raise ServiceError(f"{file} is not a file", field="file")
    if workers < 0:
        raise ServiceError("--workers must be 0 or more", field="workers")
    if not 1 <= chunk <= 10_000:
        raise ServiceError("--chunk must be from 1 to 10000", field="chunk")
    out_path = results or file.with_name(file.stem + ".results.csv")
    rt = runtime(data_dir)
    opts = ImportOptions(licence_type, agency, workers=workers, chunk=chunk, wait=not no_wait)
    try:
        handle = open(out_path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ServiceError(f"cannot write {out_path}: {exc.strerror}", field="results") from None
    with handle:
        sink = ResultWriter(handle)
        try:
            if no_progress or as_json:
                summary = run_import(rt, file, opts, sink)
            else:
                summary = _with_progress(rt, file, opts, sink)
        except KeyboardInterrupt:
            raise ServiceError(
                f"interrupted; the rows reported in {out_path} are recorded. Run the same "
                "command again to finish: rows already issued are skipped, none twice",
                field="import",
            ) from None
    info = summary_info(summary, out_path)
    if as_json:
        print_json(info)
        return
    err.print(
        f"{summary.issued} issued, {summary.already_issued} already issued, "
        f"{summary.failed} failed of {summary.rows} rows in {summary.seconds:.1f} s "
        f"({summary.licences_per_s:.1f} licences/s); results in {out_path}",
        highlight=False,
    )
    if summary.failed:
        err.print("rows with errors are listed in the result file; fix them and run again")


def _with_progress(
    rt: Runtime, file: Path, opts: ImportOptions, sink: ResultWriter
) -> ImportSummary:
    columns = (
        TextColumn("[bold]import"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("import", total=count_rows(file) or None)
        return run_import(rt, file, opts, sink, progress=lambda _r: bar.advance(task))
