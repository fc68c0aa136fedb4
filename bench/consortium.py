"""`licledger bench consortium`: three regions on three nodes of a real multi-node network,
counters verifying across regions while issuers issue (issue 21, point 6).

Three Clique signer nodes of @ethereumjs/client on loopback (``--block-period`` s blocks,
``LICLEDGER_CONFIRMATIONS`` 2), regions A 杭州, B 深圳 and C 北京 (the test consortium:
tests/federation_fixtures.py), each served by its own `licledger serve` on its own node (its
``LICLEDGER_RPC_URL``: that node first, the others after it). For ``--seconds`` (default 60)
32 counter clients verify PDFs of the *other* regions through each region's server (HTTP on
127.0.0.1), and 4 issuing clients issue at the three regions in turn (``wait: false``:
acknowledged once durably recorded). Then every acknowledged issuance must be anchored, and
the chain itself is counted: every leaf in exactly one batch. The clients are threads of this
process on the same 2 cores as the nodes and servers, so latencies include that competition.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.load import ISSUE, Tally, _anchored, _client
from bench.region import machine
from bench.verify_server import RATE_ENV, Region, licledger, serving
from licence_service.region.runtime import Runtime
from tests.federation_fixtures import REGIONS, build_consortium
from tests.network_fixtures import (
    CLIQUE_CONFIRMATIONS,
    anchored_counts,
    london_artifacts,
    region_urls,
    running_network,
)

NAMES = ("A", "B", "C")
CHECKS = ("zero_errors", "nothing_lost", "anchored_once_each", "nodes_in_step")
"""What must hold for the bench to pass (`licledger bench consortium` exits 1 otherwise)."""
IN_STEP_BLOCKS = 3
"""How far apart the nodes' heads may be when the bench ends: a block or two is propagation;
a node 8 behind was a client defect (a competing block dropped: the hooks) that left its
region's verdicts stale."""
SETTLE_TIMEOUT = 240.0  # seconds after the clients stop for every acknowledged licence to anchor


def _region_env(rt: Runtime, rpc_url: str) -> dict[str, str]:
    """What `licledger serve` of region ``rt`` needs to run as the bench built it."""
    return {
        **os.environ, **RATE_ENV,
        "LICLEDGER_HOME": str(rt.settings.home), "LICLEDGER_RPC_URL": rpc_url,
        "LICLEDGER_EMBEDDED_CHAIN": "0", "LICLEDGER_CHAIN_PORT": str(rt.settings.chain_port),
        "LICLEDGER_CONFIRMATIONS": str(CLIQUE_CONFIRMATIONS),
        "LICLEDGER_DIRECTORY_THRESHOLD": "2", "LICLEDGER_API_WORKERS": "1",
    }  # fmt: skip


def _keep_logs(root: Path) -> None:
    """On an error or a failed check, the nodes' and servers' logs are copied out of the
    temporary folder, which goes when the bench ends."""
    kept = Path(tempfile.mkdtemp(prefix="licledger-cons-logs-"))
    for log in [*root.glob("network/node*/node.log"), *root.glob("regions/*/serve-*.log")]:
        shutil.copy(log, kept / f"{log.parent.name}-{log.name}")
    print(f"bench consortium failed; logs kept in {kept}", file=sys.stderr)


