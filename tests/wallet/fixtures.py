"""A served region with two holders' licences, window staff, an issuer, and a code sender
that keeps what it sent (the notifier is not under test here: the wallet is)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.federation.region import propose_region
from licence_service.people.identity import PersonRole
from licence_service.region.bootstrap import init_region, membership_request_path
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services.issue import IssueRequest, issue_licence
from tests.chain_fixtures import free_port
from tests.people_fixtures import bearer, person_token, serving
from tests.security.fixtures import REGION_B
from tests.service_fixtures import HOLDER_USCC, business_request, region_runtime

CITIZEN = "110101199003074514"
DL01 = IssueRequest(type_code="DL01", holder_name="王小明", holder_id=CITIZEN, fields={
    "性别": "男", "国籍": "中国", "初次领证日期": "2010-08-30", "准驾车型": "C1",
    "住址": "浙江省杭州市拱墅区莫干山路777号", "出生日期": "1990-03-07", "档案编号": "330100987654",
})  # fmt: skip
PASSWORD = "violet harbour lantern seven"


@dataclass
class KeptCodes:
    """A :class:`~licence_service.people.holder_signin.CodeSender` keeping every message."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send_code(self, session: object, key: str, contact: str, subject: str, text: str) -> None:
        self.sent.append((contact, text))

    def last_code(self, contact: str) -> str:
        text = next(t for c, t in reversed(self.sent) if c == contact)
        found = re.search(r"\b(\d{6})\b", text)
        assert found, text
        return found.group(1)


@dataclass
class WalletRegion:
    url: str
    rt: Runtime
    codes: KeptCodes
    staff: dict[str, dict[str, str]]
    company: str  # licence id of the company's (HOLDER_USCC) business licence
    citizen: str  # licence id of the citizen's driving licence

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def activate(self, holder_id: str) -> str:
        with self.client() as c:
            r = c.post("/api/v1/wallet/activations", json={"holder_id": holder_id},
                       headers=self.staff["window"])  # fmt: skip
            assert r.status_code == 201, r.text
            return str(r.json()["activation_code"])

    def signed_in(self, holder_id: str, contact: str) -> tuple[httpx.Client, dict[str, str]]:
        """A client holding a wallet session of ``holder_id``, and its CSRF header."""
        c = self.client()
        r = c.post("/api/v1/wallet/sign-in", json={"holder_id": holder_id, "password": PASSWORD})
        assert r.status_code == 200, r.text
        code = self.codes.last_code(contact)
        r = c.post("/api/v1/wallet/sign-in/code",
                   json={"challenge": r.json()["challenge"], "code": code})  # fmt: skip
        assert r.status_code == 200, r.text
        return c, {"X-CSRF-Token": r.json()["csrf_token"]}


def _second_region(rt: Runtime, home: Path, anvil: AnvilNode) -> None:
    """Region B (深圳) joins the consortium, so a holder has somewhere to consent to."""
    home.mkdir(parents=True)
    b = Runtime(load_settings(home, rpc_url=anvil.config.rpc_url, chain_port=anvil.config.port,
                              embedded_chain=False))  # fmt: skip
    shutil.copy(rt.settings.deployment_file, b.settings.deployment_file)
    init_region(b, *REGION_B)
    assert propose_region(rt, membership_request_path(b)).executed


@contextmanager
def wallet_region(home: Path, anvil: AnvilNode) -> Iterator[WalletRegion]:
    port = free_port()
    rt = region_runtime(home, anvil, public_url=f"http://127.0.0.1:{port}")
    with rt.sessions() as s:
        agency = rt.agency(s).code
    _second_region(rt, home / "region-b", anvil)
    staff = {
        "window": bearer(person_token(rt, "window-w", agency, PersonRole.WINDOW_STAFF)),
        "issuer": bearer(person_token(rt, "issuer-w", agency, PersonRole.ISSUER)),
        "auditor": bearer(person_token(rt, "auditor-w", "audit", PersonRole.AUDITOR)),
    }
    company = issue_licence(rt, business_request()).licence_id
    citizen = issue_licence(rt, DL01).licence_id
    app = create_app(rt)
    codes = KeptCodes()
    app.state.code_sender = codes
    with serving(app, port) as url:
        yield WalletRegion(url, rt, codes, staff, company, citizen)


__all__ = ["CITIZEN", "HOLDER_USCC", "PASSWORD", "WalletRegion", "wallet_region"]
