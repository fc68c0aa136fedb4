"""`licledger bench abuse`: hostile requests and a killed master against a real `serve`.

Issue 25's points 1 and 3, measured: each hostile shape (JSON nested 100,000 deep, a JSON body
over the limit, a 10 MB header, 1,000 headers, a client sending its head a byte at a time)
with its status and time; whether every worker process survived (same PIDs); a normal QR
verification's latency while 4 clients repeat the deep-JSON attack; and, after ``kill -9`` of
the ``serve`` master, the time until the port is free and until a restart serves. Bounded
(about a minute). Sections are functions in :data:`SECTIONS`, each ``(Target) -> dict``; a
new section (e.g. concurrent issuance) is one more entry.

The shape senders and the process helpers are shared with ``tests/test_request_limits.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import abuse_issuance
from bench.region import machine
from bench.verify_server import free_port, licledger, make_demo, remove, stop, wait_healthy

HEAD_TIMEOUT = 2.0  # LICLEDGER_HEADER_TIMEOUT_SECONDS for the run: the slow sender ends soon
LIMIT_ENV = {"LICLEDGER_HEADER_TIMEOUT_SECONDS": str(HEAD_TIMEOUT)}


# ---------------------------------------------------------------------------- shapes
def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 30.0) -> int:
    """Send ``head`` (and ``body``) on a plain socket; the answer's status, 0 if none came.
    The server may close while we still send (that is the point): the answer is read anyway."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with suppress(OSError):
            s.sendall(head + body)
        return _status(s)


def _status(s: socket.socket) -> int:
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _post_head(path: str, length: int, extra: bytes = b"") -> bytes:
    return (
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n"
        ).encode()
        + extra
        + b"\r\n"
    )


def deep_json(levels: int = 100_000) -> bytes:
    return b'{"payload": ' + b"[" * levels + b"]" * levels + b"}"


def shape_deep_json(port: int) -> int:
    body = deep_json()
    return raw_request(port, _post_head("/api/v1/verify/qr", len(body)), body)


def shape_huge_json(port: int) -> int:
    body = b'{"payload": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    return raw_request(port, _post_head("/api/v1/verify/qr", len(body)), body)


def shape_huge_header(port: int) -> int:
    head = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    return raw_request(port, head + b"a" * (10 * 1024 * 1024) + b"\r\n\r\n")


def shape_many_headers(port: int) -> int:
    fields = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
    return raw_request(
        port, b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n"
    )


