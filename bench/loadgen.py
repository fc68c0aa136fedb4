"""Closed-loop HTTP load: ``concurrency`` clients each POST one request after another for a
bounded time, cycling through prepared bodies; throughput and latency percentiles.

``wrk`` (a separate native process; Debian package ``wrk``) is used when installed: it costs
the 2-core machine far less CPU than a Python client would, so more of it is left to the
server. Without it, an asyncio/httpx generator runs in a child process of its own.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BOUNDARY = "llbenchboundary7f3a"

_WRK_SCRIPT = r"""
local bodies, idx = {}, 0
init = function(args)
  for path in io.open(args[1]):read("*a"):gmatch("[^\n]+") do
    local f = io.open(path, "rb"); bodies[#bodies + 1] = f:read("*a"); f:close()
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[2]
end
request = function()
  idx = idx % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[idx])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Load:
    """One request kind: the path and the bodies to cycle through, with their content type."""

    path: str
    content_type: str
    bodies: list[bytes]


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    errors: int  # transport errors and non-2xx answers: must be 0 for figures to count
    p50_ms: float
    p99_ms: float

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def qr_load(payloads: list[str]) -> Load:
    bodies = [json.dumps({"payload": p}).encode() for p in payloads]
    return Load("/api/v1/verify/qr", "application/json", bodies)


def pdf_load(pdfs: list[bytes]) -> Load:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="l.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return Load(
        "/api/v1/verify/pdf", f"multipart/form-data; boundary={BOUNDARY}",
        [head + pdf + tail for pdf in pdfs],
    )  # fmt: skip


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "python-httpx"


def drive(url: str, load: Load, concurrency: int, seconds: float) -> Figures:
    if shutil.which("wrk"):
        return _wrk(url, load, concurrency, seconds)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_python_load, (url, load, concurrency, seconds))


def _wrk(url: str, load: Load, concurrency: int, seconds: float) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = []
        for i, body in enumerate(load.bodies):
            (folder / f"{i}.body").write_bytes(body)
            names.append(str(folder / f"{i}.body"))
        (folder / "bodies.txt").write_text("\n".join(names))
        (folder / "post.lua").write_text(_WRK_SCRIPT)
        threads = 1 if concurrency < 4 else 2
        cmd = [
            "wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(folder / "post.lua"), url + load.path,
            "--", str(folder / "bodies.txt"), load.content_type,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {proc.stdout[-1000:]} {proc.stderr[-1000:]}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    return Figures(
        requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
        errors=raw["errors"] + raw["status_errors"],
        p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
    )  # fmt: skip


def _python_load(url: str, load: Load, concurrency: int, seconds: float) -> Figures:
    return asyncio.run(_python_async(url, load, concurrency, seconds))


async def _python_async(url: str, load: Load, concurrency: int, seconds: float) -> Figures:
    import httpx

    latencies: list[float] = []
    errors = 0
    headers = {"content-type": load.content_type}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    stop_at = started + seconds

    async def client(offset: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < stop_at:
            body = load.bodies[i % len(load.bodies)]
            i += 1
            t = time.perf_counter()
            try:
                r = await http.post(load.path, content=body, headers=headers)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t)
            errors += not ok

    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as http:
        await asyncio.gather(*(client(k, http) for k in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return Figures(len(latencies), elapsed, errors, pct(0.5), pct(0.99))
