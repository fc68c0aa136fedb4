"""Issue 25.2: an `Idempotency-Key` is taken only where the route can keep it.

Three kinds of state-changing route, one of each tried on a real server:
- a route that binds its answer in its work's commit (here: a consent): an error after the
  commit answers the work, a retry gets that first answer, the work is done once;
- a route that cannot keep a key (here: a new token, whose answer is a secret shown once, and
  disabling a person): the key is refused with a 422 saying why and what to do, nothing done;
- a verification: the key changes nothing (no row kept), the answer is the verification's;
- a joint review's approvals: each binds its answer, and a retry carries out an execution
  that failed after the approval was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.api.routers import federation as federation_router
from licence_service.domain.national_ids import make_uscc
from licence_service.domain.states import ReviewState
from licence_service.federation.sharing import grant_consent
from licence_service.people.service import list_tokens
from licence_service.region.runtime import Runtime
from licence_service.services import status as status_service
from licence_service.services.issue import issue_licence
from licence_service.store.models import Consent, IdempotentRequest, ReviewRequest
from tests.chain_fixtures import free_port
from tests.federation_fixtures import build_consortium
from tests.people_fixtures import serving, staff
from tests.security.fixtures import A1, A2, FP01, Region, secured_region
from tests.service_fixtures import business_request, qr_of

pytestmark = pytest.mark.e2e
Api = tuple[httpx.Client, Runtime, dict[str, dict[str, str]]]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Api]:
    """Region A of a consortium of three (a consent needs another active region)."""
    rt = build_consortium(tmp_path_factory.mktemp("keyroutes"), anvil.config.rpc_url,
                          anvil.config.port).a  # fmt: skip
    with serving(create_app(rt), free_port()) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c, rt, staff(rt, "-keyroutes")


def _count(rt: Runtime, model: Any) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_consent_bound_in_its_commit_answers_a_retry_after_an_error(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, rt, people = api
    holder = make_uscc("330106", "MA1KR1001")
    lid = issue_licence(rt, business_request(holder_id=holder)).licence_id

    def fails_after_recording(*args: Any, **kwargs: Any) -> Any:
        grant_consent(*args, **kwargs)
        raise RuntimeError("the worker failed after the consent was committed")

    monkeypatch.setattr(federation_router, "grant_consent", fails_after_recording)
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    body = {"holder_id": holder, "grantee_region": 110100, "purpose": "开户",
            "valid_until": until, "licence_id": lid}  # fmt: skip
    headers = {**people["window"], "Idempotency-Key": "consent-after-error"}
    before = _count(rt, Consent)
    first = c.post("/api/v1/consents", json=body, headers=headers)
    assert first.status_code == 201, first.text  # the work, not the 500 that followed it
    monkeypatch.undo()
    again = c.post("/api/v1/consents", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replay"] == "true"
    assert again.json()["consent_id"] == first.json()["consent_id"], (first.text, again.text)
    assert again.json()["tx_hash"] == first.json()["tx_hash"]
    assert _count(rt, Consent) == before + 1  # done once


def test_a_key_is_refused_where_the_route_cannot_keep_it(api: Api) -> None:
    c, rt, people = api
    me = c.get("/api/v1/me", headers=people["issuer"]).json()["username"]
    tokens_before = len(list_tokens(rt, me))
    rows_before = _count(rt, IdempotentRequest)
    keyed = {**people["issuer"], "Idempotency-Key": "token-once"}
    secret = c.post(f"/api/v1/people/{me}/tokens", json={"days": 1}, headers=keyed)
    assert secret.status_code == 422, secret.text
    assert secret.json()["field"] == "Idempotency-Key"
    assert "secret shown once" in secret.json()["detail"]
    assert "send the request without it" in secret.json()["detail"]
    admin = {**people["admin"], "Idempotency-Key": "disable-once"}
    disabled = c.post(f"/api/v1/people/{me}/disable", headers=admin)
    assert disabled.status_code == 422 and "not bound to its work" in disabled.json()["detail"]
    assert len(list_tokens(rt, me)) == tokens_before  # nothing done
    assert c.get("/api/v1/me", headers=people["issuer"]).status_code == 200  # not disabled
    assert _count(rt, IdempotentRequest) == rows_before
    plain = c.post(f"/api/v1/people/{me}/tokens", json={"days": 1}, headers=people["issuer"])
    assert plain.status_code == 201, plain.text  # without the key: as always


def test_a_key_on_a_verification_changes_nothing(api: Api) -> None:
    c, rt, _ = api
    lid = issue_licence(rt, business_request(holder_id=make_uscc("330106", "MA1KR1002")))
    rows_before = _count(rt, IdempotentRequest)
    keyed = {"Idempotency-Key": "verify-1"}
    for _ in range(2):
        r = c.post("/api/v1/verify/qr", json={"payload": qr_of(rt, lid.licence_id)}, headers=keyed)
        assert r.status_code == 200, r.text
        assert "idempotent-replay" not in r.headers
    assert _count(rt, IdempotentRequest) == rows_before


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Region]:
    """A region of two agencies that review an FP01 cancellation together."""
    with secured_region(tmp_path_factory.mktemp("keyed-review"), anvil) as region:
        yield region


def test_an_approval_retried_with_its_key_after_an_error_approves_once(
    reviewed: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first approval binds its PENDING_REVIEW answer (a retry replays it, one approval);
    the second, whose execution fails after the approval was recorded, is carried out by its
    retry — before, the retry was told 409 "already approved" and the licence stayed ACTIVE."""
    h = reviewed.headers
    body = {**FP01, "holder_id": make_uscc("330106", "MA1KR1003")}
    with reviewed.client() as c:
        lid = c.post("/api/v1/licences", json=body, headers=h["issuer_a1"]).json()["licence_id"]
        cancel = {"action": "cancel", "reason": "持证人申请注销"}
        r = c.post(f"/api/v1/licences/{lid}/status", json=cancel, headers=h["issuer_a1"])
        assert r.status_code == 200 and r.json()["status"] == "PENDING_REVIEW", r.text
        review_id = r.json()["review_id"]
        approve = f"/api/v1/reviews/{review_id}/approve"
        first_key = {**h["issuer_a1"], "Idempotency-Key": "approve-a1"}
        first = c.post(approve, json={"note": "同意"}, headers=first_key)
        again = c.post(approve, json={"note": "同意"}, headers=first_key)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.headers["idempotent-replay"] == "true"
        assert again.json()["approvals"] == first.json()["approvals"] == 1

        real = status_service.change_status

        def fails_once(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(status_service, "change_status", real)
            raise RuntimeError("the chain went away before the cancellation")

        monkeypatch.setattr(status_service, "change_status", fails_once)
        second_key = {**h["issuer_a2"], "Idempotency-Key": "approve-a2"}
        try:  # a 500, or the connection dropped: either way the client retries with its key
            failed = c.post(approve, json={}, headers=second_key)
            assert failed.status_code == 500, failed.text
        except httpx.TransportError:
            pass
    with reviewed.client() as c:  # a new connection: the server dropped the one that failed
        retried = c.post(approve, json={}, headers=second_key)
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "CANCELLED" and retried.json()["approvals"] == 2
        shown = c.get(f"/api/v1/licences/{lid}", headers=h["auditor"]).json()
    assert shown["status"] == "CANCELLED"
    with reviewed.rt.sessions() as s:
        review = s.get(ReviewRequest, review_id)
        assert review is not None and review.state == ReviewState.EXECUTED
        assert sorted(a.agency_code for a in review.approvals) == sorted([A1, A2])  # once each