def shape_slow_header(port: int, interval: float = 0.5) -> int:
    """A byte of the head every ``interval`` s, for ever: the server must end it (408)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        s.settimeout(interval)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                s.sendall(b"X")
            except OSError:
                break
            try:
                if s.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        s.settimeout(5)
        return _status(s)


SHAPES: dict[str, tuple[Callable[[int], int], int]] = {
    "deep_json_100000": (shape_deep_json, 422),
    "json_5_mib": (shape_huge_json, 422),
    "header_10_mb": (shape_huge_header, 431),
    "headers_1000": (shape_many_headers, 431),
    "slow_header": (shape_slow_header, 408),
}


# ---------------------------------------------------------------------------- processes
def worker_pids(master: int) -> set[int]:
    """The uvicorn worker processes of ``master`` (its children forked from it: the same
    command line; or spawned), from /proc."""
    found: set[int] = set()
    try:
        own = (Path("/proc") / str(master) / "cmdline").read_bytes()
    except OSError:
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master and (cmdline == own or b"spawn_main" in cmdline):
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_free(port: int) -> bool:
    """Whether a new server could bind ``port`` now (as uvicorn does, with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.05) -> float | None:
    """Seconds until ``check()`` held, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(step)
    return None


@dataclass
class Target:
    """A running ``serve``: its process, port, environment and a QR payload that is VALID."""

    proc: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    cmd: list[str]
    payload: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_serve(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


def verify_ms(url: str, payload: str) -> tuple[int, str, float]:
    started = time.monotonic()
    r = httpx.post(f"{url}/api/v1/verify/qr", json={"payload": payload}, timeout=30)
    verdict = r.json().get("verdict", "") if r.status_code == 200 else r.text[:100]
    return r.status_code, str(verdict), (time.monotonic() - started) * 1000


def kill_master(target: Target) -> dict[str, Any]:
    """kill -9 the master; seconds until its workers are gone, the port is free and a
    restart on the same port answers; the restart is stopped again."""
    workers = worker_pids(target.proc.pid)
    killed = time.monotonic()
    os.kill(target.proc.pid, signal.SIGKILL)
    target.proc.wait(10)
    gone = wait_for(lambda: not any(alive(p) for p in workers), 30)
    free = wait_for(lambda: port_free(target.port), 30)
    restart = subprocess.Popen(
        [*target.cmd, "--port", str(target.port)], env=target.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_healthy(target.url, restart)
        serving = time.monotonic() - killed
        status, verdict, _ = verify_ms(target.url, target.payload)
    finally:
        stop(restart)
    return {
        "workers_killed_with_master": len(workers),
        "workers_gone_s": None if gone is None else round(gone, 2),
        "port_free_s": None if free is None else round(free, 2),
        "restart_serving_s": round(serving, 2),
        "restart_verdict": verdict if status == 200 else f"{status} {verdict}",
    }


# ---------------------------------------------------------------------------- sections
def hostile_shapes(target: Target) -> dict[str, Any]:
    before = worker_pids(target.proc.pid)
    figures: dict[str, Any] = {}
    for name, (send, expected) in SHAPES.items():
        started = time.monotonic()
        status = send(target.port)
        figures[name] = {"status": status, "expected": expected,
                         "s": round(time.monotonic() - started, 2)}  # fmt: skip
    status, verdict, ms = verify_ms(target.url, target.payload)
    figures["workers_before"] = sorted(before)
    figures["workers_after"] = sorted(worker_pids(target.proc.pid))
    figures["same_workers_alive"] = before == set(figures["workers_after"]) and all(
        alive(p) for p in before
    )
    figures["verification_after"] = f"{status} {verdict} {ms:.0f} ms"
    return figures


def under_attack(target: Target, attackers: int = 4, seconds: float = 8.0) -> dict[str, Any]:
    """Normal verifications while ``attackers`` clients repeat the deep-JSON attack."""
    stop_at = time.monotonic() + seconds
    attacks: list[int] = []

    def attack() -> None:
        while time.monotonic() < stop_at:
            attacks.append(shape_deep_json(target.port))

    threads = [threading.Thread(target=attack, daemon=True) for _ in range(attackers)]
    for t in threads:
        t.start()
    latencies, failures = [], 0
    while time.monotonic() < stop_at:
        status, verdict, ms = verify_ms(target.url, target.payload)
        latencies.append(ms)
        failures += status != 200 or verdict != "VALID"
        time.sleep(0.1)
    for t in threads:
        t.join(30)
    ordered = sorted(latencies)
    return {
        "attackers": attackers,
        "seconds": seconds,
        "attacks_sent": len(attacks),
        "attack_statuses": sorted(set(attacks)),
        "verifications": len(latencies),
        "verification_failures": failures,
        "verify_p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "verify_max_ms": round(ordered[-1], 1) if ordered else None,
    }


# Run in order against one server; the last one kills it. Another section is one more entry.
SECTIONS: list[tuple[str, Callable[[Target], dict[str, Any]]]] = [
    ("hostile_shapes", hostile_shapes),
    ("under_attack", under_attack),
    ("issuance", abuse_issuance.section),  # its own two instances on PostgreSQL
    ("kill_master", kill_master),
]


@contextmanager
def _target(workers: int) -> Iterator[Target]:
    home = Path(tempfile.mkdtemp(prefix="licledger-abuse-"))
    try:
        region, samples = make_demo(home, 8)  # the demo changes rows 1-5
        env = {**region.env, **LIMIT_ENV}
        cmd = [*licledger(), "serve", "--workers", str(workers)]
        port = free_port()
        proc = start_serve(cmd, env, port)
        try:
            yield Target(proc, port, env, cmd, samples.qr_payloads[0])
        finally:
            stop(proc)
    finally:  # the demo's node stops by its pid file, even when the demo itself failed
        down = {**os.environ, "LICLEDGER_HOME": str(home)}
        subprocess.run([*licledger(), "chain", "down"], env=down, capture_output=True, timeout=60)
        remove(home)


def passed(results: dict[str, Any]) -> bool:
    """Every shape got its status, the same workers lived on and kept verifying, and after
    the master's kill the port was free within 5 s and a restart served; concurrent issuance
    with retries was exactly-once."""
    shapes = results.get("hostile_shapes", {})
    attack = results.get("under_attack", {})
    killed = results.get("kill_master", {})
    return (
        all(shapes[name]["status"] == expected for name, (_, expected) in SHAPES.items())
        and bool(shapes.get("same_workers_alive"))
        and attack.get("verification_failures") == 0
        and bool(results.get("issuance", {}).get("passed"))
        and (killed.get("port_free_s") is not None and killed["port_free_s"] <= 5)
        and killed.get("restart_verdict") == "VALID"
    )


def run(quick: bool = False) -> dict[str, Any]:
    workers = 2
    results: dict[str, Any] = {}
    started = time.monotonic()
    with _target(workers) as target:
        for name, section in SECTIONS:
            results[name] = section(target)
    results["conditions"] = {
        **machine(),
        "serve_workers": workers,
        "header_timeout_s": HEAD_TIMEOUT,
        "limits": "defaults of LICLEDGER_MAX_JSON_BYTES/_DEPTH, MAX_HEADER_BYTES, MAX_HEADERS",
        "total_s": round(time.monotonic() - started, 1),
    }
    results["passed"] = passed(results)
    return results
