"""Batch issuance jobs of the desk's CSV page: :func:`services.bulk_import.run_import` (the
same pipeline as ``licledger import`` and ``POST /api/v1/imports``) run in a thread, with its
progress readable while it runs. Jobs live in memory for the server's life: the import itself
is resumable (a re-upload of the same file issues only the rows not yet issued), so a job lost
with a restart loses only its progress display."""

from __future__ import annotations

import csv
import io
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from licence_service.domain.errors import ServiceError
from licence_service.region.runtime import Runtime
from licence_service.services.bulk_files import table_xlsx
from licence_service.services.bulk_import import ImportOptions, RowResult, run_import
from licence_service.services.bulk_sheet import count_rows

__all__ = ["ImportJob", "find_job", "result_csv", "result_xlsx", "start_job"]

RESULT_COLUMNS = ("row", "status", "licence_id", "pdf", "field", "error")


@dataclass
class ImportJob:
    id: str
    owner: str
    type_code: str
    total: int
    state: str = "running"  # running | done | failed
    error: str = ""
    anchored: bool = False
    results: list[RowResult] = field(default_factory=list)

    def progress(self) -> dict[str, Any]:
        """What the progress endpoint answers: counts, and the failed rows with their field."""
        issued = sum(r.status == "issued" for r in self.results)
        already = sum(r.status == "already_issued" for r in self.results)
        failed = [asdict(r) for r in self.results if r.status == "error"]
        return {
            "job": self.id, "state": self.state, "error": self.error, "total": self.total,
            "done": len(self.results), "issued": issued, "already_issued": already,
            "failed": len(failed), "anchored": self.anchored, "errors": failed,
        }  # fmt: skip


_JOBS: dict[str, ImportJob] = {}
_LOCK = threading.Lock()


def _run(
    rt: Runtime, job: ImportJob, path: Path, agency_code: str | None, encoding: str | None
) -> None:
    try:
        summary = run_import(rt, path, ImportOptions(job.type_code, agency_code,
                             encoding=encoding), job.results.append)  # fmt: skip
    except ServiceError as exc:
        job.error, job.state = str(exc), "failed"
    except Exception as exc:  # the page says what happened, the log has the rest
        job.error, job.state = f"the import stopped: {exc}", "failed"
        raise
    else:
        job.anchored, job.state = summary.anchored, "done"


def start_job(
    rt: Runtime,
    path: Path,
    type_code: str,
    agency_code: str | None,
    owner: str,
    encoding: str | None = None,
) -> ImportJob:
    """Start importing ``path`` for ``owner`` (a person's label); returns at once."""
    job = ImportJob(secrets.token_urlsafe(12), owner, type_code, count_rows(path, encoding))
    with _LOCK:
        _JOBS[job.id] = job
    threading.Thread(
        target=_run,
        args=(rt, job, path, agency_code, encoding),
        name=f"import-{job.id}",
        daemon=True,
    ).start()
    return job


def find_job(job_id: str, owner: str) -> ImportJob | None:
    """The job, if it exists and is ``owner``'s (nobody sees another person's import)."""
    job = _JOBS.get(job_id)
    return job if job is not None and job.owner == owner else None


def _result_rows(job: ImportJob, base_url: str) -> list[tuple[object, ...]]:
    return [
        (r.row, r.status, r.licence_id,
         f"{base_url}/desk/licences/{r.licence_id}/pdf" if r.licence_id else "", r.field, r.error)
        for r in sorted(job.results, key=lambda r: r.row)
    ]  # fmt: skip


def result_csv(job: ImportJob, base_url: str) -> str:
    """The result file: each row's identifier and PDF link, or its error with the field."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    writer.writerows(_result_rows(job, base_url))
    return out.getvalue()


def result_xlsx(job: ImportJob, base_url: str) -> bytes:
    """The result file as a workbook (what Excel at the desk opens without asking)."""
    return table_xlsx(RESULT_COLUMNS, _result_rows(job, base_url))
