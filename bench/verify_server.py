"""The region under test for the verification benchmark: demo data in a temporary data
directory on the embedded defaults, and ``licledger serve`` as a real server process.

Everything runs on free loopback ports, so the benchmark never meets another region or
another engineer's node. The rate limit of the public verification endpoints is configured up
(one load generator speaks from one address), never removed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from signing.pdf_metadata import read_metadata

METADATA_FILE = "licence-metadata.json"
# Far above what one load generator can send, so every request reaches verification.
RATE_ENV = {"LICLEDGER_VERIFY_RATE_PER_MINUTE": "100000000", "LICLEDGER_VERIFY_BURST": "1000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def licledger() -> list[str]:
    """The CLI of this interpreter's environment (the bench may run outside the venv's PATH)."""
    script = Path(sys.executable).with_name("licledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "licence_service.cli.main"]


@dataclass(frozen=True)
class Samples:
    """What the load generator sends: valid licences' PDFs and their QR payloads."""

    pdfs: list[bytes]
    qr_payloads: list[str]


@dataclass(frozen=True)
class Region:
    home: Path
    env: dict[str, str]


def region_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(RATE_ENV)
    env["LICLEDGER_HOME"] = str(home)
    env["LICLEDGER_CHAIN_PORT"] = str(free_port())
    env.pop("LICLEDGER_RPC_URL", None)
    env.pop("LICLEDGER_DATABASE_URL", None)
    return env


def make_demo(home: Path, count: int) -> tuple[Region, Samples]:
    """Run ``licledger demo`` and keep the licences whose verdict stays VALID."""
    env = region_env(home)
    out = home / "demo-out"
    proc = subprocess.run(
        [*licledger(), "demo", "--out", str(out), "--count", str(count), "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"licledger demo failed ({proc.returncode}): {proc.stderr[-2000:]}")
    rows = json.loads(proc.stdout)["rows"]
    # rows 1-5 are tampered, revoked, amended, suspended or copied by the demo's scenario
    changed = {r["licence_id"] for r in rows[1:6]}
    valid = [r for r in rows if r["case"] == "issued" and r["licence_id"] not in changed]
    pdfs = [Path(r["pdf"]).read_bytes() for r in valid]
    tokens = [str(read_metadata(p, METADATA_FILE)["qr_token"]) for p in pdfs]
    return Region(home, env), Samples(pdfs, tokens)


def chain_down(region: Region) -> None:
    subprocess.run([*licledger(), "chain", "down"], env=region.env, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Server:
    url: str
    workers: int | None


def supports_workers() -> bool:
    proc = subprocess.run([*licledger(), "serve", "--help"], capture_output=True, text=True)
    return "--workers" in proc.stdout


@contextmanager
def serving(region: Region, workers: int | None = None) -> Iterator[Server]:
    """``licledger serve`` on a free port until the block ends; ``workers`` None: its default."""
    port = free_port()
    cmd = [*licledger(), "serve", "--port", str(port)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    log = (region.home / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, env=region.env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, region.home / f"serve-{port}.log")
        yield Server(url, workers)
    finally:
        stop(proc, grace=20)
        log.close()


def stop(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    """Terminate a server and wait for it; kill it when it does not stop within ``grace`` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Until ``url`` answers its health check; raises with the log's end if ``proc`` exits."""

    def tail() -> str:
        return log.read_text()[-2000:] if log is not None and log.exists() else ""

    deadline = time.monotonic() + 180  # N workers import the whole stack at once
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"licledger serve exited ({proc.returncode}): {tail()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"licledger serve did not answer within 180 s: {tail()}")


def check_verdicts(url: str, samples: Samples) -> None:
    """Every sample is VALID over HTTP before any load: a benchmark of refusals is no benchmark."""
    with httpx.Client(base_url=url, timeout=60) as c:
        for token in samples.qr_payloads:
            r = c.post("/api/v1/verify/qr", json={"payload": token})
            if r.status_code != 200 or r.json()["verdict"] != "VALID":
                raise RuntimeError(f"QR sample not VALID: {r.status_code} {r.text[:500]}")
        for pdf in samples.pdfs:
            r = c.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf, "application/pdf")})
            if r.status_code != 200 or r.json()["verdict"] != "VALID":
                raise RuntimeError(f"PDF sample not VALID: {r.status_code} {r.text[:500]}")


def remove(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
