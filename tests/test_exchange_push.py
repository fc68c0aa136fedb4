"""Push subscriptions between regions for real (issue 22, point 6): A (ECDSA P-256) and C (SM2)
push their changes to B's webhook on 127.0.0.1, which checks every push with the directory's
certificates alone. A push altered in transit, signed by another region's key or addressed
to another region is refused; a repeated delivery id is recognised as a duplicate; a
subscriber gets only what its region may see; a failing webhook is retried with the same
delivery id; a kill -9 of the delivering worker in the middle loses nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ledger_client.node import AnvilNode
from licence_service.federation.auth import Caller
from licence_service.federation.push import PushRefused, PushSigner, push_headers, verify_push
from licence_service.federation.push_seen import SqliteSeen
from licence_service.federation.region import (
    approve_proposal,
    finish_rotation,
    report_compromised,
    rotate_certificate,
)
from licence_service.federation.sharing import grant_consent
from licence_service.federation.subscriptions import (
    list_subscriptions,
    push_worker,
    subscribe,
    unsubscribe,
)
from licence_service.notify import Message, RetryPolicy
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from tests.federation_fixtures import REGIONS, Consortium, build_consortium
from tests.push_fixtures import Receiver, receiving
from tests.security.http_server import serve
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC, business_request

pytestmark = pytest.mark.e2e  # real webhook servers and a worker process
ROOT = Path(__file__).resolve().parents[1]
A, B, C = 330100, 440300, 110100
PURPOSE = "办理分支机构登记"
FAST = RetryPolicy(max_attempts=5, base=0.05, cap=0.2)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Consortium:
    root = tmp_path_factory.mktemp("push")
    return build_consortium(root, anvil.config.rpc_url, anvil.config.port, suites={"C": "sm"})


def account(rt: Runtime, name: str) -> str:
    return rt.agency_account(REGIONS[name][2]).address


def _end_all(rt: Runtime) -> None:
    for sub in list_subscriptions(rt):
        unsubscribe(rt, int(sub["id"]))


def _deliver(rt: Runtime, policy: RetryPolicy = FAST, rounds: int = 50) -> None:
    worker = push_worker(rt, policy=policy, batch=2)
    for _ in range(rounds):
        worker.run_once()
        with rt.sessions() as s:
            if not s.scalars(
                select(Message.id).where(Message.state.in_(("pending", "sending")))
            ).all():
                return
        time.sleep(0.05)


def _items(receiver: Receiver) -> list[dict]:
    return [e for body in receiver.gateway.delivered.values() for e in body["items"]]


def test_pushes_arrive_signed_in_each_suite_and_verify(consortium: Consortium) -> None:
    a, b, c = consortium.a, consortium.b, consortium.c
    with receiving(b, B) as (receiver, url):
        sub_a = subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        sub_c = subscribe(c, Caller(B, account(b, "B")), url, "BL01")
        issued = [issue_licence(a, business_request(), wait=False).licence_id for _ in range(3)]
        from_c = issue_licence(c, business_request(), wait=False).licence_id
        _deliver(a)
        _deliver(c)
        assert receiver.refused == []
        got = _items(receiver)
        assert sorted(e["licence_id"] for e in got) == sorted([*issued, from_c])
        bodies = list(receiver.gateway.delivered.values())
        assert {b_["from_region"] for b_ in bodies} == {A, C}
        assert {b_["subscription"] for b_ in bodies if b_["from_region"] == A} == {sub_a["id"]}
        assert {b_["subscription"] for b_ in bodies if b_["from_region"] == C} == {sub_c["id"]}
        suites = {h["x-ll-region"]: b.certificates.by_fingerprint(h["x-ll-certificate"])
                  for h, _ in receiver.raw}  # fmt: skip
        found = {r: cert.suite for r, cert in suites.items() if cert}
        assert found == {"330100": "intl", "110100": "sm"}
    _end_all(a)
    _end_all(c)


def test_altered_foreign_or_misaddressed_pushes_are_refused(consortium: Consortium) -> None:
    a, b, c = consortium.a, consortium.b, consortium.c
    with receiving(b, B) as (receiver, url):
        subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        issue_licence(a, business_request(), wait=False)
        _deliver(a)
        sent, body = receiver.raw[0]
        headers = {k: v for k, v in sent.items() if k not in ("content-length", "host")}
        b.certificates.refresh()
        assert verify_push(b.certificates, headers, body, audience=B).region == A
        altered = body.replace(b'"ACTIVE"', b'"REVOKED"')
        assert altered != body
        forged_by_c = push_headers(PushSigner(A, c.agency_credentials(REGIONS["C"][2])),
                                   headers["x-ll-delivery"], B, body)  # fmt: skip
        c_as_itself = push_headers(PushSigner(C, c.agency_credentials(REGIONS["C"][2])),
                                   headers["x-ll-delivery"], B, body)  # fmt: skip
        unsigned = {k: v for k, v in headers.items() if k != "x-ll-signature"}
        cases = {
            "altered in transit": (headers, altered, B),
            "signed by C's key, claiming A": (forged_by_c, body, B),
            "signed by C, body says A": (c_as_itself, body, B),
            "addressed to B, shown to C": (headers, body, C),
            "unsigned": (unsigned, body, B),
        }
        for why, (h, raw, audience) in cases.items():
            with pytest.raises(PushRefused):
                verify_push(b.certificates, h, raw, audience=audience)
            print(why, "refused")
        before = len(receiver.gateway.delivered)
        for h, raw in ((headers, altered), (forged_by_c, body)):  # over HTTP too: 401
            answer = httpx.post(url, content=raw, headers=h, timeout=10)
            assert answer.status_code == 401
        assert len(receiver.refused) == 2 and len(receiver.gateway.delivered) == before
        replay = httpx.post(url, content=body, headers=headers, timeout=10)  # the same again
        assert replay.status_code == 200
        assert receiver.duplicates == [headers["x-ll-delivery"]]
        assert len(receiver.gateway.delivered) == before
    _end_all(a)


def test_a_subscriber_gets_only_what_its_region_may_see(consortium: Consortium) -> None:
    a, b, c = consortium.a, consortium.b, consortium.c
    with receiving(b, B) as (to_b, b_url), receiving(c, C) as (to_c, c_url):
        subscribe(a, Caller(B, account(b, "B")), b_url, "BL01", PURPOSE)
        subscribe(a, Caller(C, account(c, "C")), c_url, "BL01", PURPOSE)
        shared = issue_licence(a, business_request()).licence_id
        private = issue_licence(a, business_request()).licence_id
        until = datetime.now(UTC).date() + timedelta(days=30)
        grant_consent(a, HOLDER_USCC, B, PURPOSE, until, shared)  # to B only, this licence only
        _deliver(a)
        b_items, c_items = _items(to_b), _items(to_c)
        assert {e["licence_id"] for e in b_items} >= {shared, private}
        assert {e["licence_id"] for e in c_items} >= {shared, private}
        with_data = {e["licence_id"] for e in b_items if "data" in e}
        assert with_data == {shared}
        data = next(e["data"] for e in b_items if "data" in e)
        assert data["fields"]["holder_name"] == business_request().holder_name
        assert "holder_id" in data["masked"] and data["fields"]["holder_id"] != HOLDER_USCC
        assert not any("data" in e for e in c_items)
        text = json.dumps(list(to_c.gateway.delivered.values()), ensure_ascii=False)
        for value in [business_request().holder_name, HOLDER_USCC, *BUSINESS_FIELDS.values()]:
            assert value not in text
    _end_all(a)


def test_nothing_is_pushed_for_an_account_the_directory_does_not_list(
    consortium: Consortium,
) -> None:
    """A subscription whose account is no longer one of its region (removed, or never) gets
    nothing, as a signed request of that account would be refused."""
    a, b = consortium.a, consortium.b
    with receiving(b, B) as (receiver, url):
        subscribe(a, Caller(B, "0x" + "22" * 20), url, "BL01")
        issue_licence(a, business_request(), wait=False)
        _deliver(a)
        assert receiver.gateway.requests == [] and list_subscriptions(a)[0]["deliveries"] == {}
    _end_all(a)


def test_a_failing_webhook_is_retried_with_the_same_delivery_id(consortium: Consortium) -> None:
    a, b = consortium.a, consortium.b
    with receiving(b, B) as (receiver, url):
        receiver.gateway.fail_first = 2
        subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        issued = issue_licence(a, business_request(), wait=False).licence_id
        _deliver(a)
        keys = [key for _, key, _ in receiver.gateway.requests]
        assert len(keys) == 3 and len(set(keys)) == 1  # two 503s, then accepted
        times = [t for t, _, _ in receiver.gateway.requests]
        assert times[2] - times[1] >= times[1] - times[0] - 0.02  # the wait grows
        assert [e["licence_id"] for e in _items(receiver)] == [issued]
        assert [sub["deliveries"] for sub in list_subscriptions(a)] == [{"sent": 1}]
    _end_all(a)


def _process(home: Path, rpc_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.push_worker_process", str(home), rpc_url, "1.5"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_kill_9_of_the_pushing_worker_loses_nothing(
    consortium: Consortium, anvil: AnvilNode
) -> None:
    """The worker is killed while B's webhook holds its answer to the 3rd delivery (accepted,
    not answered): a new worker takes the claims over and pushes the rest; the 3rd goes out
    again with the same delivery id, which B recognises as a duplicate."""
    a, b = consortium.a, consortium.b
    with receiving(b, B) as (receiver, url):
        receiver.gateway.hold_at = {3}
        subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        issued = [issue_licence(a, business_request(), wait=False).licence_id for _ in range(6)]
        first = _process(a.settings.home, anvil.config.rpc_url)
        try:
            assert receiver.gateway.held.wait(60), "the worker never reached the 3rd delivery"
            first.kill()
            first.wait(10)
        finally:
            first.kill()
        receiver.gateway.release.set()
        second = _process(a.settings.home, anvil.config.rpc_url)
        try:
            deadline = time.monotonic() + 60
            while sorted(e["licence_id"] for e in _items(receiver)) != sorted(issued):
                assert time.monotonic() < deadline, _items(receiver)
                time.sleep(0.1)
        finally:
            second.kill()
            second.wait(10)
        assert len(_items(receiver)) == 6  # nothing lost, nothing applied twice
        keys = [key for _, key, _ in receiver.gateway.requests]
        repeated = {k for k in keys if keys.count(k) > 1}
        assert len(repeated) == 1 and receiver.duplicates == list(repeated)
        assert receiver.refused == []
    _end_all(a)


def test_the_server_pushes_by_itself(consortium: Consortium) -> None:
    """``licledger serve``'s app runs the push worker: a subscription is served without a
    worker started by hand."""
    a, b = consortium.a, consortium.b
    with receiving(b, B) as (receiver, url), serve(a, background=True):
        subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        issued = issue_licence(a, business_request(), wait=False).licence_id
        deadline = time.monotonic() + 60
        while issued not in {e["licence_id"] for e in _items(receiver)}:
            assert time.monotonic() < deadline, "the server never pushed"
            time.sleep(0.2)
    _end_all(a)


def test_a_worker_signs_with_the_key_after_a_rotation(consortium: Consortium) -> None:
    """A's seal certificate is rotated (M-of-N) while its push worker runs: the next push
    is signed with the new key, which B finds in the directory."""
    a, b = consortium.a, consortium.b
    worker = push_worker(a, policy=FAST)
    old = a.agency_credentials(REGIONS["A"][2]).fingerprint
    with receiving(b, B) as (receiver, url):
        subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        proposal = rotate_certificate(a)
        assert approve_proposal(b, proposal.proposal_id).executed
        assert finish_rotation(a) == [REGIONS["A"][2]]
        issued = issue_licence(a, business_request(), wait=False).licence_id
        worker.run_once()
        assert [e["licence_id"] for e in _items(receiver)] == [issued]
        ((headers, _),) = receiver.raw
        assert headers["x-ll-certificate"] not in (old, "") and receiver.refused == []
    _end_all(a)


def _receiver_process(rt: Runtime, rpc_url: str, seen: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.push_receiver_process", str(rt.settings.home), rpc_url,
         str(B), str(seen)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_delivery_ids_kept_on_disk_survive_a_restart_of_the_receiver(
    consortium: Consortium, anvil: AnvilNode, tmp_path: Path
) -> None:
    """B keeps its delivery ids in a SQLite file (``SqliteSeen``): after a restart — a new
    store on the file, then a receiver process of its own — the same signed push is a
    duplicate. With ids in memory the restarted receiver would take it for new."""
    a, b = consortium.a, consortium.b
    path = tmp_path / "b-seen.sqlite3"
    with SqliteSeen(path) as seen, receiving(b, B, seen) as (receiver, url):
        subscribe(a, Caller(B, account(b, "B")), url, "BL01")
        issue_licence(a, business_request(), wait=False)
        _deliver(a)
        assert receiver.raw and receiver.refused == [] and receiver.duplicates == []
        sent, body = receiver.raw[0]
    _end_all(a)
    headers = {k: v for k, v in sent.items() if k not in ("content-length", "host")}
    delivery = headers["x-ll-delivery"]
    with SqliteSeen(path) as seen, receiving(b, B, seen) as (restarted, url):
        assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
        assert restarted.duplicates == [delivery] and restarted.refused == []
    process = _receiver_process(b, anvil.config.rpc_url, path)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        assert httpx.post(url, content=body, headers=headers, timeout=30).status_code == 200
        out, _ = process.communicate("", timeout=60)
    finally:
        process.kill()
    assert json.loads(out) == {"duplicates": [delivery], "refused": []}
    with receiving(b, B) as (forgetful, url):  # ids in memory: the replay looks new
        assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
        assert forgetful.duplicates == [] and forgetful.raw


def test_a_push_signed_with_a_key_reported_lost_is_refused(consortium: Consortium) -> None:
    """Last in the module: C's seal key is reported compromised, and B refuses what it signs."""
    b, c = consortium.b, consortium.c
    creds = c.agency_credentials(REGIONS["C"][2])
    body = json.dumps({"delivery": "d-lost", "from_region": C, "to_region": B, "items": []})
    headers = push_headers(PushSigner(C, creds), "d-lost", B, body.encode())
    b.certificates.refresh()
    assert verify_push(b.certificates, headers, body.encode(), audience=B).region == C
    report_compromised(c, creds.fingerprint, datetime.now(UTC) - timedelta(seconds=30))
    b.certificates.refresh()
    with pytest.raises(PushRefused, match="compromised"):
        verify_push(b.certificates, headers, body.encode(), audience=B)
