"""Bulk issuance from a CSV or .xlsx file (``bulk_sheet`` reads either): every row
validated, rendered, signed, stored and anchored.

The pipeline keeps both cores busy and memory flat:

* the parent streams the CSV, validates each row and skips rows already issued (their content
  key is recorded with the licence, see :mod:`licence_service.store.imports`);
* worker processes render, sign and write the PDFs (:mod:`.bulk_render`), at most
  ``max_in_flight`` chunks at a time, so memory does not grow with the file;
* each chunk is recorded in one transaction (:mod:`.bulk_store`), in file order;
* an anchoring thread batches the pending leaves in large batches while rows are still being
  rendered, and the import returns once every leaf is confirmed on-chain.

A crash or Ctrl-C loses at most the chunks in flight (their files are orphans, never rows
without files); running the same file again issues exactly the rows not yet recorded.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from licence_service.anchoring.worker import AnchorWorker
from licence_service.domain.errors import InvalidInputError, ServiceError
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import LicenceType, get_licence_type
from licence_service.region.runtime import Runtime
from licence_service.services import bulk_store
from licence_service.services.bulk_csv import CsvRow
from licence_service.services.bulk_render import Rendered, RowJob, WorkerSetup, init_worker
from licence_service.services.bulk_render import render_rows as _render_rows
from licence_service.services.bulk_sheet import open_rows
from licence_service.services.issue import face_values, holder_contact, validate_request, validity
from licence_service.store.models import Agency

STALL_ENV = "LICLEDGER_IMPORT_STALL_AFTER"
"""Test hook: after this many rows are recorded the import stops making progress (so a test
can kill it at a known point and check that the re-run issues nothing twice)."""


@dataclass(frozen=True)
class ImportOptions:
    type_code: str
    agency_code: str | None = None
    workers: int = 0  # 0: one per core
    chunk: int = 64  # rows per database transaction
    max_in_flight: int = 4  # chunks rendered ahead of the database
    anchor_batch: int = 1024
    wait: bool = True  # return only once every leaf is confirmed on-chain
    anchor_timeout: float = 600.0
    encoding: str | None = None  # a CSV's, when named (``bulk_sheet``); None: detected


@dataclass(frozen=True)
class RowResult:
    """What happened to one row: issued now, issued by an earlier run, or the error."""

    row: int
    status: str  # issued | already_issued | error
    licence_id: str = ""
    pdf: str = ""
    field: str = ""
    error: str = ""


@dataclass
class ImportSummary:
    rows: int = 0
    issued: int = 0
    already_issued: int = 0
    failed: int = 0
    anchored: bool = False
    seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def licences_per_s(self) -> float:
        return self.issued / self.seconds if self.seconds > 0 else 0.0


ResultSink = Callable[[RowResult], None]


@dataclass
class _Chunk:
    future: Future[list[Rendered]] | None
    jobs: list[tuple[int, bytes, RowJob]]
    results: list[RowResult]  # rows settled without rendering (errors, already issued)


def run_import(
    rt: Runtime,
    path: Path,
    opts: ImportOptions,
    sink: ResultSink,
    progress: ResultSink | None = None,
) -> ImportSummary:
    """Import every row of ``path``; each row's outcome goes to ``sink`` (and ``progress``)."""
    ltype = _licence_type(opts.type_code)
    with rt.sessions() as s:
        agency = rt.agency(s, opts.agency_code)
    creds = rt.agency_credentials(agency.code)
    summary = ImportSummary()
    started = time.perf_counter()
    stall_after = int(os.environ.get(STALL_ENV, "0") or 0)
    with open_rows(path, ltype, agency.code, opts.encoding) as rows:
        first = next(rows, None)  # the header is checked here, before anything is issued
        anchoring = _Anchoring(rt, agency.id, opts.anchor_batch)
        workers = opts.workers or os.cpu_count() or 1
        pool = ProcessPoolExecutor(
            workers,
            mp_context=_context(),
            initializer=init_worker,
            initargs=(WorkerSetup.of(rt, ltype.code, agency, creds),),
        )
        try:
            pool.submit(int).result()  # every worker is started before our thread is
            anchoring.start()
            all_rows = _chain(first, rows)
            state = _Serials(bulk_store.next_serial(rt, agency.id, ltype.code))
            pending: deque[_Chunk] = deque()
            seen: dict[bytes, int] = {}  # over the whole file: a repeat in a later chunk too
            for batch in _batched(all_rows, opts.chunk):
                pending.append(_submit(rt, pool, ltype, batch, state, workers, seen))
                while len(pending) > opts.max_in_flight:
                    _settle(rt, pool, agency, ltype, path.name, pending.popleft(), state,
                            summary, sink, progress)  # fmt: skip
                    _stall(stall_after, summary)
            while pending:
                _settle(rt, pool, agency, ltype, path.name, pending.popleft(), state,
                        summary, sink, progress)  # fmt: skip
                _stall(stall_after, summary)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            anchoring.stop()
    summary.extra["issue_seconds"] = time.perf_counter() - started
    if opts.wait:
        anchoring.finish(opts.anchor_timeout)
        summary.anchored = True
    summary.seconds = time.perf_counter() - started
    return summary


