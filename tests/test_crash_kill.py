"""`kill -9` of `licledger serve` with issuances in flight through the API, then a restart.

1,000 issuance requests are sent at once, each on its own connection with its own
``Idempotency-Key`` (the fastest path: ``wait`` false, the server's worker anchors in the
background), to a real server process; once a few are acknowledged, the process is SIGKILLed
with the rest in flight (read, queued or half-done), and restarted. Then:

- every issuance the API acknowledged (201 with an identifier) is anchored exactly once (its
  leaf is in exactly one batch event of the chain);
- nothing acknowledged is lost; nothing is half-present: every licence row has its version, its
  PDF file and its outbox entry (anchored), and every PDF file in the store has its row (a file
  written before a commit the kill prevented is moved aside by the worker: ``store.unrecorded``);
- a request that got no answer is either wholly there or wholly absent, and a client retrying
  it with its key is never served twice (the first answer again, or 409 "in flight").

``LICLEDGER_CRASH_ISSUANCES`` sets how many requests are in flight (default 1,000).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bench.verify_server import wait_healthy
from ledger_client.node import AnvilNode
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.services import issue
from licence_service.store.models import LicenceVersion, OutboxEntry
from licence_service.store.unrecorded import (
    UNRECORDED_DIR,
    set_aside_unrecorded,
    unrecorded_files,
)
from tests.chain_fixtures import free_port
from tests.people_fixtures import staff
from tests.service_fixtures import business_request, region_runtime
from tests.test_api import ISSUE_BODY

pytestmark = pytest.mark.e2e

EXE = str(Path(sys.executable).parent / "licledger")
TOTAL = int(os.environ.get("LICLEDGER_CRASH_ISSUANCES", "1000"))
KILL_AFTER = max(10, TOTAL // 25)  # acknowledged answers before the kill; the rest in flight
RETRIED = 30  # unanswered keys a client sends again after the restart (twice each)


@dataclass
class Server:
    rt: Runtime
    url: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    up: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=out)
        wait_healthy(self.url, self.proc, self.log)
        self.up.set()

    def kill(self) -> None:
        assert self.proc is not None
        self.up.clear()  # the clients wait for the restart instead of hammering a closed port
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = region_runtime(tmp_path_factory.mktemp("crash"), anvil, public_url=url)
    env = {
        **os.environ,
        "LICLEDGER_RPC_URL": anvil.config.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(anvil.config.port),
        "LICLEDGER_PUBLIC_URL": url,
        "LICLEDGER_UNRECORDED_GRACE_SECONDS": "1",  # the restart takes longer than that
    }
    cmd = [EXE, "serve", "--data-dir", str(rt.settings.home), "--port", str(port), "--workers", "1"]
    srv = Server(rt, url, cmd, env, rt.settings.home / "serve.log")
    try:
        yield srv
    finally:
        srv.stop()


@dataclass
class Tally:
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> licence id
    no_answer: list[str] = field(default_factory=list)  # sent, the server died before answering
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send_all(srv: Server, headers: dict[str, str], keys: list[str], tally: Tally) -> None:
    """Every request at once, each on its own connection; an answer lost to the kill counts
    as no answer (the request is not sent again here)."""
    body = {**ISSUE_BODY, "wait": False}

    async def send() -> None:
        limits = httpx.Limits(max_connections=len(keys), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=srv.url, timeout=300, limits=limits) as c:

            async def one(key: str) -> None:
                try:
                    r = await c.post("/api/v1/licences", json=body,
                                     headers={**headers, "Idempotency-Key": key})  # fmt: skip
                except httpx.TransportError:
                    with tally.lock:
                        tally.no_answer.append(key)
                    return
                with tally.lock:
                    if r.status_code == 201:
                        tally.acknowledged[key] = r.json()["licence_id"]
                    else:
                        tally.refused.append((key, r.status_code, r.text[:200]))

            await asyncio.gather(*(one(key) for key in keys))

    asyncio.run(send())


def _retry_unanswered(
    srv: Server, headers: dict[str, str], keys: list[str]
) -> tuple[dict[int, int], dict[str, str]]:
    """Each key sent again twice, as a client that timed out would: both answers the same
    (the first answer replayed, a new issuance if the kill came before the key was recorded,
    or 409 while it stays "in flight"); returns the statuses and the licences issued."""
    statuses: dict[int, int] = {}
    issued: dict[str, str] = {}
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        for key in keys:
            answers = [
                c.post(
                    "/api/v1/licences",
                    json={**ISSUE_BODY, "wait": False},
                    headers={**headers, "Idempotency-Key": key},
                )
                for _ in range(2)
            ]
            first, again = answers
            assert first.status_code in (201, 409), first.text
            assert (again.status_code, again.text) == (first.status_code, first.text)
            statuses[first.status_code] = statuses.get(first.status_code, 0) + 1
            if first.status_code == 201:
                issued[key] = first.json()["licence_id"]
    return statuses, issued


def _settled(rt: Runtime, timeout: float) -> None:
    """Until the restarted server's worker anchored everything and set aside every PDF file
    the kill left without a row."""
    deadline = time.monotonic() + timeout
    while True:
        with rt.sessions() as s:
            left = s.scalar(
                select(OutboxEntry.id).where(OutboxEntry.state != OutboxState.ANCHORED).limit(1)
            )
        if left is None and not unrecorded_files(rt.settings.pdf_dir, rt.sessions, 0):
            return
        assert time.monotonic() < deadline, "the restarted server did not settle everything"
        time.sleep(0.2)


def test_kill_9_with_issuances_in_flight(server: Server) -> None:
    rt = server.rt
    headers = staff(rt, "-crash")["issuer"]
    keys = [f"crash-{n:05d}" for n in range(TOTAL)]
    tally = Tally()
    server.start()
    started = time.monotonic()
    sender = threading.Thread(target=_send_all, args=(server, headers, keys, tally))
    sender.start()
    while len(tally.acknowledged) < KILL_AFTER:
        assert sender.is_alive(), "every request was answered before the kill"
        assert time.monotonic() - started < 300, f"not {KILL_AFTER} acknowledged in 300 s"
        time.sleep(0.01)
    server.kill()
    killed_at = time.monotonic() - started
    sender.join(120)
    assert not sender.is_alive()
    acknowledged_at_kill = len(tally.acknowledged)
    in_flight = len(tally.no_answer)
    server.start()
    restarted = time.monotonic() - started
    with rt.sessions() as s:
        before_retry = set(s.scalars(select(LicenceVersion.identifier)))
    retried, reissued = _retry_unanswered(server, headers, sorted(tally.no_answer)[:RETRIED])
    # a replayed answer names a licence done before the kill; a new one, a key never recorded
    new_ids = set(reissued.values()) - before_retry
    tally.acknowledged.update(reissued)
    sent = time.monotonic() - started
    _settled(rt, 120)
    anchored_after = time.monotonic() - started
    with rt.sessions() as s:
        after_retry = set(s.scalars(select(LicenceVersion.identifier)))

    # --- what the database, the data directory and the chain hold
    with rt.sessions() as s:
        rows = s.execute(
            select(
                LicenceVersion.identifier,
                LicenceVersion.leaf,
                LicenceVersion.pdf_path,
                OutboxEntry.state,
            ).outerjoin(OutboxEntry, OutboxEntry.version_id == LicenceVersion.id)
        ).all()
    events = rt.registry().events_in_range(rt.deployment.block_number, rt.w3.eth.block_number)
    on_chain: dict[bytes, int] = {}
    for batch in events.batches:
        for leaf in batch.leaves:
            on_chain[leaf] = on_chain.get(leaf, 0) + 1
    by_id = {ident: (leaf, Path(path), state) for ident, leaf, path, state in rows}
    acknowledged = set(tally.acknowledged.values())
    stored_files = {p.name for p in rt.settings.pdf_dir.glob("*.pdf*")}
    set_aside = list((rt.settings.pdf_dir / UNRECORDED_DIR).glob("*"))
    anchored_once = sum(on_chain.get(by_id[i][0], 0) == 1 for i in acknowledged if i in by_id)
    print(
        f"\nkill -9 with issuances in flight: {TOTAL} requests sent at once; killed after "
        f"{acknowledged_at_kill} acknowledged ({killed_at:.1f} s) with {in_flight} in flight, "
        f"up again at {restarted:.1f} s, retries answered at {sent:.1f} s, all anchored at "
        f"{anchored_after:.1f} s\n  acknowledged {len(tally.acknowledged)}, anchored exactly "
        f"once {anchored_once}/{len(acknowledged)}; licences in the database {len(by_id)} "
        f"({len(by_id) - len(acknowledged & by_id.keys())} never acknowledged, each whole); "
        f"PDF files set aside without a row {len(set_aside)}; refused {len(tally.refused)}; "
        f"{min(in_flight, RETRIED)} unanswered keys sent again (twice) after the restart: "
        f"{retried} (status: count)"
    )
    assert not tally.refused, tally.refused[:5]
    assert set(tally.acknowledged) | set(tally.no_answer) == set(keys)
    assert len(set(tally.acknowledged.values())) == len(tally.acknowledged)  # none given twice
    assert acknowledged <= by_id.keys(), "an acknowledged licence was lost"
    assert anchored_once == len(acknowledged)
    # nothing half-present: every row whole and anchored once, every stored file has its row
    for ident, (leaf, path, state) in by_id.items():
        assert state == OutboxState.ANCHORED, (ident, state)
        assert on_chain.get(leaf) == 1, ident
        assert path.is_file(), ident
    assert stored_files == {path.name for _, path, _ in by_id.values()}
    # a retried key was served once: the licences the retries added are exactly the new ones
    assert after_retry - before_retry == new_ids
    assert in_flight >= TOTAL // 2, "the kill came when most requests were still in flight"
    # the chain holds nothing of this region the database does not know
    assert set(on_chain) - {leaf for leaf, _, _ in by_id.values()} <= _oplog_leaves(rt)


def _oplog_leaves(rt: Runtime) -> set[bytes]:
    """The operation log's anchored heads (the other leaves this region anchors)."""
    with rt.sessions() as s:
        return set(s.scalars(select(OutboxEntry.leaf).where(OutboxEntry.oplog_seq.is_not(None))))


def test_only_files_no_row_names_are_set_aside_and_only_past_the_grace(server: Server) -> None:
    rt = server.rt
    pdf_dir = rt.settings.pdf_dir
    issue(rt, business_request())  # at least one recorded file, whichever tests ran
    recorded = sorted(pdf_dir.glob("*.pdf"))
    old, new = pdf_dir / "killed-before-commit.pdf", pdf_dir / "commit-under-way.pdf.tmp"
    for path in (old, new):
        path.write_bytes(recorded[0].read_bytes())  # a real licence's bytes, under no row
    os.utime(old, (time.time() - 120, time.time() - 120))
    moved = set_aside_unrecorded(pdf_dir, rt.sessions, grace=60)
    assert moved == 1 and not old.exists() and new.exists()
    assert (pdf_dir / UNRECORDED_DIR / old.name).read_bytes() == recorded[0].read_bytes()
    assert sorted(pdf_dir.glob("*.pdf")) == recorded  # every recorded file stays
    new.unlink()
