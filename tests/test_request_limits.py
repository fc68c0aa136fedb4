"""Issue 25, points 1 and 3, against a real `licledger serve --workers 2`.

- every hostile shape (JSON nested 100,000 deep, a 5 MiB JSON body, a 10 MB header, 1,000
  headers, a head sent a byte at a time) gets its status (422, 431, 408), and afterwards the
  same worker processes (same PIDs, from /proc) still answer a normal verification VALID;
- kill -9 of the master takes its workers with it: the port is free within 5 s, a restart
  (a single-process `serve`) binds it within 5 s more — no "Address already in use" — and
  then answers VALID once its imports are done (8 s for a two-worker restart in
  `bench abuse` on the loaded 2-core machine; bounded at 120 s here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.abuse import (
    SHAPES,
    Target,
    alive,
    deep_json,
    port_free,
    start_serve,
    stop,
    verify_ms,
    wait_for,
    worker_pids,
)
from ledger_client.node import AnvilNode
from licence_service.api.body_limits import json_too_deep
from licence_service.region.settings import ConfigError, load_settings
from licence_service.services import issue_licence
from tests.chain_fixtures import free_port
from tests.service_fixtures import business_request, qr_of, region_runtime, serve_env

EXE = str(Path(sys.executable).parent / "licledger")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Target]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = region_runtime(tmp_path_factory.mktemp("limits"), anvil, public_url=url)
    doc = issue_licence(rt, business_request())
    env = serve_env(anvil, url, verify_burst="100000", header_timeout_seconds="2")
    cmd = [EXE, "serve", "--data-dir", str(rt.settings.home), "--workers", "2"]
    proc = start_serve(cmd, env, port)
    try:
        yield Target(proc, port, env, cmd, qr_of(rt, doc.licence_id))
    finally:
        stop(proc)


@pytest.mark.e2e
def test_hostile_shapes_are_refused_and_the_same_workers_answer(target: Target) -> None:
    before = worker_pids(target.proc.pid)
    assert len(before) == 2, before
    for name, (send, expected) in SHAPES.items():
        started = time.monotonic()
        assert send(target.port) == expected, name
        assert time.monotonic() - started < 15, name
    refused = httpx.post(
        f"{target.url}/api/v1/verify/qr",
        content=deep_json(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert refused.status_code == 422
    assert "LICLEDGER_MAX_JSON_DEPTH" in refused.json()["detail"]
    assert worker_pids(target.proc.pid) == before and all(alive(p) for p in before)
    status, verdict, _ = verify_ms(target.url, target.payload)
    assert (status, verdict) == (200, "VALID")


@pytest.mark.e2e
def test_kill_9_of_the_master_ends_its_workers_and_frees_the_port(target: Target) -> None:
    workers = worker_pids(target.proc.pid)
    assert workers
    killed = time.monotonic()
    os.kill(target.proc.pid, signal.SIGKILL)
    target.proc.wait(10)
    assert wait_for(lambda: port_free(target.port), 5) is not None, "port still in use"
    assert wait_for(lambda: not any(alive(p) for p in workers), 10) is not None
    single = [c for c in target.cmd if c not in ("--workers", "2")]
    restart = subprocess.Popen([*single, "--port", str(target.port)], env=target.env)
    try:
        # the restart binds the port at once (no "Address already in use") ...
        listening = wait_for(lambda: not port_free(target.port), 5)
        assert listening is not None and restart.poll() is None
        assert time.monotonic() - killed < 10
        # ... and answers once its import is done
        assert wait_for(lambda: verify_ms(target.url, target.payload)[1] == "VALID", 120)
    finally:
        stop(restart)


@pytest.mark.unit
def test_depth_scanner_counts_brackets_outside_strings_only() -> None:
    assert not json_too_deep(b'{"a": "[[[[[[[[[[[[", "b": [[1]]}', 4)
    assert json_too_deep(b'{"a": [[[[1]]]]}', 4)
    assert not json_too_deep(b"[[], [], [], [], [], [], [], []]", 2)
    assert json_too_deep(b"[" * 100_000 + b"]" * 100_000, 32)
    assert not json_too_deep(b'{"a": "\\"[[[[[[\\""}', 2)  # escaped quotes stay in the string


@pytest.mark.unit
def test_request_limit_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICLEDGER_MAX_HEADER_BYTES", "100")
    with pytest.raises(ConfigError, match="LICLEDGER_MAX_HEADER_BYTES"):
        load_settings("/tmp/nowhere")