def _issuer_token(env: dict[str, str], agency: str) -> str:
    done = subprocess.run(
        [*licledger(), "user", "add", "bench-issuer", "--unit", agency, "--role", "issuer",
         "--token", "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"user add failed: {done.stderr[-800:]}")
    return str(json.loads(done.stdout)["token"])


def _sample_pdf(url: str, headers: dict[str, str]) -> bytes:
    """One licence issued and anchored now (``wait: true``), as a PDF."""
    with httpx.Client(timeout=300) as c:
        made = c.post(f"{url}/api/v1/licences", json={**ISSUE, "wait": True}, headers=headers)
        made.raise_for_status()
        lid = made.json()["licence_id"]
        return c.get(f"{url}/api/v1/licences/{lid}/pdf", headers=headers).content


def _until_valid(foreign: dict[str, bytes], timeout: float = 180.0) -> float:
    """Seconds until every server answers VALID for the licence its counters will send."""
    started = time.monotonic()
    with httpx.Client(timeout=60) as c:
        for base, pdf in foreign.items():
            while True:
                files = {"file": ("l.pdf", pdf, "application/pdf")}
                r = c.post(f"{base}/api/v1/verify/pdf", files=files)
                if r.status_code == 200 and r.json().get("verdict") == "VALID":
                    break
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"{base} did not answer VALID within {timeout:.0f} s")
                time.sleep(1.0)
    return time.monotonic() - started


def run(
    quick: bool = False, seconds: float | None = None, verifiers: int | None = None,
    issuers: int | None = None, block_period: int = 2,
) -> dict[str, Any]:  # fmt: skip
    seconds = seconds if seconds is not None else (15.0 if quick else 60.0)
    verifiers = verifiers if verifiers is not None else (8 if quick else 32)
    issuers = issuers if issuers is not None else (2 if quick else 4)
    load_before = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="licledger-cons-")))
        failed = [True]  # until the checks below pass: logs are kept on an error or a failure
        stack.push(lambda kind, exc, tb: _keep_logs(root) if failed[0] else None)
        stack.enter_context(london_artifacts())
        net = stack.enter_context(running_network(root / "network", block_period=block_period))
        urls = {name: region_urls(net, i) for i, name in enumerate(NAMES)}
        settings = {"confirmations": CLIQUE_CONFIRMATIONS, "receipt_timeout": 120.0}
        consortium = build_consortium(
            root / "regions", urls["A"], net.config.rpc_port, rpc_urls=urls,
            **{name: settings for name in NAMES},  # type: ignore[arg-type]
        )  # fmt: skip
        runtimes = dict(zip(NAMES, (consortium.a, consortium.b, consortium.c), strict=True))
        setup_s = time.monotonic() - started
        envs = {n: _region_env(runtimes[n], urls[n]) for n in NAMES}
        headers = {
            n: {"Authorization": f"Bearer {_issuer_token(envs[n], REGIONS[n][2])}"} for n in NAMES
        }
        servers = {
            n: stack.enter_context(serving(Region(runtimes[n].settings.home, envs[n]), 1)).url
            for n in NAMES
        }
        pdfs = {n: _sample_pdf(servers[n], headers[n]) for n in NAMES}
        # a counter at region X verifies the licence of the region after X (never its own)
        foreign = {servers[n]: pdfs[NAMES[(i + 1) % 3]] for i, n in enumerate(NAMES)}
        region_of = {servers[n]: n for n in NAMES}
        verify, issue = Tally(), Tally()
        issued: dict[str, list[str]] = {n: [] for n in NAMES}
        lock = threading.Lock()

        def send_verify(c: httpx.Client, base: str) -> httpx.Response:
            files = {"file": ("l.pdf", foreign[base], "application/pdf")}
            r = c.post(f"{base}/api/v1/verify/pdf", files=files)
            if r.status_code == 200 and r.json().get("verdict") != "VALID":
                return httpx.Response(599, text=f"verdict {r.json().get('verdict')}")
            return r

        def send_issue(c: httpx.Client, base: str) -> httpx.Response:
            r = c.post(f"{base}/api/v1/licences", json=ISSUE, headers=headers[region_of[base]])
            if r.status_code == 201:
                with lock:
                    issued[region_of[base]].append(r.json()["licence_id"])
            return r

        warmup = _until_valid(foreign)
        order = [servers[n] for n in NAMES]
        until = time.monotonic() + seconds
        jobs = [(verify, send_verify)] * verifiers + [(issue, send_issue)] * issuers
        threads = [
            threading.Thread(target=_client, args=(order[i % 3 :] + order[: i % 3], until, *job))
            for i, job in enumerate(jobs)
        ]
        run_started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ran_s = time.monotonic() - run_started
        load_during = round(os.getloadavg()[0], 2)
        settle_by = time.monotonic() + SETTLE_TIMEOUT  # one bound for all three regions
        settled = {
            n: _anchored(
                runtimes[n].settings.database_url, issued[n], max(1.0, settle_by - time.monotonic())
            )
            for n in NAMES
        }
        batches, leaves, distinct = anchored_counts(runtimes["B"])
        heads = [s.head_block for s in net.status()]  # None: a node that is not running
        known = [h for h in heads if h is not None]
        acknowledged = sum(len(v) for v in issued.values())
        anchored = sum(s["anchored"] for s in settled.values())
        one_entry_each = all(settled[n]["outbox_rows_found"] == len(issued[n]) for n in NAMES)
        figures: dict[str, Any] = {
            "verify": verify.figures(),
            "issue": issue.figures(),
            "acknowledged": acknowledged,
            "anchored": anchored,
            "by_region": {n: {"acknowledged": len(issued[n]), **settled[n]} for n in NAMES},
            "chain_batches": batches,
            "chain_leaves": leaves,
            "chain_leaves_distinct": distinct,
            "errors": len(verify.errors) + len(issue.errors),
            "zero_errors": not verify.errors and not issue.errors,
            "nothing_lost": anchored == acknowledged,
            "anchored_once_each": leaves == distinct and one_entry_each,
            "nodes_in_step": len(known) == len(heads) and max(known) - min(known) <= IN_STEP_BLOCKS,
            "conditions": {
                **machine(),
                "chain": "3 Clique signer nodes of @ethereumjs/client 0.10.5 on loopback",
                "load_1min_before": load_before,
                "load_1min_after_clients": load_during,
                "seconds": round(ran_s, 1),
                "setup_seconds": round(setup_s, 1),
                # until every server answered VALID for its foreign sample (its node had the
                # batch CONFIRMATIONS deep): nodes lag their peers by a few blocks
                "warmup_seconds": round(warmup, 1),
                "nodes": 3,
                "block_period_s": block_period,
                "confirmations": CLIQUE_CONFIRMATIONS,
                "node_heads_at_end": heads,
                "verifying_clients": verifiers,
                "issuing_clients": issuers,
                "servers": "one `licledger serve` per region, SQLite, 1 worker",
            },
        }
        failed[0] = not all(figures[check] for check in CHECKS)
    figures["conditions"]["total_seconds"] = round(time.monotonic() - started, 1)
    return figures
