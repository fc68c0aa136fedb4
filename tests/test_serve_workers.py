"""`licledger serve --workers 2`: several server processes answer as one service.

- the verification rate limit is one budget per client, whichever process takes the request;
- a revocation made beside the server shows within the freshness bound (1 s by default), and
  the answer names the index block it is as of;
- a remembered PDF check never lends its verdict to a changed copy of the file;
- one process anchors: the data directory's lock admits one holder at a time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.verify_server import wait_healthy
from ledger_client.node import AnvilNode
from ledger_client.registry import LeafStatus
from licence_service.api.shared_limits import Leadership, SharedTokenBuckets
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.status import change_status
from tests.chain_fixtures import free_port
from tests.service_fixtures import business_request, qr_of, region_runtime, serve_env

pytestmark = pytest.mark.e2e

EXE = str(Path(sys.executable).parent / "licledger")
BURST = 12


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[Runtime, str, str, bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = region_runtime(tmp_path_factory.mktemp("workers"), anvil, public_url=url)
    doc = issue_licence(rt, business_request())
    env = serve_env(anvil, url, verify_burst=str(BURST), verify_rate_per_minute="1")
    cmd = [EXE, "serve", "--data-dir", str(rt.settings.home), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--workers", "2"], env=env)
    try:
        wait_healthy(url, proc)  # two processes import the whole stack at once: up to 180 s
        yield rt, url, doc.licence_id, Path(doc.pdf_path).read_bytes()
    finally:
        proc.terminate()
        proc.wait(30)


def _verify_qr(url: str, payload: str) -> httpx.Response:
    # a new connection each time, so the kernel may hand it to either process
    return httpx.post(f"{url}/api/v1/verify/qr", json={"payload": payload}, timeout=60)


def test_pdf_memory_and_revocation_and_shared_rate_limit(
    served: tuple[Runtime, str, str, bytes],
) -> None:
    rt, url, licence_id, pdf = served
    payload = qr_of(rt, licence_id)
    spent = 0

    def pdf_verdict(data: bytes) -> str:
        nonlocal spent
        spent += 1
        r = httpx.post(f"{url}/api/v1/verify/pdf", files={"file": ("l.pdf", data)}, timeout=60)
        assert r.status_code == 200, r.text
        return str(r.json()["verdict"])

    assert pdf_verdict(pdf) == "VALID"
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    assert pdf_verdict(bytes(changed)) != "VALID"  # after the original was remembered
    assert pdf_verdict(pdf) == "VALID"

    first = _verify_qr(url, payload)
    spent += 1
    assert first.json()["verdict"] == "VALID" and int(first.headers["X-Index-Block"]) > 0

    change_status(rt, licence_id, LeafStatus.REVOKED, 1, "revoked beside the server")
    deadline = time.monotonic() + 10  # freshness 1 s; generous for a loaded machine
    while True:
        r = _verify_qr(url, payload)
        spent += 1
        if r.json()["verdict"] == "REVOKED":
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.5)

    statuses = [_verify_qr(url, payload).status_code for _ in range(BURST - spent + 3)]
    # one bucket for both processes: separate ones would let up to 2 x BURST through
    assert statuses.count(200) <= BURST - spent + 1, statuses
    assert statuses[-1] == 429, statuses


def test_buckets_are_shared_between_processes_maps(tmp_path: Path) -> None:
    path = tmp_path / "rate.bin"
    a = SharedTokenBuckets(path, per_minute=1, burst=3)
    b = SharedTokenBuckets(path, per_minute=1, burst=3)  # another process's mapping
    assert [a.take("10.0.0.1", 100.0), b.take("10.0.0.1", 100.0), a.take("10.0.0.1", 100.0)] == [
        0.0,
        0.0,
        0.0,
    ]
    assert b.take("10.0.0.1", 100.0) > 0  # the budget is spent, whichever process asks
    assert b.take("10.0.0.2", 100.0) == 0.0  # another client has its own
    assert a.take("10.0.0.1", 160.0) == 0.0  # refilled at 1 per minute


def test_one_process_anchors(tmp_path: Path) -> None:
    first, second = Leadership(tmp_path), Leadership(tmp_path)
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