def _context() -> multiprocessing.context.BaseContext:
    """Fork when this process has no other thread (the CLI): workers start at once with
    everything imported. Otherwise (the API server) fork from a fresh server process, since
    forking a threaded process can copy a lock held by another thread."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["licence_service.services.bulk_render"])
    return context


def _licence_type(code: str) -> LicenceType:
    try:
        return get_licence_type(code)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="type") from None


def _chain(first: CsvRow | None, rest: Iterator[CsvRow]) -> Iterator[CsvRow]:
    if first is not None:
        yield first
        yield from rest


def _batched(rows: Iterator[CsvRow], size: int) -> Iterator[list[CsvRow]]:
    while batch := list(islice(rows, size)):
        yield batch


@dataclass
class _Serials:
    next: int

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def _submit(
    rt: Runtime, pool: ProcessPoolExecutor, ltype: LicenceType, batch: list[CsvRow],
    serials: _Serials, workers: int, seen: dict[bytes, int],
) -> _Chunk:  # fmt: skip
    """Validate a chunk, drop rows already issued, and send the rest to the workers. ``seen``
    holds the rows of this file sent so far: a repeat is a row error, never a second licence
    (nor a unique-key failure when the first is still being rendered)."""
    done = bulk_store.done_rows(rt, (r.key for r in batch))
    results: list[RowResult] = []
    jobs: list[tuple[int, bytes, RowJob]] = []
    today = bulk_store.today_utc()
    for row in batch:
        if row.key in done:
            ident, pdf = done[row.key]
            results.append(RowResult(row.number, "already_issued", ident, pdf))
            continue
        if row.key in seen:
            results.append(_error(row.number, "row", f"same content as row {seen[row.key]}"))
            continue
        try:
            if row.error is not None:
                raise row.error
            assert row.request is not None
            job = _job(row, ltype, today, serials)
        except ServiceError as exc:
            results.append(_error(row.number, exc.field or "", str(exc)))
            continue
        seen[row.key] = row.number
        jobs.append((row.number, row.key, job))
    return _Chunk(_dispatch(pool, [j for _n, _k, j in jobs], workers), jobs, results)


def _job(row: CsvRow, ltype: LicenceType, today: date, serials: _Serials) -> RowJob:
    assert row.request is not None
    _ltype, holder_name, holder_id, fields = validate_request(row.request)
    start, end = validity(row.request, ltype, today)
    email, phone = holder_contact(row.request)
    values = face_values(ltype, holder_name, holder_id, start, end, fields)
    return RowJob(serials.take(), values, fields, today, start, end, email, phone)


def _dispatch(
    pool: ProcessPoolExecutor, jobs: list[RowJob], workers: int
) -> Future[list[Rendered]] | None:
    """Split the chunk across the workers; one future that yields the results in order."""
    if not jobs:
        return None
    size = max(1, -(-len(jobs) // workers))
    parts = [pool.submit(_render_rows, jobs[i : i + size]) for i in range(0, len(jobs), size)]
    combined: Future[list[Rendered]] = Future()
    remaining = [len(parts)]
    lock = threading.Lock()

    def _done(_f: Future[list[Rendered]]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        try:
            combined.set_result([r for p in parts for r in p.result()])
        except BaseException as exc:  # a worker died or raised: the chunk fails as a whole
            combined.set_exception(exc)

    for part in parts:
        part.add_done_callback(_done)
    return combined


def _settle(
    rt: Runtime, pool: ProcessPoolExecutor, agency: Agency, ltype: LicenceType, source: str,
    chunk: _Chunk, serials: _Serials, summary: ImportSummary, sink: ResultSink,
    progress: ResultSink | None,
) -> None:  # fmt: skip
    """Wait for a chunk's PDFs, record them in one transaction, report every row."""
    results = list(chunk.results)
    if chunk.future is not None:
        rendered = chunk.future.result()
        for attempt in range(5):
            failed = [
                (n, r) for (n, _k, _j), r in zip(chunk.jobs, rendered, strict=True) if r.error
            ]
            items = [
                (n, k, j, r)
                for (n, k, j), r in zip(chunk.jobs, rendered, strict=True)
                if not r.error
            ]
            try:
                bulk_store.commit_chunk(rt, agency, ltype, source, items)
                break
            except IntegrityError:
                # another writer took a serial meanwhile: new serials, render the chunk again
                if attempt == 4:
                    raise
                serials.next = max(serials.next, bulk_store.next_serial(rt, agency.id, ltype.code))
                chunk.jobs = [(n, k, RowJob(serials.take(), *_rest(j))) for n, k, j, _r in items]
                again = _dispatch(pool, [j for _n, _k, j in chunk.jobs], 1)
                assert again is not None
                rendered = again.result()
                results += [_error(n, "row", r.error) for n, r in failed]
                failed = []
        results += [_error(n, "row", r.error) for n, r in failed]
        results += [
            RowResult(n, "issued", _identifier(ltype, agency, j.serial), r.path)
            for n, _k, j, r in items
        ]
    for result in sorted(results, key=lambda r: r.row):
        summary.rows += 1
        if result.status == "issued":
            summary.issued += 1
        elif result.status == "already_issued":
            summary.already_issued += 1
        else:
            summary.failed += 1
        sink(result)
        if progress is not None:
            progress(result)


