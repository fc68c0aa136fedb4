"""`licledger bench load`: verifying and issuing clients against two `licledger serve`
instances on one PostgreSQL, for a bounded time; then every acknowledged issuance must be
anchored (exactly once: one outbox entry per licence, anchored).

Default: 32 verifying clients (PDF uploads, alternating between the instances) and 4
issuing clients (``wait: false``: acknowledged when durably recorded) for 60 s. Prints
requests, errors, acknowledged versus anchored, and p50/p99 latency per kind. The clients
are threads of one Python process on the same machine as both servers, the chain and the
database, so the latencies include their competition for the cores.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from bench.pg import pg_cluster
from bench.region import machine
from bench.verify_server import RATE_ENV, Region, free_port, licledger, serving
from licence_service.domain.states import OutboxState
from licence_service.store.models import LicenceVersion, OutboxEntry

AGENCY = "11330100002489458U"  # the default agency of `licledger init`
CHECKS = ("zero_errors", "nothing_lost", "one_outbox_entry_each")
"""What must hold for the bench to pass (`licledger bench load` exits 1 otherwise)."""
FIELDS = {
    "类型": "有限责任公司",
    "法定代表人": "王晓东",
    "注册资本": "100万元",
    "成立日期": "2018-05-21",
    "住所": "浙江省杭州市西湖区文三路90号",
    "经营范围": "软件开发",
}
ISSUE = {"type_code": "BL01", "holder_name": "杭州青禾科技有限公司",
         "holder_id": "91330106MA2B0XKH34", "fields": FIELDS, "wait": False}  # fmt: skip


@dataclass
class Tally:
    """What the clients of one kind saw (appended under a lock)."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def figures(self) -> dict[str, Any]:
        ms = sorted(x * 1000 for x in self.latencies)
        pick = (lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)) if ms else None
        return {
            "requests": len(ms),
            "errors": len(self.errors),
            "p50_ms": pick(0.50) if pick else None,
            "p99_ms": pick(0.99) if pick else None,
            "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
            "first_errors": self.errors[:3],
        }


def _run(cmd: list[str], env: dict[str, str]) -> str:
    import subprocess

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-3:])} failed: {done.stderr[-1000:]}")
    return done.stdout


def _client(urls: list[str], until: float, tally: Tally, send: Any) -> None:
    with httpx.Client(timeout=60) as c:
        n = 0
        while time.monotonic() < until:
            url = urls[n % len(urls)]
            n += 1
            started = time.monotonic()
            try:
                r = send(c, url)
                ok = r.status_code in (200, 201)
                detail = f"{r.status_code} {r.text[:120]}"
            except httpx.HTTPError as exc:
                ok, detail, r = False, f"{type(exc).__name__}: {exc}", None
            with tally.lock:
                tally.latencies.append(time.monotonic() - started)
                if not ok:
                    tally.errors.append(detail)
                elif r is not None and r.status_code == 201:
                    tally.acknowledged.append(r.json()["licence_id"])


def _anchored(database_url: str, ids: list[str], timeout: float) -> dict[str, int]:
    """Wait until every acknowledged licence's outbox entry is anchored; count them."""
    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(LicenceVersion.identifier, OutboxEntry.state)
                    .join(OutboxEntry, OutboxEntry.version_id == LicenceVersion.id)
                    .where(LicenceVersion.identifier.in_(ids))
                ).all()
                entries = conn.scalar(select(func.count()).select_from(OutboxEntry))
            anchored = sum(1 for _, state in rows if state == OutboxState.ANCHORED)
            if anchored == len(ids) or time.monotonic() > deadline:
                return {"anchored": anchored, "outbox_rows_found": len(rows),
                        "outbox_entries_total": int(entries or 0)}  # fmt: skip
            time.sleep(0.5)
    finally:
        engine.dispose()


def run(
    quick: bool = False, seconds: float | None = None, verifiers: int | None = None,
    issuers: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    seconds = seconds if seconds is not None else (10.0 if quick else 60.0)
    verifiers = verifiers if verifiers is not None else (8 if quick else 32)
    issuers = issuers if issuers is not None else (2 if quick else 4)
    with tempfile.TemporaryDirectory(prefix="licledger-load-") as tmp, pg_cluster() as pg:
        home = Path(tmp) / "region"
        url = pg.create_database("load")
        env = {**os.environ, **RATE_ENV, "LICLEDGER_HOME": str(home),
               "LICLEDGER_CHAIN_PORT": str(free_port()), "LICLEDGER_DATABASE_URL": url,
               "LICLEDGER_API_WORKERS": "1"}  # fmt: skip
        env.pop("LICLEDGER_RPC_URL", None)
        region = Region(home, env)
        try:
            _run([*licledger(), "chain", "up"], env)
            _run([*licledger(), "init", "--json"], env)
            out = _run([*licledger(), "user", "add", "bench-issuer", "--unit", AGENCY, "--role",
                        "issuer", "--token", "--json"], env)  # fmt: skip
            import json

            headers = {"Authorization": f"Bearer {json.loads(out)['token']}"}
            with serving(region, 1) as a, serving(region, 1) as b:
                urls = [a.url, b.url]
                with httpx.Client(timeout=120) as c:
                    sample = c.post(f"{a.url}/api/v1/licences", json={**ISSUE, "wait": True},
                                    headers=headers)  # fmt: skip
                    sample.raise_for_status()
                    lid = sample.json()["licence_id"]
                    pdf = c.get(f"{a.url}/api/v1/licences/{lid}/pdf", headers=headers).content
                verify, issue = Tally(), Tally()

                def send_verify(c: httpx.Client, base: str) -> httpx.Response:
                    files = {"file": ("l.pdf", pdf, "application/pdf")}
                    r = c.post(f"{base}/api/v1/verify/pdf", files=files)
                    if r.status_code == 200 and r.json().get("verdict") != "VALID":
                        return httpx.Response(599, text=f"verdict {r.json().get('verdict')}")
                    return r

                def send_issue(c: httpx.Client, base: str) -> httpx.Response:
                    return c.post(f"{base}/api/v1/licences", json=ISSUE, headers=headers)

                until = time.monotonic() + seconds
                threads = [
                    threading.Thread(target=_client, args=(urls, until, verify, send_verify))
                    for _ in range(verifiers)
                ] + [
                    threading.Thread(target=_client, args=(urls[::-1], until, issue, send_issue))
                    for _ in range(issuers)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                settled: dict[str, Any] = dict(_anchored(url, issue.acknowledged, 120))
            if verify.errors or issue.errors:  # keep the servers' logs: the temp dir goes
                kept = Path(tempfile.mkdtemp(prefix="licledger-load-logs-"))
                for log in home.glob("serve-*.log"):
                    shutil.copy(log, kept / log.name)
                settled["server_logs"] = str(kept)
        finally:
            _run([*licledger(), "chain", "down"], env)
    acknowledged = len(issue.acknowledged)
    return {
        "verify": verify.figures(),
        "issue": issue.figures(),
        "acknowledged": acknowledged,
        **settled,
        "zero_errors": not verify.errors and not issue.errors,
        "nothing_lost": settled["anchored"] == acknowledged,
        "one_outbox_entry_each": settled["outbox_rows_found"] == acknowledged,
        "conditions": {
            **machine(),
            "database": "PostgreSQL (throwaway cluster, fsync off)",
            "instances": 2,
            "seconds": seconds,
            "verifying_clients": verifiers,
            "issuing_clients": issuers,
        },
    }
