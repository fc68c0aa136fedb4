"""Issue 25.2: keyed issuance is exactly-once under concurrency, retries and dropped connections.

16 clients on two `licledger serve` instances × 2 workers on one PostgreSQL, 6 requests each
(``wait`` true: every request anchors, so request workers and the anchoring worker of both
instances sign for the same agency account at once). Every 4th first attempt drops its
connection after 0.3 s; after any error or drop the request is sent once more with its key to
the other instance, and at the end every key is asked once more. Before the fix: 502 ``nonce
too low`` and 409 ``BatchAlreadyAnchored`` answers, and a retry after them issued a second
licence to the same holder.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bench.abuse_issuance import exactly_once, run
from bench.verify_server import wait_healthy
from ledger_client.errors import ContractRevertError
from ledger_client.node import AnvilNode
from licence_service.anchoring.worker import wait_anchored
from licence_service.api.app import create_app
from licence_service.api.routers import licences as licences_router
from licence_service.api.routers import lifecycle as lifecycle_router
from licence_service.domain.national_ids import make_uscc
from licence_service.region.runtime import Runtime
from licence_service.services.amend import Amendment, amend
from licence_service.services.issue import QUEUED_NOTE, IssueRequest, issue, issue_licence
from licence_service.store import idempotency as store_idempotency
from licence_service.store.idempotency import BOUND_NOTE
from licence_service.store.models import Licence, StatusChange
from licence_service.store.sealing import holder_lookup as holder_key
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving, staff
from tests.service_fixtures import business_request, region_runtime, serve_env
from tests.test_api import ISSUE_BODY

# the module (the package exports its function ``issue`` under the same name)
issue_module = importlib.import_module("licence_service.services.issue")


@pytest.mark.e2e
def test_concurrent_keyed_issuance_on_two_instances_is_exactly_once() -> None:
    figures = run(clients=16, requests=6, workers=2)
    print(figures)
    assert figures["errors"] == 0, figures["first_errors"]
    assert exactly_once(figures), figures
    assert figures["retried"] > 0  # the drops happened: retries were exercised
    assert figures["duplicates"] == 0
    assert figures["holders_without_licence"] == 0
    assert figures["licences"] == figures["requests"]
    assert figures["keys_with_one_answer"] == figures["requests"]
    assert figures["answered_ids_recorded"]
    assert figures["anchored"] == figures["requests"]


@pytest.fixture(scope="module")
def keyed(rt: Runtime) -> Iterator[tuple[httpx.Client, Runtime, dict[str, str]]]:
    with serving(create_app(rt), free_port()) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c, rt, staff(rt, "-once")["issuer"]


def _holders(rt: Runtime, holder_id: str) -> int:
    with rt.sessions() as s:
        found = s.scalar(
            select(func.count()).where(Licence.holder_id_hash == holder_key(s, holder_id))
        )
    return int(found or 0)


@pytest.mark.e2e
def test_an_error_after_the_licence_is_recorded_answers_the_licence(
    keyed: tuple[httpx.Client, Runtime, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request fails after its licence is committed (here: right after ``issue``): the
    answer is that licence (201, bound to the key in the same commit), and so is the retry —
    before, the 500 deleted the key's row and the retry issued a second licence."""
    c, rt, issuer = keyed
    body = {**ISSUE_BODY, "holder_id": make_uscc("330106", "MA1DUP001")}

    def fails_after_recording(rt: Runtime, req: IssueRequest, wait: bool = True) -> None:
        issue(rt, req)
        raise RuntimeError("the worker died after the commit")

    monkeypatch.setattr(licences_router, "issue_licence", fails_after_recording)
    headers = {**issuer, "Idempotency-Key": "once-after-commit"}
    first = c.post("/api/v1/licences", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["note"] == BOUND_NOTE
    monkeypatch.undo()
    again = c.post("/api/v1/licences", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replay"] == "true"
    assert again.json()["licence_id"] == first.json()["licence_id"]
    assert _holders(rt, body["holder_id"]) == 1
    pdf = c.get(first.json()["pdf_url"], headers=issuer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.e2e
def test_an_anchoring_failure_in_the_request_answers_the_queued_licence(
    keyed: tuple[httpx.Client, Runtime, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anchoring in the request fails (what a race with another process's worker once did:
    409 ``BatchAlreadyAnchored``): the licence is issued and queued, answered 201; the
    background worker anchors it."""
    c, rt, issuer = keyed
    body = {**ISSUE_BODY, "holder_id": make_uscc("330106", "MA1DUP002")}

    def refused(*_: object, **__: object) -> None:
        raise ContractRevertError("BatchAlreadyAnchored", {})

    monkeypatch.setattr(issue_module, "anchor", refused)
    got = c.post("/api/v1/licences", json=body, headers={**issuer, "Idempotency-Key": "once-q"})
    assert got.status_code == 201, got.text
    assert got.json()["note"].startswith(QUEUED_NOTE)
    wait_anchored(rt, [bytes.fromhex(got.json()["leaf"])], timeout=60)
    assert _holders(rt, body["holder_id"]) == 1


@pytest.mark.e2e
def test_an_amendment_failing_after_its_commit_is_amended_once(
    keyed: tuple[httpx.Client, Runtime, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same binding for an amendment: the retry gets version 2, never a version 3."""
    c, rt, issuer = keyed
    body = {**ISSUE_BODY, "holder_id": make_uscc("330106", "MA1DUP003"), "wait": False}
    lid = c.post("/api/v1/licences", json=body, headers=issuer).json()["licence_id"]

    def fails_after_recording(
        rt: Runtime, licence_id: str, amendment: Amendment, wait: bool = True
    ) -> None:
        amend(rt, licence_id, amendment)
        raise RuntimeError("the worker died after the commit")

    monkeypatch.setattr(lifecycle_router, "amend_licence", fails_after_recording)
    change = {"fields": {"注册资本": "500万元"}, "reason": "增资", "wait": False}
    headers = {**issuer, "Idempotency-Key": "once-amend"}
    first = c.post(f"/api/v1/licences/{lid}/amend", json=change, headers=headers)
    assert first.status_code == 201 and first.json()["version"] == 2, first.text
    monkeypatch.undo()
    again = c.post(f"/api/v1/licences/{lid}/amend", json=change, headers=headers)
    assert again.status_code == 201 and again.json()["licence_id"] == first.json()["licence_id"]
    with rt.sessions() as s:
        mine = Licence.holder_id_hash == holder_key(s, body["holder_id"])
        base = s.scalar(select(Licence).where(mine))
        assert base is not None and base.current_version == 2


@pytest.mark.e2e
def test_a_retry_waits_for_a_slow_first_attempt_while_its_owner_lives(
    keyed: tuple[httpx.Client, Runtime, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt takes twice ``DEAD_AFTER``; its heartbeat keeps it alive, so the retry
    (its client gave up) waits for it and answers its licence — no 409, no takeover, one
    licence. Before, a first attempt slower than a fixed 15 s got its retry a 409."""
    c, rt, issuer = keyed
    monkeypatch.setattr(store_idempotency, "HEARTBEAT", 0.2)
    monkeypatch.setattr(store_idempotency, "DEAD_AFTER", timedelta(seconds=3))
    body = {**ISSUE_BODY, "holder_id": make_uscc("330106", "MA1WAT001"), "wait": False}

    def slow(rt: Runtime, req: IssueRequest, wait: bool = True) -> object:
        time.sleep(6)
        return issue_licence(rt, req, wait=wait)

    monkeypatch.setattr(licences_router, "issue_licence", slow)
    headers = {**issuer, "Idempotency-Key": "once-slow"}
    first: list[httpx.Response] = []
    thread = threading.Thread(
        target=lambda: first.append(c.post("/api/v1/licences", json=body, headers=headers))
    )
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    again = c.post("/api/v1/licences", json=body, headers=headers, timeout=60)
    waited = time.monotonic() - started
    thread.join(60)
    assert again.status_code == 201, again.text
    assert first[0].status_code == 201, first[0].text
    assert again.json()["licence_id"] == first[0].json()["licence_id"]
    assert waited > 4, waited  # it waited past DEAD_AFTER for the live owner
    assert _holders(rt, body["holder_id"]) == 1


def _faulty(fault: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faulty_serve", *cmd],
        env={**env, "LICLEDGER_TEST_FAULT": fault},
        cwd=Path(__file__).parent.parent,
    )
    wait_healthy(env["LICLEDGER_PUBLIC_URL"], proc)
    return proc


def _post_dies(proc: subprocess.Popen[bytes], url: str, **kwargs: object) -> None:
    """The request kills its server: no answer comes (a dropped connection)."""
    with pytest.raises(httpx.HTTPError):
        httpx.post(url, timeout=60, **kwargs)  # type: ignore[arg-type]
    assert proc.wait(30) == 9


@pytest.mark.e2e
def test_a_killed_worker_s_request_is_answered_by_its_retry(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    """Real `serve` processes dying hard mid-request (tests/faulty_serve.py), then a retry with
    the key to a restarted server:
    - killed before its issuance did anything: the retry takes the request over (its owner's
      process is gone) and issues once — before, it was told 409 "still being processed";
    - killed right after a suspension was committed: the retry gets the suspension's answer
      (bound to the key in the change's commit) — before, 409 "is SUSPENDED"."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = region_runtime(tmp_path / "region", anvil, public_url=url)
    issuer = staff(rt, "-killed")["issuer"]
    lid = issue_licence(rt, business_request(holder_id=make_uscc("330106", "MA1KY1001"))).licence_id
    env = serve_env(anvil, url)
    cmd = ["serve", "--data-dir", str(rt.settings.home), "--workers", "1", "--port", str(port)]
    holder = make_uscc("330106", "MA1KY1002")
    issue_body = {**ISSUE_BODY, "holder_id": holder, "wait": False}
    issue_keyed = {"json": issue_body, "headers": {**issuer, "Idempotency-Key": "killed-issue"}}
    suspend = {"action": "suspend", "reason": "检查中"}
    status_keyed = {"json": suspend, "headers": {**issuer, "Idempotency-Key": "killed-status"}}
    _post_dies(_faulty("before-issue", cmd, env), f"{url}/api/v1/licences", **issue_keyed)
    _post_dies(_faulty("after-status", cmd, env), f"{url}/api/v1/licences/{lid}/status",
               **status_keyed)  # fmt: skip
    with rt.sessions() as s:
        change = s.scalar(select(StatusChange).where(StatusChange.status == "SUSPENDED"))
        assert change is not None  # the suspension was committed before the worker died
        tx_hash = change.tx_hash
    assert _holders(rt, holder) == 0
    proc = subprocess.Popen([str(Path(sys.executable).parent / "licledger"), *cmd], env=env)
    try:
        wait_healthy(url, proc)
        issued = httpx.post(f"{url}/api/v1/licences", timeout=60, **issue_keyed)  # type: ignore[arg-type]
        assert issued.status_code == 201, issued.text
        changed = httpx.post(f"{url}/api/v1/licences/{lid}/status", timeout=60, **status_keyed)  # type: ignore[arg-type]
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == "SUSPENDED" and changed.json()["tx_hash"] == tx_hash
        assert changed.headers["idempotent-replay"] == "true"
        again = httpx.post(f"{url}/api/v1/licences", timeout=60, **issue_keyed)  # type: ignore[arg-type]
        assert again.json()["licence_id"] == issued.json()["licence_id"]
    finally:
        proc.terminate()
        proc.wait(30)
    assert _holders(rt, holder) == 1
