"""Issue 25.2: a live owner's request is never taken over, and an attempt that was taken over
anyway answers the work that was done, never an error.

The kill -9 test (tests/test_crash_kill.py) once got 409 "a retry with this Idempotency-Key
took the request over" with no retry sent: the first requests after a start made the process's
owner name in several threads at once, so a row was written under a name the process no longer
answered to — its bind was refused. These tests pin each step of the takeover decision:

- the owner name is one per process, however many threads ask for it first;
- a takeover is a compare-and-set on what was seen dead (owner *and* ``alive_at``): a heartbeat
  landing between the look and the take keeps the request with its live owner;
- a row of this very process is dead only if no request of this process runs it;
- an attempt taken over while it still ran (its heartbeat late) answers the taker's answer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from licence_service.api.app import create_app
from licence_service.api.routers import licences as licences_router
from licence_service.domain.national_ids import make_uscc
from licence_service.region.runtime import Runtime
from licence_service.services.issue import IssueRequest, issue, issue_licence
from licence_service.store import idempotency as store_idempotency
from licence_service.store.idempotency import (
    Binding,
    Heartbeat,
    binding,
    owner_dead,
    owner_name,
    take_over,
)
from licence_service.store.models import IdempotentRequest, Licence
from licence_service.store.sealing import holder_lookup as holder_key
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving, staff
from tests.service_fixtures import business_request
from tests.test_api import ISSUE_BODY

OTHER = "another-host:4242:feedbeef"  # an owner in another process, on another host


@pytest.mark.unit
def test_the_owner_name_is_one_per_process_when_threads_ask_first_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two threads inside the name's making at once (held there by a barrier) get one name.
    Without the lock each made its own token, and the row written under the first was refused
    its bind under the second."""
    monkeypatch.setattr(store_idempotency, "_NAME", None)
    both_inside = threading.Barrier(2, timeout=1)
    real = store_idempotency.socket.gethostname

    def hostname_meeting_the_other_thread() -> str:
        # with the fix the other thread waits on the lock instead, and the barrier breaks
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait()
        return real()

    monkeypatch.setattr(store_idempotency.socket, "gethostname", hostname_meeting_the_other_thread)
    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.append(owner_name())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(names) == 2 and names[0] == names[1] == owner_name(), names


def _row(rt: Runtime, key: str, owner: str, age: float) -> IdempotentRequest:
    with rt.sessions.begin() as s:
        row = IdempotentRequest(caller="c" * 64, key=key, request_sha256=b"\0" * 32, owner=owner,
                                alive_at=datetime.now(UTC) - timedelta(seconds=age))  # fmt: skip
        s.add(row)
    with rt.sessions() as s:
        seen = s.get(IdempotentRequest, row.id)
        assert seen is not None
        s.expunge(seen)
        return seen


def test_a_heartbeat_between_the_look_and_the_take_keeps_the_request(rt: Runtime) -> None:
    """A retry sees the row dead (its heartbeat 30 s old), then the owner's heartbeat lands,
    then the retry tries to take over what it saw: refused. Before, the take checked only the
    owner, and a live owner was taken over."""
    seen = _row(rt, "takeover-late-beat", OTHER, age=30)
    assert owner_dead(seen)
    with rt.sessions.begin() as s:  # the owner's heartbeat (its ``alive_at`` now)
        s.execute(update(IdempotentRequest).where(IdempotentRequest.id == seen.id)
                  .values(alive_at=datetime.now(UTC)))  # fmt: skip
    with rt.sessions.begin() as s:
        assert take_over(s, seen) is False
    with rt.sessions() as s:
        now = s.get(IdempotentRequest, seen.id)
        assert now is not None and now.owner == OTHER
    with rt.sessions.begin() as s:  # what it sees now, if it goes stale again, can be taken
        s.execute(update(IdempotentRequest).where(IdempotentRequest.id == seen.id)
                  .values(alive_at=datetime.now(UTC) - timedelta(seconds=30)))  # fmt: skip
    with rt.sessions() as s:
        stale = s.get(IdempotentRequest, seen.id)
        assert stale is not None and owner_dead(stale)
        s.expunge(stale)
    with rt.sessions.begin() as s:
        assert take_over(s, stale) is True


