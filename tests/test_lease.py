"""One anchoring worker per region at a time, and another takes over when it dies: two real
worker processes on one database (SQLite and PostgreSQL), the holder killed with -9."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from licence_service.anchoring.lease import Lease
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services import issue
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


def _worker(rt: Runtime) -> subprocess.Popen[str]:
    s = rt.settings
    return subprocess.Popen(
        [sys.executable, "-m", "tests.worker_process", str(s.home), s.rpc_url, s.database_url,
         str(TTL)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _holder(rt: Runtime) -> str | None:
    with rt.sessions() as s:
        row = s.get(WorkerLease, "anchoring")
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
