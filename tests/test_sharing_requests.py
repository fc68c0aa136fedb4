"""Issue 22 point 5: sharing requests between regions, attacked for real. Region A's service
runs on a real loopback server; regions B and C call it with signed requests, A's people with
their tokens; every step is checked on the chain too (the SharingLedger refuses what the
service refuses, so going round the service does not help).

Attacks: C uses B's approval; B goes past the cap; A's window staff (no reviewer role)
approves; an approval for licence X releases licence Y; a non-shareable field leaves the
region; a refused or expired request releases something."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from eth_utils import keccak

from ledger_client.node import AnvilNode
from ledger_client.sharing import RequestState
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import get_licence_type
from licence_service.federation.auth import Caller
from licence_service.federation.change_feed import changes_since
from licence_service.federation.client import RemoteError
from licence_service.federation.masking import shareable_keys
from licence_service.federation.requests import (
    REVIEW_DAYS,
    approve_request,
    list_requests,
    pending_sharing_requests,
    refuse_request,
)
from licence_service.federation.sharing import CapReached, grant_consent, release
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole, UnitKind
from licence_service.people.service import get_person
from licence_service.store.models import Release
from licence_service.store.queries import find_licence
from licence_service.store.sharing_requests import SharingRequest
from tests.chain_fixtures import expect_revert
from tests.service_fixtures import HOLDER_USCC
from tests.sharing_fixtures import (
    DRIVER,
    REGION_A,
    REGION_B,
    REGION_C,
    SECRET,
    World,
    agency_of,
    ask,
    decide,
    fetch,
    licence_of,
    on_chain,
    refused,
    serve_world,
    status_of,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    yield from serve_world(tmp_path_factory, anvil)


def test_request_review_approval_and_metered_release(world: World) -> None:
    w, b, c = world, world.regions.b, world.regions.c
    x, y = licence_of(w.a), licence_of(w.a)
    purpose = "异地设立分支机构"
    asked = ask(b, w, x, purpose, requested_by="clerk-b")
    assert asked["state"] == "PENDING" and asked["from_region"] == REGION_B
    chain = on_chain(w, asked)
    assert chain.state is RequestState.PENDING and chain.requester_region == REGION_B
    with w.a.sessions() as s:  # the deadline cards' source
        (pending,) = [p for p in pending_sharing_requests(s) if p.id == asked["id"]]
    assert pending.due_at - pending.created_at == timedelta(days=REVIEW_DAYS)
    assert "pending" in refused(fetch, b, w, x, purpose, asked["id"])  # not yet reviewed

    # A's window staff is a person of A, but not a reviewer: refused by the API and the service
    answer = decide(w, w.window, asked["id"], "approve", use_cap=2)
    assert answer.status_code == 403 and "sharing_reviewer" in answer.text
    with pytest.raises(PermissionDeniedError, match="sharing_reviewer"):
        approve_request(w.a, get_person(w.a, "window-a"), asked["id"], use_cap=2)
    assert on_chain(w, asked).state is RequestState.PENDING

    listed = httpx.get(f"{w.url}/api/v1/sharing-requests", headers=w.reviewer, timeout=30)
    assert asked["id"] in [r["id"] for r in listed.json()]
    approved = decide(w, w.reviewer, asked["id"], "approve", use_cap=2)
    assert approved.status_code == 200, approved.text
    assert (
        approved.json()["reviewer"]
        == "reviewer-a@agency:" + get_person(w.a, "reviewer-a").agency_code
    )  # type: ignore[operator]
    chain = on_chain(w, asked)
    assert (chain.state, chain.cap, chain.uses) == (RequestState.APPROVED, 2, 0)
    assert decide(w, w.reviewer, asked["id"], "refuse", reason="x").status_code == 409  # final

    # C holds B's request number, signs its own request: nothing
    assert "region 110100 has no sharing request" in refused(fetch, c, w, x, purpose, asked["id"])
    refused(status_of, c, w, asked["id"], status=404)  # nor learns anything of it
    # an approval for X does not release Y, nor X for another purpose
    assert f"approved for licence {x}, not for {y}" in refused(fetch, b, w, y, purpose, asked["id"])
    assert "approved for the purpose" in refused(fetch, b, w, x, "别的用途", asked["id"])

    receipts = [fetch(b, w, x, purpose, asked["id"])["receipt"] for _ in range(2)]
    for receipt in receipts:  # each release receipted on-chain under the request
        release = w.a.sharing().release(bytes.fromhex(receipt["hash"]))
        assert release is not None and release.consent_hash.hex() == asked["request_hash"]
    assert "all were made" in refused(fetch, b, w, x, purpose, asked["id"])  # the cap
    assert on_chain(w, asked).uses == 2
    status = status_of(b, w, asked["id"])
    assert (status["state"], status["uses"], status["use_cap"]) == ("APPROVED", 2, 2)

    # going round A's service does not help: the chain itself refuses each of these
    with w.a.sessions() as s:
        agency, leaf_y = w.a.agency(s).code, find_licence(s, y).versions[-1].leaf
    sharing = w.a.sharing(w.a.agency_account(agency))
    rhash, phash = bytes.fromhex(asked["request_hash"]), keccak(purpose.encode())
    expect_revert("CapReached", sharing.record_approved_release,
                  keccak(b"r1"), chain.leaf, REGION_B, phash, rhash)  # fmt: skip
    expect_revert("WrongLeaf", sharing.record_approved_release,
                  keccak(b"r2"), leaf_y, REGION_B, phash, rhash)  # fmt: skip
    expect_revert("WrongGrantee", sharing.record_approved_release,
                  keccak(b"r3"), chain.leaf, REGION_C, phash, rhash)  # fmt: skip
    b_sharing = w.regions.b.sharing(w.regions.b.agency_account(agency_of(w.regions.b)))
    expect_revert("NotHolderRegion", b_sharing.record_approved_release,
                  keccak(b"r4"), chain.leaf, REGION_B, phash, rhash)  # fmt: skip


def test_non_shareable_fields_never_leave_the_region(world: World) -> None:
    w, b = world, world.regions.b
    driver = licence_of(w.a, DRIVER)
    purpose = "异地换领驾驶证"
    text = refused(ask, b, w, driver, purpose, status=422, fields=["准驾车型", "住址"])
    assert "'住址' is not shareable" in text
    asked = ask(b, w, driver, purpose)
    answer = decide(w, w.reviewer, asked["id"], "approve", fields_in_full=["档案编号"])
    assert answer.status_code == 422 and "'档案编号' is not shareable" in answer.text
    assert decide(w, w.reviewer, asked["id"], "approve", use_cap=1).status_code == 200
    data = fetch(b, w, driver, purpose, asked["id"])
    allowed = shareable_keys(get_licence_type("DL01"))
    assert set(data["fields"]) <= allowed and data["fields"]["准驾车型"] == "C1"
    assert set(SECRET) <= set(data["withheld"])
    dumped = json.dumps(data, ensure_ascii=False)
    assert not [v for v in SECRET.values() if v in dumped]  # nor any value of theirs
    assert not set(SECRET) & set(data["receipt"]["fields"])
    assert DRIVER.holder_id not in dumped  # the ID leaves masked unless approved in full


def test_refused_or_expired_requests_release_nothing(world: World) -> None:
    w, b = world, world.regions.b
    x = licence_of(w.a)
    asked = ask(b, w, x, "贷款审查")
    assert decide(w, w.reviewer, asked["id"], "refuse", reason=" ").status_code == 422
    answer = decide(w, w.reviewer, asked["id"], "refuse", reason="用途与证照无关")
    assert answer.status_code == 200 and answer.json()["state"] == "REFUSED"
    assert on_chain(w, asked).state is RequestState.REFUSED
    status = status_of(b, w, asked["id"])
    assert (status["state"], status["reason"]) == ("REFUSED", "用途与证照无关")
    assert "it is refused" in refused(fetch, b, w, x, "贷款审查", asked["id"])
    sharing = w.a.sharing(w.a.agency_account(agency_of(w.a)))
    expect_revert("RequestNotApproved", sharing.record_approved_release, keccak(b"r5"),
                  on_chain(w, asked).leaf, REGION_B, keccak("贷款审查".encode()),
                  bytes.fromhex(asked["request_hash"]))  # fmt: skip

    late = ask(b, w, x, "招投标资格审查")
    assert decide(w, w.reviewer, late["id"], "approve").status_code == 200
    with w.a.sessions.begin() as s:  # stands in for the days passing (wall clock, not chain)
        row = s.get(SharingRequest, late["id"])
        assert row is not None
        row.valid_until = datetime.now(UTC) - timedelta(minutes=1)
    assert "ran out" in refused(fetch, b, w, x, "招投标资格审查", late["id"])
    with w.a.sessions() as s:
        for rid in (asked["id"], late["id"]):
            assert not s.query(Release).filter(Release.request_id == rid).count()
            assert s.get(SharingRequest, rid).uses == 0  # type: ignore[union-attr]


def test_a_consent_is_metered_too(world: World) -> None:
    """The holder's consent path counts its releases the same way, up to its cap."""
    w, b = world, world.regions.b
    x = licence_of(w.a)
    until = datetime.now(UTC).date() + timedelta(days=5)
    with pytest.raises(InvalidInputError, match="use_cap"):
        grant_consent(w.a, HOLDER_USCC, REGION_B, "开户", until, x, use_cap=0)
    consent = grant_consent(w.a, HOLDER_USCC, REGION_B, "开户", until, x, use_cap=1)
    caller = Caller(REGION_B, b.agency_account(agency_of(b)).address)
    assert release(w.a, caller, x, "开户")["receipt"]["consent"] == consent.consent_hash
    with pytest.raises(CapReached, match="allowed 1 release"):
        release(w.a, caller, x, "开户")
    # the change feed lists the licence, but a used-up consent releases nothing through it
    since = datetime.now(UTC) - timedelta(minutes=5)
    (entry,) = [e for e in changes_since(w.a, caller, "BL01", since, "开户")
                if e["licence_id"].startswith(x)]  # fmt: skip
    assert "data" not in entry
    with w.a.sessions() as s:
        assert s.query(Release).filter(Release.consent_id == consent.consent_id).count() == 1


