"""One anchoring worker and one indexer per region at a time, and another takes over when the
holder dies: two real worker processes on one database (SQLite and PostgreSQL), the holder
killed with -9."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from licence_service.anchoring.worker import AnchorWorker
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services import issue
from licence_service.store.lease import Lease
from licence_service.store.models import OutboxEntry, WorkerLease
from tests.service_fixtures import business_request

ROOT = Path(__file__).resolve().parents[1]
TTL = 2.0


def test_a_lease_has_one_holder_and_expires(rt: Runtime) -> None:
    a = Lease(rt.sessions, "test-lease", "a", ttl=0.5)
    b = Lease(rt.sessions, "test-lease", "b", ttl=0.5)
    assert a.acquire() and a.acquire() and not b.acquire()
    time.sleep(0.7)  # a died: its lease ran out
    assert b.acquire() and not a.acquire()
    b.release()  # a graceful stop hands over at once
    assert a.acquire()


def _worker(rt: Runtime, role: str = "anchoring") -> subprocess.Popen[str]:
    s = rt.settings
    return subprocess.Popen(
        [sys.executable, "-m", "tests.worker_process", str(s.home), s.rpc_url, s.database_url,
         str(TTL), role],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _holder(rt: Runtime, name: str = "anchoring") -> str | None:
    with rt.sessions() as s:
        row = s.get(WorkerLease, name)
        return row.holder if row is not None else None


def _anchored(rt: Runtime, leaf: str) -> bool:
    with rt.sessions() as s:
        state = s.scalar(select(OutboxEntry.state).where(OutboxEntry.leaf == bytes.fromhex(leaf)))
    return state == OutboxState.ANCHORED


def _wait(condition, timeout: float) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def test_another_worker_takes_over_when_the_holder_is_killed(rt: Runtime) -> None:
    workers = [_worker(rt), _worker(rt)]
    try:
        names = {w.stdout.readline().strip(): w for w in workers}  # type: ignore[union-attr]
        _wait(lambda: _holder(rt) in names, 60)
        first = issue(rt, business_request())
        _wait(lambda: _anchored(rt, first.leaf), 60)
        holder = names[_holder(rt)]  # type: ignore[index]
        holder.kill()  # -9: no release, the lease must run out
        holder.wait()
        second = issue(rt, business_request())
        took = _wait(lambda: _anchored(rt, second.leaf), 60)
        survivor = next(n for n, w in names.items() if w is not holder)
        assert _holder(rt) == survivor
        print(f"takeover: anchored {took:.1f} s after the holder was killed (lease {TTL} s)")
        assert took < TTL + 15  # within seconds; generous for a loaded machine
    finally:
        for w in workers:
            w.kill()
            w.wait()


class _Reports:
    """The last ``INDEXED FOLLOWED CHECKPOINT`` line of an indexer process, read as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.name = proc.stdout.readline().strip()  # type: ignore[union-attr]
        self.proc = proc
        self.lines: queue.Queue[tuple[int, int, int]] = queue.Queue()
        self.last = (0, 0, 0)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            indexed, followed, checkpoint = map(int, line.split())
            self.lines.put((indexed, followed, checkpoint))

    def now(self) -> tuple[int, int, int]:
        while not self.lines.empty():
            self.last = self.lines.get_nowait()
        return self.last


def _anchor_one(rt: Runtime) -> int:
    """Issue and anchor a licence from the test process (which does not index); its block."""
    licence = issue(rt, business_request())
    AnchorWorker(rt).flush()
    assert _anchored(rt, licence.leaf)
    return int(rt.w3.eth.block_number)


def test_one_process_indexes_the_other_follows_and_takes_over(rt: Runtime) -> None:
    procs = [_worker(rt, "indexer"), _worker(rt, "indexer")]
    try:
        reports = {r.name: r for r in map(_Reports, procs)}
        _wait(lambda: _holder(rt, "indexer") in reports, 60)
        holder = reports[_holder(rt, "indexer")]  # type: ignore[index]
        follower = next(r for r in reports.values() if r is not holder)
        block = _anchor_one(rt)
        # Both see the batch: the holder by indexing it, the follower without reading a
        # single event itself (every one of its rounds followed the holder's checkpoint).
        _wait(lambda: holder.now()[2] > block and follower.now()[2] > block, 60)
        indexed, followed, _ = follower.now()
        assert indexed == 0 and followed > 0, follower.now()
        assert holder.now()[0] > 0 and holder.now()[1] == 0, holder.now()

        holder.proc.kill()  # -9: no release, the lease must run out
        holder.proc.wait()
        block = _anchor_one(rt)
        took = _wait(lambda: follower.now()[2] > block, 60)
        assert _holder(rt, "indexer") == follower.name
        assert follower.now()[0] > 0  # it indexes now
        print(f"indexer takeover: block {block} indexed {took:.1f} s after the holder was "
              f"killed (lease {TTL} s)")  # fmt: skip
        assert took < TTL + 15  # within seconds; generous for a loaded machine
    finally:
        for p in procs:
            p.kill()
            p.wait()
