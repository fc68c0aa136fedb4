"""The verification counter's flush thread when its database fails: one readable line per
change of state and no traceback, and it stops when the counts table is gone (a removed or
never migrated database) instead of retrying into it every interval for the process's life.

Real SQLite databases; the thread is the counter's own."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from licence_service.audit.verify_counts import VerificationCounter
from licence_service.store.models import Base
from licence_service.store.reads import VerificationCount
from verifier.verdicts import Verdict, VerificationResult

LOGGER = "licence_service.audit.verify_counts"
RESULT = VerificationResult(Verdict.VALID, "ok", [], issuer_code="11330100002489458U",
                            type_code="BL01")  # fmt: skip


def _sessions(path: Path, with_table: bool) -> sessionmaker[Session]:
    engine = create_engine(f"sqlite:///{path}")
    if with_table:
        Base.metadata.create_all(engine, tables=[VerificationCount.__table__])  # type: ignore[list-item]
    return sessionmaker(engine)


def _wait_stopped(counter: VerificationCounter, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while counter._thread is not None and counter._thread.is_alive():
        assert time.monotonic() < deadline, "the flush thread did not stop"
        time.sleep(0.02)


def test_no_table_stops_the_thread_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    counter = VerificationCounter(_sessions(tmp_path / "empty.db", False), interval=0.05)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        counter.count(RESULT, "api")
        _wait_stopped(counter)
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 1, [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert records[0].exc_info is None and "Traceback" not in caplog.text
    assert "no table verification_count" in message and "licledger init" in message
    assert "1 counts stay in memory" in message
    assert counter.pending() == 1  # kept: nothing is dropped silently


def test_a_passing_failure_logs_once_and_the_counts_arrive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that is locked for a while (another writer holds it) fails several rounds;
    the log says so once, then that it works again, and every count is written."""
    path = tmp_path / "counts.db"
    sessions = _sessions(path, True)
    blocker = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0}).raw_connection()
    blocker.execute("BEGIN EXCLUSIVE")  # type: ignore[attr-defined]
    locked = sessionmaker(create_engine(f"sqlite:///{path}", connect_args={"timeout": 0}))
    counter = VerificationCounter(locked, interval=0.05)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        for _ in range(3):
            counter.count(RESULT, "api")
        time.sleep(0.6)  # about ten rounds, all refused
        assert counter.pending() == 3
        blocker.rollback()
        blocker.close()
        deadline = time.monotonic() + 10
        while counter.pending():
            assert time.monotonic() < deadline, "the counts were not written after the lock"
            time.sleep(0.02)
        time.sleep(0.1)
    counter.close()
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2, messages
    assert "could not write verification counts" in messages[0] and "locked" in messages[0]
    assert messages[1] == "verification counts are written again"
    assert all(r.exc_info is None for r in caplog.records)
    with sessions() as s:
        assert sum(s.scalars(select(VerificationCount.count))) == 3
