"""Issue 8 item 11: the public surface against a real `licledger serve` process on loopback.

- A cross-site form POST to ``/verify`` (``Origin: http://evil.example``, or no token) is
  refused with 403 and never shows the revoked licence as VALID; the same form opened on the
  site itself (token + cookie) works and says REVOKED.
- A 100 MB upload streamed in chunks is refused with 413 once it passes 20 MiB, quickly, and
  the server's resident memory does not grow by more than ~50 MB; an announced
  ``Content-Length`` over the cap is refused before any body is sent.
- Public verification is rate-limited per client: 429 with ``Retry-After``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from select import select as wait_readable

import httpx
import pytest
from sqlalchemy import select

from ledger_client.node import AnvilNode
from ledger_client.registry import LeafStatus
from licence_service.services import issue_licence
from licence_service.services.status import change_status
from licence_service.store.models import LicenceVersion
from tests.chain_fixtures import free_port
from tests.security.http_server import form_token
from tests.service_fixtures import business_request, region_runtime, serve_env

EXE = str(Path(sys.executable).parent / "licledger")
MIB = 1024 * 1024
BURST = 40
BOUNDARY = "llboundary"


@dataclass
class Server:
    url: str
    port: int
    pid: int
    revoked_qr: str

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = region_runtime(tmp_path_factory.mktemp("public"), anvil, public_url=url)
    doc = issue_licence(rt, business_request())
    change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1, "test revocation")
    with rt.sessions() as s:
        qr = s.scalars(
            select(LicenceVersion.qr_payload).where(LicenceVersion.identifier == doc.licence_id)
        ).one()
    env = serve_env(anvil, url, verify_burst=str(BURST), verify_rate_per_minute="6")
    proc = subprocess.Popen(
        [EXE, "serve", "--data-dir", str(rt.settings.home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr and proc.stderr.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield Server(url, port, proc.pid, qr)
    finally:
        proc.terminate()
        proc.wait(15)


# ---------------------------------------------------------------------------- CSRF
def test_cross_site_form_post_is_refused(server: Server) -> None:
    form = {"qr": server.revoked_qr, "at": datetime.now(UTC).isoformat()}
    with httpx.Client(base_url=server.url, timeout=60) as c:
        evil = c.post("/verify", data=form, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403, evil.text
        assert "VALID" not in evil.text and "cross-site" in evil.json()["detail"]

        # a forged form without the site's token (no Origin sent, as some browsers do)
        tokenless = c.post("/verify", data=form)
        assert tokenless.status_code == 403 and "VALID" not in tokenless.text

        token = form_token(c)  # the site's own form: cookie + hidden field
        referer = {"Referer": "http://evil.example/page"}
        assert (
            c.post("/verify", data={**form, "csrf_token": token}, headers=referer).status_code
            == 403
        )
        other = "1" if token.endswith("0") else "0"  # a token differing in its last digit
        wrong = c.post("/verify", data={**form, "csrf_token": token[:-1] + other})
        assert wrong.status_code == 403

        # the site's own form, asking about now (the chain's clock, not this machine's, says
        # when the revocation happened; other tests move the chain's clock ahead)
        mine = {"qr": server.revoked_qr, "csrf_token": token}
        own = c.post("/verify", data=mine, headers={"Origin": server.url})
        assert own.status_code == 200, own.text
        assert "REVOKED" in own.text and "VALID ·" not in own.text


# ---------------------------------------------------------------------------- upload cap
def _multipart_head(token: str | None) -> bytes:
    parts = b""
    if token:
        parts += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        ).encode()
    return (
        parts
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
        ).encode()
    )


def _read_status(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes]:
    """Status code and raw response (headers and the body its Content-Length announces)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
             if line.startswith(b"content-length:")),
            0,
        )  # fmt: skip
        if sep and len(body) >= length:
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def stream_upload(
    server: Server, path: str, total: int, cookie: str = "", token: str | None = None
) -> tuple[int, int, float]:
    """POST ``total`` bytes chunked, stopping as soon as the server answers.

    Returns (status, bytes sent, seconds)."""
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Transfer-Encoding: chunked\r\n{cookie}\r\n"
    ).encode()
    sock.sendall(head)
    body_head = _multipart_head(token)
    sock.sendall(b"%x\r\n%s\r\n" % (len(body_head), body_head))
    chunk = b"\0" * MIB
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = len(body_head)
    try:
        while sent < total:
            readable, _, _ = wait_readable([sock], [], [], 0)
            if readable:
                break
            sock.sendall(frame)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        status, _ = _read_status(sock)
    finally:
        sock.close()
    return status, sent, time.monotonic() - start


@pytest.mark.parametrize("path", ["/verify", "/api/v1/verify/pdf"])
def test_streamed_100mb_upload_is_refused_early(server: Server, path: str) -> None:
    cookie, token = "", None
    if path == "/verify":  # a genuine form, so the size is the only reason to refuse
        with httpx.Client(base_url=server.url, timeout=30) as c:
            token = form_token(c)
        cookie = f"Cookie: ll_csrf={token}\r\n"
    before = server.rss_kib()
    status, sent, seconds = stream_upload(server, path, 100 * MIB, cookie, token)
    grown = (server.rss_kib() - before) / 1024
    assert status == 413
    assert sent < 40 * MIB, f"the server read {sent / MIB:.0f} MiB before refusing"
    assert seconds < 15, seconds
    assert grown < 50, f"server RSS grew by {grown:.0f} MiB"


def test_announced_oversized_body_is_refused_before_sending(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(
            (
                f"POST /api/v1/verify/pdf HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {100 * MIB}\r\n\r\n"
            ).encode()
        )
        status, raw = _read_status(sock, timeout=5)
    finally:
        sock.close()
    assert status == 413 and b"20 MiB" in raw


# ---------------------------------------------------------------------------- rate limit
def test_public_verification_is_rate_limited(server: Server) -> None:
    """Runs last in the module: it empties this client's bucket."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        statuses = []
        for _ in range(BURST + 5):
            r = c.post("/api/v1/verify/qr", json={"payload": server.revoked_qr})
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {200}
        assert 1 <= int(r.headers["Retry-After"]) <= 10
        assert "too many verification requests" in r.json()["detail"]
        # the pages share the client's bucket; other endpoints are not limited
        assert c.get(f"/v/{server.revoked_qr.rsplit('/', 1)[-1]}").status_code == 429
        assert c.get("/api/v1/health").status_code == 200
