"""A client retrying after a timeout creates nothing twice: `Idempotency-Key` on a real server,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from licence_service.api.app import create_app
from licence_service.region.runtime import Runtime
from licence_service.store.models import Licence, StatusChange
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving, staff
from tests.test_api import ISSUE_BODY

Api = tuple[httpx.Client, Runtime, dict[str, dict[str, str]]]


@pytest.fixture(scope="module")
def api(rt: Runtime) -> Iterator[Api]:
    with serving(create_app(rt), free_port()) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c, rt, staff(rt, "-idem")


def _licences(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Licence)) or 0)


def test_a_retried_issuance_is_issued_once(api: Api) -> None:
    c, rt, people = api
    issuer = people["issuer"]
    before = _licences(rt)
    headers = {**issuer, "Idempotency-Key": "issue-0001"}
    first = c.post("/api/v1/licences", json=ISSUE_BODY, headers=headers)
    again = c.post("/api/v1/licences", json=ISSUE_BODY, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json() and again.headers["idempotent-replay"] == "true"
    assert _licences(rt) == before + 1
    # the same key for another request is refused, and changes nothing
    other = c.post("/api/v1/licences", json={**ISSUE_BODY, "holder_name": "别的公司"},
                   headers=headers)  # fmt: skip
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    assert _licences(rt) == before + 1
    # without a key, a second request is a second licence
    plain = c.post("/api/v1/licences", json=ISSUE_BODY, headers=issuer)
    assert plain.status_code == 201 and plain.json()["licence_id"] != first.json()["licence_id"]


def test_a_retried_status_change_gets_the_first_answer(api: Api) -> None:
    c, rt, people = api
    issuer = people["issuer"]
    lid = c.post("/api/v1/licences", json=ISSUE_BODY, headers=issuer).json()["licence_id"]
    body = {"action": "revoke", "reason": "吊销"}
    headers = {**issuer, "Idempotency-Key": "revoke-" + lid}
    first = c.post(f"/api/v1/licences/{lid}/status", json=body, headers=headers)
    again = c.post(f"/api/v1/licences/{lid}/status", json=body, headers=headers)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    with rt.sessions() as s:
        changes = s.scalar(
            select(func.count()).select_from(StatusChange).where(StatusChange.tx_hash
                                                                  == first.json()["tx_hash"])
        )  # fmt: skip
    assert changes == 1
    # without the key the retry is a new request: the licence is already revoked
    assert c.post(f"/api/v1/licences/{lid}/status", json=body, headers=issuer).status_code == 409


def test_keys_belong_to_their_caller_and_bad_keys_are_refused(api: Api) -> None:
    c, _, people = api
    key = {"Idempotency-Key": "shared-key"}
    done = c.post("/api/v1/licences", json=ISSUE_BODY, headers={**people["issuer"], **key})
    assert done.status_code == 201
    # window staff replaying the issuer's key must not get the issuer's answer: it is their
    # own request, and they may not issue
    other = c.post("/api/v1/licences", json=ISSUE_BODY, headers={**people["window"], **key})
    assert other.status_code == 403 and "idempotent-replay" not in other.headers
    too_long = {**people["issuer"], "Idempotency-Key": "k" * 201}
    refused = c.post("/api/v1/licences", json=ISSUE_BODY, headers=too_long)
    assert refused.status_code == 422 and refused.json()["field"] == "Idempotency-Key"
