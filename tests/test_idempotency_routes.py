"""Issue 25.2: an `Idempotency-Key` is taken only where the route can keep it.

Three kinds of state-changing route, one of each tried on a real server:
- a route that binds its answer in its work's commit (here: a consent): an error after the
  commit answers the work, a retry gets that first answer, the work is done once;
- a route that cannot keep a key (here: a new token, whose answer is a secret shown once, and
  disabling a person): the key is refused with a 422 saying why and what to do, nothing done;
- a verification: the key changes nothing (no row kept), the answer is the verification's.
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
from licence_service.federation.sharing import grant_consent
from licence_service.people.service import list_tokens
from licence_service.region.runtime import Runtime
from licence_service.services.issue import issue_licence
from licence_service.store.models import Consent, IdempotentRequest
from tests.chain_fixtures import free_port
from tests.federation_fixtures import build_consortium
from tests.people_fixtures import serving, staff
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
