"""Benchmark of the spine: issue (render + sign + store), anchor, verify.

Runs on its own temporary data directory and its own anvil node on a free loopback port, and
prints figures with the conditions they were measured under. `make bench` runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import tempfile
import time
from pathlib import Path

from ledger_client.node import AnvilNode, NodeConfig
from licence_service.anchoring.worker import AnchorWorker
from licence_service.demo.applicants import demo_applications
from licence_service.region.bootstrap import chain_up, init_region
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services.issue import IssueRequest, issue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _api_latency(rt: Runtime, pdfs: list[bytes]) -> list[float]:
    """Verification over HTTP, as window staff's pages call it (server on loopback)."""
    import threading
    from dataclasses import replace

    import httpx
    import uvicorn

    from licence_service.api.app import create_app

    port = _free_port()
    # one client measuring latency, not abuse: let the whole run through the rate limit
    rt.settings = replace(rt.settings, verify_burst=len(pdfs) + 10)
    server = uvicorn.Server(
        uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    timings = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for data in pdfs:
            t = time.perf_counter()
            r = client.post("/api/v1/verify/pdf", files={"file": ("l.pdf", data)})
            timings.append((time.perf_counter() - t) * 1000)
            assert r.json()["verdict"] == "VALID", r.text
    server.should_exit = True
    thread.join(10)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licences", type=int, default=200)
    parser.add_argument("--verify", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        port = _free_port()
        node = AnvilNode(NodeConfig(directory=home / "chain", port=port))
        node.start()
        try:
            settings = load_settings(
                home, chain_port=port, rpc_url=f"http://127.0.0.1:{port}", embedded_chain=False
            )
            rt = Runtime(settings)
            chain_up(rt)
            init_region(rt)
            apps = demo_applications(args.licences, "330100", seed=1)

            t0 = time.perf_counter()
            docs = [
                issue(rt, IssueRequest(a.type_code, a.holder_name, a.holder_id, a.fields))
                for a in apps
            ]
            issue_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            flushed = AnchorWorker(rt).flush()
            anchor_s = time.perf_counter() - t0

            verifier = rt.verifier()
            verifier.indexer.sync() if verifier.indexer else None  # warm the index
            pdf_ms: list[float] = []
            for doc in docs[: args.verify]:
                data = doc.pdf_path.read_bytes()
                t = time.perf_counter()
                verdict = verifier.verify_pdf(data).verdict
                pdf_ms.append((time.perf_counter() - t) * 1000)
                assert verdict.value == "VALID", verdict
            size = statistics.mean(d.pdf_path.stat().st_size for d in docs)
            api_ms = _api_latency(rt, [d.pdf_path.read_bytes() for d in docs[: args.verify]])
        finally:
            node.stop()

    print("Licence Ledger spine benchmark")
    print(f"  machine: {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.system()} {platform.machine()}")  # fmt: skip
    print(f"  chain: anvil on loopback, batch size {settings.batch_size}, SQLite (WAL, sync FULL)")
    print(f"  issue (validate, render, watermark, sign, store): {args.licences} licences in "
          f"{issue_s:.2f} s = {args.licences / issue_s:.1f} licences/s, "
          f"{issue_s / args.licences * 1000:.0f} ms each, "
          f"mean PDF {size / 1024:.0f} KiB")  # fmt: skip
    print(f"  anchor: {flushed.leaves} leaves in {flushed.batches} batches in {anchor_s:.2f} s = "
          f"{flushed.leaves / anchor_s:.0f} leaves/s")  # fmt: skip
    print(f"  verify PDF (signature, index, Merkle proof, status): n={len(pdf_ms)} "
          f"p50 {_pct(pdf_ms, 0.5):.1f} ms, p95 {_pct(pdf_ms, 0.95):.1f} ms, "
          f"max {max(pdf_ms):.1f} ms")  # fmt: skip
    print(f"  verify PDF over HTTP (POST /api/v1/verify/pdf, loopback): n={len(api_ms)} "
          f"p50 {_pct(api_ms, 0.5):.1f} ms, p95 {_pct(api_ms, 0.95):.1f} ms, "
          f"max {max(api_ms):.1f} ms (service level: <= 200 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
