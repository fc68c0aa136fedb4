"""`licledger import FILE.csv --type CODE`: bulk issuance with a progress bar and a result file.

Re-running the same command after a crash or Ctrl-C finishes the rows not yet issued and
reports the others as ``already_issued`` with their identifiers: nothing is issued twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
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
from licence_service.services.bulk_files import TEMPLATE_FORMATS, table_xlsx, template
from licence_service.services.bulk_import import ImportOptions, ImportSummary, RowResult, run_import
from licence_service.services.bulk_sheet import count_rows

RESULT_COLUMNS = ("row", "status", "licence_id", "pdf", "field", "error")


class RateColumn(ProgressColumn):
    """Rows per second over the whole run (steadier than rich's windowed speed)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f} rows/s", style="progress.data.speed")


def _row_of(row: Sequence[object]) -> int:
    return int(str(row[0]))


class ResultWriter:
    """The result CSV, written row by row (flushed, so a crash keeps what was reported); for
    an ``.xlsx`` result file the rows are also kept and written as a workbook at the end
    (``finish``, run after an interruption too)."""

    def __init__(self, handle: IO[str], xlsx: Path | None = None) -> None:
        self.handle = handle
        self.writer = csv.writer(handle)
        self.writer.writerow(RESULT_COLUMNS)
        self.xlsx = xlsx
        self.rows: list[list[object]] = []

    def __call__(self, result: RowResult) -> None:
        row = [getattr(result, c) for c in RESULT_COLUMNS]
        self.writer.writerow(row)
        self.handle.flush()
        if self.xlsx is not None:
            self.rows.append(row)

    def finish(self) -> None:
        if self.xlsx is None:
            return
        try:
            self.xlsx.write_bytes(table_xlsx(RESULT_COLUMNS, sorted(self.rows, key=_row_of)))
        except OSError as exc:
            raise ServiceError(f"cannot write {self.xlsx}: {exc.strerror}", "results") from None


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
        Path | None,
        typer.Option(help="Result file, CSV or .xlsx by its name (default FILE.results.csv)."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="A CSV's encoding: utf-8 or gb18030 (gbk); default: detected."),
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
    opts = ImportOptions(licence_type, agency, workers=workers, chunk=chunk,
                         wait=not no_wait, encoding=encoding)  # fmt: skip
    xlsx = out_path if out_path.suffix.lower() == ".xlsx" else None
    try:
        handle = (
            io.StringIO() if xlsx else open(out_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        )
    except OSError as exc:
        raise ServiceError(f"cannot write {out_path}: {exc.strerror}", field="results") from None
    with handle:
        sink = ResultWriter(handle, xlsx)
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
        finally:
            sink.finish()
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
        task = bar.add_task("import", total=count_rows(file, opts.encoding) or None)
        return run_import(rt, file, opts, sink, progress=lambda _r: bar.advance(task))


@app.command("import-template")
@handled
def import_template_cmd(
    licence_type: Annotated[str, typer.Option("--type", help="Licence type code, e.g. BL01.")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx or csv.")] = "xlsx",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where (default TYPE-template.FORMAT).")
    ] = None,
) -> None:
    """Write a licence type's import template: its columns and one example row."""
    from licence_service.domain.licence_types import get_licence_type

    if fmt not in TEMPLATE_FORMATS:
        raise ServiceError(f"--format must be one of {', '.join(TEMPLATE_FORMATS)}", "format")
    ltype = get_licence_type(licence_type)
    path = output or Path(f"{ltype.code}-template.{fmt}")
    try:
        path.write_bytes(template(ltype, fmt))
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror}", field="output") from None
    err.print(f"{ltype.name} ({ltype.code}) template written to {path}", highlight=False)