def test_a_row_of_this_process_is_dead_only_when_none_of_its_requests_runs_it(
    rt: Runtime,
) -> None:
    """However old its heartbeat, a row this process's heartbeat holds is alive to a retry in
    the same process; once let go (its request ended without recording), it is dead."""
    seen = _row(rt, "takeover-own-row", owner_name(), age=3600)
    beat = Heartbeat(rt.sessions)
    beat.hold(seen.id)
    try:
        assert owner_dead(seen, beat) is False
        beat.beat()
        with rt.sessions() as s:
            fresh = s.get(IdempotentRequest, seen.id)
            assert fresh is not None and fresh.alive_at is not None
            assert fresh.alive_at.replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(seconds=60)
    finally:
        beat.release(seen.id)
    assert owner_dead(seen, beat) is True


@pytest.fixture(scope="module")
def keyed(rt: Runtime) -> Iterator[tuple[httpx.Client, Runtime, dict[str, str]]]:
    with serving(create_app(rt), free_port()) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c, rt, staff(rt, "-takeover")["issuer"]


def _until(what: str, done: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not callable(done) or not done():
        assert time.monotonic() < deadline, f"not {what} in {timeout} s"
        time.sleep(0.02)


@pytest.mark.e2e
def test_an_attempt_taken_over_while_it_ran_answers_the_takers_licence(
    keyed: tuple[httpx.Client, Runtime, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first attempt is held inside its issuance; a retry in another process (played here:
    ``OTHER``) finds its heartbeat 30 s old, takes the request over and is still issuing when
    the first attempt's bind is refused. The first attempt's client gets the retry's licence —
    before, it got 409 "a retry with this Idempotency-Key took the request over" for a licence
    that was issued. One licence for the holder."""
    c, rt, issuer = keyed
    holder = make_uscc("330106", "MA1TK1001")
    body = {**ISSUE_BODY, "holder_id": holder, "wait": False}
    go_on = threading.Event()

    def held(rt: Runtime, req: IssueRequest, wait: bool = True) -> object:
        assert go_on.wait(30)
        return issue_licence(rt, req, wait=wait)

    monkeypatch.setattr(licences_router, "issue_licence", held)
    caplog.set_level("WARNING", logger="licence_service.store.idempotency")
    key = "takeover-live-owner"
    first: list[httpx.Response] = []
    keyed_post = {"json": body, "headers": {**issuer, "Idempotency-Key": key}}
    thread = threading.Thread(target=lambda: first.append(c.post("/api/v1/licences", **keyed_post)))
    thread.start()
    with rt.sessions() as s:
        row_of = select(IdempotentRequest).where(IdempotentRequest.key == key)
        _until("the first attempt's row", lambda: s.scalar(row_of) is not None)
    with rt.sessions.begin() as s:  # its heartbeat is late: 30 s old as another process sees
        s.execute(update(IdempotentRequest).where(IdempotentRequest.key == key)
                  .values(alive_at=datetime.now(UTC) - timedelta(seconds=30)))  # fmt: skip
    with rt.sessions() as s:
        seen = s.scalar(row_of)
        assert seen is not None and owner_dead(seen, ())
        s.expunge(seen)
    with rt.sessions.begin() as s:
        assert take_over(s, seen, new_owner=OTHER)
    go_on.set()  # the first attempt issues now: its bind is refused, its work rolls back
    _until("the refused bind", lambda: "not binding" in caplog.text or not thread.is_alive())
    assert thread.is_alive(), f"the first attempt answered {first[0].status_code}: {first[0].text}"
    token = binding.set(Binding(seen.id, f"{c.base_url}/", OTHER, licences=True))
    try:  # the retry's issuance, in the other process: binds the key to its licence
        theirs = issue(rt, business_request(holder_id=holder))
    finally:
        binding.reset(token)
    thread.join(30)
    assert first and first[0].status_code == 201, first[0].text if first else "no answer"
    assert first[0].json()["licence_id"] == theirs.licence_id
    assert first[0].headers["idempotent-replay"] == "true"
    assert "taking over request" in caplog.text and "alive_at" in caplog.text
    with rt.sessions() as s:
        mine = Licence.holder_id_hash == holder_key(s, holder)
        count = s.scalar(select(func.count()).where(mine))
    assert count == 1
