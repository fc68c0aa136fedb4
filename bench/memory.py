"""Benchmark of service memory (issue 12, target 5): the resident memory of a running
`licledger serve` while licences are issued through its HTTP API.

After a warm-up, the server's RSS is read from /proc after each of two equal rounds of
issuance (each licence rendered, signed, stored and anchored by the server's own worker).
Memory that grows with the number of licences would show as growth in both rounds; what
the server keeps per licence belongs in the database, whose growth is printed beside it.
``python -m bench.memory [--quick] [--json]``; ``licledger bench memory``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.issue_data import row
from bench.region import bench_region, free_port, machine
from licence_service.people.identity import PersonRole
from licence_service.people.service import add_person, issue_token
from licence_service.region.bootstrap import DEFAULT_AGENCY
from licence_service.region.runtime import Runtime

EXE = str(Path(sys.executable).parent / "licledger")


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def db_mb(rt: Runtime) -> float:
    return sum(p.stat().st_size for p in rt.settings.home.glob("licledger.db*")) / 2**20


def _issue(client: httpx.Client, start: int, count: int) -> None:
    for n in range(start, start + count):
        values = row(n)
        body = {
            "type_code": "BL01",
            "holder_name": values.pop("holder_name"),
            "holder_id": values.pop("holder_id"),
            "fields": {k: v for k, v in values.items() if k not in ("valid_from", "valid_until")},
            "wait": False,
        }
        r = client.post("/api/v1/licences", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"issuing through the server failed: {r.status_code} {r.text}")


def _wait_idle(client: httpx.Client, rt: Runtime, timeout: float = 300) -> None:
    """Until the server's worker has anchored everything (its memory settles with it)."""
    from sqlalchemy import func, select

    from licence_service.store.models import OutboxEntry

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            left = s.scalar(select(func.count()).where(OutboxEntry.state != "anchored"))
        if not left:
            return
        time.sleep(0.5)
    raise RuntimeError("the server did not anchor the licences in time")


def run(quick: bool = False) -> dict[str, Any]:
    per_round = 20 if quick else 500
    warm = 10 if quick else 100
    with bench_region() as rt:
        add_person(rt, "bench-issuer", DEFAULT_AGENCY[0], frozenset({PersonRole.ISSUER}))
        token = issue_token(rt, "bench-issuer").token
        port = free_port()
        env = {**os.environ, "LICLEDGER_RPC_URL": rt.settings.rpc_url}
        server = subprocess.Popen(
            [EXE, "serve", "--data-dir", str(rt.settings.home), "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120
            ) as c:
                _until_up(c, server)
                _issue(c, 0, warm)
                _wait_idle(c, rt)
                marks = [(rss_mb(server.pid), db_mb(rt))]
                for k in range(2):
                    _issue(c, warm + k * per_round, per_round)
                    _wait_idle(c, rt)
                    marks.append((rss_mb(server.pid), db_mb(rt)))
        finally:
            server.terminate()
            server.wait(30)
    (r0, d0), (r1, d1), (r2, d2) = marks
    return {
        "service_rss_mb_after_warmup": round(r0, 1),
        "service_rss_growth_mb_round_1": round(r1 - r0, 1),
        "service_rss_growth_mb_round_2": round(r2 - r1, 1),
        "service_rss_growth_kb_per_licence": round((r2 - r0) * 1024 / (2 * per_round), 1),
        "db_growth_mb_round_1": round(d1 - d0, 1),
        "db_growth_mb_round_2": round(d2 - d1, 1),
        "licences_per_round": per_round,
        "conditions": {**machine(), "server": "licledger serve (1 process, worker inside)"},
    }


def _until_up(client: httpx.Client, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"licledger serve exited: {server.stderr.read() if server.stderr else ''}"
            )
        try:
            if client.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("licledger serve did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args.quick)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print("Licence Ledger service memory benchmark")
    for key, value in figures.items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
