"""Three region services as separate processes on loopback, each with its own database and
keys, against one chain: A issues, B verifies with A stopped, C is refused without consent,
the holder consents, C gets the masked data, the receipt is on-chain, A rotates its keys
through M-of-N approval, old licences stay valid."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ledger_client.node import AnvilNode, NodeConfig
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port
from tests.federation_fixtures import Consortium, build_consortium
from tests.people_fixtures import staff
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

EXE = str(Path(sys.executable).parent / "licledger")


class Service:
    """One region's `licledger serve` process."""

    def __init__(self, rt: Runtime, rpc_url: str, chain_port: int) -> None:
        self.rt = rt
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LICLEDGER_RPC_URL": rpc_url,
            "LICLEDGER_CHAIN_PORT": str(chain_port),
            "LICLEDGER_PUBLIC_URL": self.url,
            "LICLEDGER_DIRECTORY_THRESHOLD": "2",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.keys = staff(rt)  # Authorization headers of the region's people, by role

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [EXE, "serve", "--data-dir", str(self.rt.settings.home), "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"service on {self.url} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.proc = None

    def cli(self, *args: str, check: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [EXE, *args, "--data-dir", str(self.rt.settings.home)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == check, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        return proc


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    root = tmp_path_factory.mktemp("federation")
    port = free_port()
    node = AnvilNode(NodeConfig(directory=root / "chain", port=port))
    node.start()
    rpc = node.config.rpc_url
    try:
        consortium: Consortium = build_consortium(root, rpc, port)
        svc = {
            "A": Service(consortium.a, rpc, port),
            "B": Service(consortium.b, rpc, port),
            "C": Service(consortium.c, rpc, port),
        }
        for s in svc.values():
            s.start()
        yield svc
        for s in svc.values():
            s.stop()
    finally:
        node.stop()


ISSUE = {
    "type_code": "BL01",
    "holder_name": "杭州青禾科技有限公司",
    "holder_id": HOLDER_USCC,
    "fields": BUSINESS_FIELDS,
}


def test_three_regions(services: dict[str, Service]) -> None:
    a, b, c = services["A"], services["B"], services["C"]
    agency_a = a.keys["issuer"]
    issued = httpx.post(f"{a.url}/api/v1/licences", json=ISSUE, headers=agency_a, timeout=60)
    assert issued.status_code == 201, issued.text
    lid = issued.json()["licence_id"]
    pdf = httpx.get(issued.json()["pdf_url"], headers=agency_a, timeout=30).content

    # B verifies A's licence with A's service stopped: the chain and the PDF are enough
    a.stop()
    r = httpx.post(f"{b.url}/api/v1/verify/pdf", files={"file": ("a.pdf", pdf)}, timeout=60)
    assert r.status_code == 200 and r.json()["verdict"] == "VALID", r.text
    issuer = next(ch for ch in r.json()["checks"] if ch["name"] == "issuer")
    assert "杭州市" in issuer["detail"] and "directory" in issuer["detail"]
    a.start()

    # C asks without consent: refused
    ask = ("sharing", "request", lid, "--from", a.url, "--region", "330100", "--purpose")
    refused = c.cli(*ask, "办理分支机构登记", check=1)
    assert "consent" in refused.stdout

    # the holder consents at A's counter; C gets the masked data with an on-chain receipt
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    consent = httpx.post(
        f"{a.url}/api/v1/consents",
        json={
            "holder_id": HOLDER_USCC,
            "grantee_region": 110100,
            "purpose": "办理分支机构登记",
            "valid_until": until,
            "licence_id": lid,
        },
        headers=a.keys["window"],
        timeout=60,
    )
    assert consent.status_code == 201, consent.text
    import json

    got = json.loads(c.cli(*ask, "办理分支机构登记", "--json").stdout)
    assert got["fields"]["holder_id"] != HOLDER_USCC and "holder_id" in got["masked"]
    receipt = bytes.fromhex(got["receipt"]["hash"])
    assert c.rt.sharing().release(receipt) is not None  # C reads the receipt from the chain
    history = httpx.get(
        f"{a.url}/api/v1/licences/{lid}/sharing",
        headers=a.keys["auditor"],
        timeout=30,
    ).json()
    assert history[0]["to_region"] == 110100 and history[0]["anchored"]
    # a request whose signature does not check out is refused
    r = httpx.post(
        f"{a.url}/api/v1/federation/licences/{lid}/release",
        json={"purpose": "办理分支机构登记"},
        timeout=30,
    )
    assert r.status_code == 401

    # A rotates its signing key through M-of-N approval (A proposes, B approves)
    proposal = json.loads(a.cli("region", "rotate", "--json").stdout)
    assert proposal["executed"] is False and proposal["needed"] == 2
    approved = json.loads(b.cli("region", "approve", str(proposal["proposal"]), "--json").stdout)
    assert approved["executed"] is True
    a.cli("region", "rotate", "--finish")
    fresh = httpx.post(f"{a.url}/api/v1/licences", json=ISSUE, headers=agency_a, timeout=60)
    fresh_pdf = httpx.get(fresh.json()["pdf_url"], headers=agency_a, timeout=30).content
    for document in (pdf, fresh_pdf):
        r = httpx.post(
            f"{b.url}/api/v1/verify/pdf", files={"file": ("x.pdf", document)}, timeout=60
        )
        assert r.json()["verdict"] == "VALID", r.text

    regions = httpx.get(f"{b.url}/api/v1/regions", headers=b.keys["auditor"], timeout=30).json()
    assert {r["code"] for r in regions["regions"]} == {330100, 440300, 110100}
    assert regions["proposals"][-1]["executed"] is True
    r = httpx.post(
        f"{b.url}/api/v1/regions/proposals",
        json={"remove_region": 110100},
        headers=b.keys["admin"],
        timeout=60,
    )
    assert r.status_code == 201 and r.json()["executed"] is False, r.text
    r = httpx.post(
        f"{a.url}/api/v1/regions/proposals/{r.json()['proposal_id']}/approve",
        headers=a.keys["admin"],
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["executed"] is True, r.text
    assert c.rt.directory().region(110100).active is False  # type: ignore[union-attr]

    # B keeps a mirror current: A's status changes from the chain, and A's changes by type
    revoked = httpx.post(
        f"{a.url}/api/v1/licences/{lid}/status",
        json={"action": "revoke", "reason": "吊销"},
        headers=agency_a,
        timeout=60,
    )
    assert revoked.status_code == 200, revoked.text
    feed = httpx.get(
        f"{b.url}/api/v1/exchange/status-changes",
        params={"region": 330100, "limit": 1},
        headers=b.keys["auditor"],
        timeout=30,
    ).json()
    assert [i["status"] for i in feed["items"]] == ["REVOKED"]
    from licence_service.federation.client import call

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    changed = call(
        b.rt,
        a.url,
        "GET",
        "/api/v1/federation/changes",
        params={"type": "BL01", "since": since},
        to_region=330100,
    )
    assert {c["licence_id"] for c in changed} >= {lid}
    # B holds no consent: identifiers, status and leaves only (tests/security item 10)
    assert all("data" not in c and HOLDER_USCC not in str(c) for c in changed)
