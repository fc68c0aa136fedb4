"""The durable store of a push receiver's delivery ids (``federation/push_seen.SqliteSeen``):
an id outlives the object and the process that accepted it, and of two adds of one id at the
same time, on two connections or in two processes, exactly one is accepted. The end-to-end
case (a signed push, a receiver restarted, the replay found duplicate) is in
tests/test_exchange_push.py, beside the consortium it needs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from licence_service.federation.push_seen import SqliteSeen

ROOT = Path(__file__).resolve().parents[1]
IDS = [f"push:7:{n}:{n + 1}" for n in range(300)]


@pytest.mark.unit
def test_an_id_outlives_the_store_that_accepted_it(tmp_path: Path) -> None:
    path = tmp_path / "receiver" / "seen.sqlite3"
    with SqliteSeen(path) as first:
        assert first.add("d-1") and not first.add("d-1")
    with SqliteSeen(path) as again:  # the receiver restarted
        assert "d-1" in again and not again.add("d-1")
        assert again.add("d-2") and len(again) == 2


@pytest.mark.unit
def test_two_connections_adding_one_id_at_once_accept_it_once(tmp_path: Path) -> None:
    """Each id is added by two connections (as two processes have) released together."""
    path = tmp_path / "seen.sqlite3"
    stores = [SqliteSeen(path), SqliteSeen(path)]
    together = threading.Barrier(2)
    accepted: list[list[str]] = [[], []]

    def run(n: int) -> None:
        for d in IDS:
            together.wait(10)
            if stores[n].add(d):
                accepted[n].append(d)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(accepted[0] + accepted[1]) == sorted(IDS)  # each id once, none lost
    assert all(accepted), "one connection won every race: the adds were not concurrent"
    for store in stores:
        store.close()


@pytest.mark.unit
def test_one_store_shared_by_threads_accepts_each_id_once(tmp_path: Path) -> None:
    with SqliteSeen(tmp_path / "seen.sqlite3") as seen:
        start = threading.Barrier(4)
        results: list[bool] = []
        lock = threading.Lock()

        def run() -> None:
            start.wait()
            mine = [seen.add(d) for d in IDS[:50]]
            with lock:
                results.extend(mine)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results.count(True) == 50 and len(results) == 200


ADDER = """
import json, sys, time
from licence_service.federation.push_seen import SqliteSeen
seen = SqliteSeen(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
ids = json.loads(sys.argv[2])
accepted = []
for d in ids[::-1] if sys.argv[3] == "back" else ids:
    if seen.add(d):
        accepted.append(d)
    time.sleep(0.001)  # a pace that lets the other's waiting writer in (no starving it)
print(json.dumps(accepted))
"""


@pytest.mark.e2e
def test_two_processes_adding_the_same_ids_accept_each_once(tmp_path: Path) -> None:
    path = tmp_path / "seen.sqlite3"

    def adder(way: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-c", ADDER, str(path), json.dumps(IDS), way]
        pipe = subprocess.PIPE
        return subprocess.Popen(command, cwd=ROOT, text=True, stdin=pipe, stdout=pipe)

    procs = [adder("forth"), adder("back")]  # from both ends: they meet in the middle
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:  # both go at once
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        accepted = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert all(accepted), "one process added every id before the other started: no race"
    assert sorted(accepted[0] + accepted[1]) == sorted(IDS)


@pytest.mark.unit
def test_with_a_retention_an_old_id_is_forgotten(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with SqliteSeen(tmp_path / "seen.sqlite3", retention=3600, clock=lambda: now[0]) as seen:
        assert seen.add("old")
        now[0] += 3599
        assert not seen.add("old")  # within the retention: still a duplicate
        assert seen.add("new")
        now[0] += 2  # "old" was first seen 3601 s ago; a repeat does not renew it
        assert seen.add("other") and "old" not in seen and "new" in seen
        assert seen.add("old")
    with pytest.raises(ValueError):
        SqliteSeen(tmp_path / "x.sqlite3", retention=0)
