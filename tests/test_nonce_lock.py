"""The nonce lock excludes other processes: two processes holding it never overlap (SQLite's
file lock; PostgreSQL's advisory lock is exercised by tests/test_exactly_once.py)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from licence_service.store.nonce_lock import nonce_lock

pytestmark = pytest.mark.e2e  # processes

ADDRESS = "0x00000000000000000000000000000000000000A1"


def _hold(home: str, log: str, rounds: int) -> None:
    lock = nonce_lock(create_engine(f"sqlite:///{home}/db.sqlite"), Path(home) / "locks")
    for _ in range(rounds):
        with lock(ADDRESS), open(log, "a") as fh:
            fh.write("in\n")
            fh.flush()
            time.sleep(0.005)
            fh.write("out\n")


def test_two_processes_take_turns(tmp_path: Path) -> None:
    log = tmp_path / "log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hold, args=(str(tmp_path), str(log), 20)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = log.read_text().split()
    assert len(lines) == 80
    assert lines == ["in", "out"] * 40  # never "in", "in": one holder at a time