def test_concurrent_releases_do_not_pass_the_cap(world: World) -> None:
    """Four fetches at once under a cap of two: two releases, two refusals, two on the chain."""
    from concurrent.futures import ThreadPoolExecutor

    w, b = world, world.regions.b
    x = licence_of(w.a)
    asked = ask(b, w, x, "并发核验")
    assert decide(w, w.reviewer, asked["id"], "approve", use_cap=2).status_code == 200

    def one(_: int) -> int:
        try:
            fetch(b, w, x, "并发核验", asked["id"])
            return 200
        except RemoteError as exc:
            return exc.status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(one, range(4)))
    assert codes == [200, 200, 403, 403]
    assert on_chain(w, asked).uses == 2
    with w.a.sessions() as s:
        assert s.query(Release).filter(Release.request_id == asked["id"]).count() == 2


def test_only_reviewers_in_scope_decide(world: World) -> None:
    """An agency's reviewer decides for its own licences only; the region authority's for
    all; a reviewer of another region for none."""
    w, b = world, world.regions.b
    asked = ask(b, w, licence_of(w.a), "范围核验")
    roles = frozenset({PersonRole.SHARING_REVIEWER})
    other_agency = PersonInfo("r2", "", UnitKind.AGENCY, "11330100002489466N", REGION_A, roles)
    elsewhere = PersonInfo("rb", "", UnitKind.REGION, None, REGION_B, roles)
    authority = PersonInfo("ra", "", UnitKind.REGION, None, REGION_A, roles)
    with pytest.raises(PermissionDeniedError, match="reviews requests for agency"):
        approve_request(w.a, other_agency, asked["id"])
    assert asked["id"] not in [r["id"] for r in list_requests(w.a, other_agency)]
    with pytest.raises(PermissionDeniedError, match="belongs to region 440300"):
        list_requests(w.a, elsewhere)
    assert asked["id"] in [r["id"] for r in list_requests(w.a, authority)]
    assert refuse_request(w.a, authority, asked["id"], "超出范围")["reviewer"] == "ra@region:330100"
