"""Issue 20.2: holder accounts, tried as attacks on a served region.

Nobody claims someone else's ID: registering needs the code window staff issue for that ID
(a code of another ID, a guessed code, a used code: refused, nothing created; five wrong
codes void the live one). Sign-in is password then a one-time code through the notifier.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from ledger_client.node import AnvilNode
from licence_service.people.holder_models import HolderAccount
from tests.wallet.fixtures import CITIZEN, HOLDER_USCC, PASSWORD, WalletRegion, wallet_region

pytestmark = pytest.mark.e2e
REGISTER = "/api/v1/wallet/register"


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[WalletRegion]:
    with wallet_region(tmp_path_factory.mktemp("wallet-accounts"), anvil) as r:
        yield r


def _accounts(region: WalletRegion) -> int:
    with region.rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(HolderAccount)) or 0)


def _register(region: WalletRegion, holder: str, code: str, contact: str) -> tuple[int, str]:
    body = {"holder_id": holder, "activation_code": code, "password": PASSWORD,
            "contact": contact}  # fmt: skip
    with region.client() as c:
        r = c.post(REGISTER, json=body)
        return r.status_code, r.text


def test_nobody_can_claim_someone_elses_id(region: WalletRegion) -> None:
    before = _accounts(region)
    # knowing the ID number is not enough: no code, a made-up code
    assert _register(region, CITIZEN, "AAAA-BBBB-CCCC", "thief@example.net")[0] == 401
    # a genuine code, but issued to the attacker's own ID at the window, for the victim's ID
    own = region.activate(HOLDER_USCC)
    status, text = _register(region, CITIZEN, own, "thief@example.net")
    assert status == 401 and "activation code" in text, text
    # a wrong check digit is named
    status, text = _register(region, CITIZEN[:-1] + "0", own, "thief@example.net")
    assert status == 422 and "holder_id" in text, text
    assert _accounts(region) == before  # nothing was created
    # guessing the victim's live code: five wrong codes void it, the right one then fails
    victims = region.activate(CITIZEN)
    for i in range(5):
        assert _register(region, CITIZEN, f"WRNG-CODE-{i:04d}", "thief@example.net")[0] == 401
    assert _register(region, CITIZEN, victims, "wang@example.cn")[0] == 401
    assert _accounts(region) == before
    # the victim comes back to the window: a fresh code opens their wallet, once
    fresh = region.activate(CITIZEN)
    assert _register(region, CITIZEN, fresh, "wang@example.cn")[0] == 201
    assert _register(region, CITIZEN, fresh, "thief@example.net")[0] == 401  # used
    assert _register(region, HOLDER_USCC, own, "13800138000")[0] == 201
    assert _accounts(region) == before + 2


def test_only_window_staff_issue_codes_and_only_for_holders(region: WalletRegion) -> None:
    with region.client() as c:
        body = {"holder_id": CITIZEN}
        assert c.post("/api/v1/wallet/activations", json=body).status_code == 401
        r = c.post("/api/v1/wallet/activations", json=body, headers=region.staff["auditor"])
        assert r.status_code == 403, r.text
        other = {"holder_id": "11010119800101001X"}  # valid, but holds nothing here
        r = c.post("/api/v1/wallet/activations", json=other, headers=region.staff["window"])
        assert r.status_code in (404, 422), r.text


def test_sign_in_needs_the_password_and_the_code(region: WalletRegion) -> None:
    fresh = region.activate(CITIZEN)
    assert _register(region, CITIZEN, fresh, "wang@example.cn")[0] == 201
    with region.client() as c:
        wrong = {"holder_id": CITIZEN, "password": "not my password at all"}
        assert c.post("/api/v1/wallet/sign-in", json=wrong).status_code == 401
        right = {"holder_id": CITIZEN, "password": PASSWORD}
        r = c.post("/api/v1/wallet/sign-in", json=right)
        assert r.status_code == 200 and r.json()["sent_to"] == "wa***@example.cn", r.text
        challenge = r.json()["challenge"]
        code = region.codes.last_code("wang@example.cn")
        bad = f"{(int(code) + 1) % 10**6:06d}"
        r = c.post("/api/v1/wallet/sign-in/code", json={"challenge": challenge, "code": bad})
        assert r.status_code == 401 and "ll_holder" not in r.cookies
        assert c.get("/api/v1/wallet/licences").status_code == 401
        r = c.post("/api/v1/wallet/sign-in/code", json={"challenge": challenge, "code": code})
        assert r.status_code == 200, r.text
        mine = c.get("/api/v1/wallet/licences").json()
        assert [x["licence_id"] for x in mine] == [region.citizen]
        r = c.post("/api/v1/wallet/sign-in/code", json={"challenge": challenge, "code": code})
        assert r.status_code == 401  # a code counts once


def test_the_code_goes_through_the_notifiers_outbox(region: WalletRegion) -> None:
    """The sign-in code is enqueued in the transaction that records its challenge: one
    outbox message per challenge, to the account's contact, by the contact's channel."""
    import re

    from licence_service.people.holder_signin import LocalHolderIdentity, OutboxCodeSender
    from licence_service.store.messages import Message

    fresh = region.activate(HOLDER_USCC)
    assert _register(region, HOLDER_USCC, fresh, "13800138000")[0] == 201
    provider = LocalHolderIdentity(region.rt, OutboxCodeSender())
    challenge = provider.start(HOLDER_USCC, PASSWORD, "127.0.0.1")
    with region.rt.sessions() as s:
        # the recipient is sealed at rest: compared on the loaded (opened) rows, not in SQL
        sent = [m for m in s.scalars(select(Message)) if m.recipient == "13800138000"]
    assert [m.channel for m in sent] == ["sms"], sent
    code = re.search(r"\b(\d{6})\b", sent[-1].body)
    assert code is not None
    holder = provider.finish(challenge.challenge_id, code.group(1), "127.0.0.1")
    assert holder.holder_id == HOLDER_USCC