def _rest(job: RowJob) -> tuple[dict[str, str], dict[str, str], date, date, date]:
    return job.values, job.fields, job.issue_date, job.start, job.end


def _identifier(ltype: LicenceType, agency: Agency, serial: int) -> str:
    return str(LicenceIdentifier.create(ltype.code, agency.code, serial))


def _error(number: int, field_name: str, message: str) -> RowResult:
    return RowResult(number, "error", field=field_name, error=message)


def _stall(after: int, summary: ImportSummary) -> None:
    if after and summary.issued >= after:
        while True:  # the test kills this process here
            time.sleep(3600)


class _Anchoring:
    """A thread that anchors pending leaves in large batches while the import runs."""

    def __init__(self, rt: Runtime, agency_id: int, batch_size: int) -> None:
        self.rt = rt
        self.agency_id = agency_id
        self.worker = AnchorWorker(rt, batch_size=batch_size, oplog_every=batch_size)
        self.batch_size = batch_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bulk-anchoring", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.rt.sessions() as s:
                waiting = bulk_store.unanchored(s, self.agency_id)
            if waiting >= self.batch_size:
                try:
                    self.worker.flush()
                except Exception as exc:  # retried by finish(); remembered for the message
                    self.error = exc
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def finish(self, timeout: float) -> None:
        """Anchor whatever is left and return once every leaf is confirmed on-chain."""
        deadline = time.monotonic() + timeout
        while True:
            self.worker.flush()
            with self.rt.sessions() as s:
                if bulk_store.unanchored(s, self.agency_id) == 0:
                    return
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"not every licence was anchored within {timeout:.0f} s; they are recorded "
                    "and the anchoring worker (or a re-run of the import) finishes them",
                    field="anchoring",
                )
            time.sleep(0.2)
