"""Issue 8 item 10: the change feed does not hand out personal data without consent.

Region B pulls region A's ``/federation/changes`` feed over HTTP with a signed request.
Without a consent the answer carries identifiers, status and leaves only: no holder name, no
holder ID, no value of any face field. After the holder consents to B for a purpose, the feed
with that purpose carries the (masked) data, and the release is in A's operation log and
receipted on-chain in the SharingLedger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from ledger_client.node import AnvilNode
from licence_service.federation.auth import sign_request
from licence_service.federation.client import domain
from licence_service.federation.sharing import grant_consent
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.store.models import OpLogEntry
from tests.federation_fixtures import Consortium, build_consortium
from tests.security.http_server import serve
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC, business_request

PURPOSE = "办理分支机构登记"


@pytest.fixture(scope="module", params=["intl", "sm"])
def consortium(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Consortium:
    """A, whose feed B pulls, on ``intl`` and then on ``sm`` (B stays ``intl``)."""
    root = tmp_path_factory.mktemp(f"feed-{request.param}")
    return build_consortium(
        root, anvil.config.rpc_url, anvil.config.port, suites={"A": request.param}
    )


@pytest.fixture(scope="module")
def a_url(consortium: Consortium) -> Iterator[str]:
    with serve(consortium.a) as url:
        yield url


def pull(b: Runtime, a_url: str, since: datetime, purpose: str | None = None) -> httpx.Response:
    """B's signed GET of A's change feed."""
    with b.sessions() as s:
        agency = b.agency(s)
    query = {"type": "BL01", "since": since.isoformat()}
    if purpose:
        query["purpose"] = purpose
    path = "/api/v1/federation/changes?" + urlencode(query)
    headers = sign_request(
        domain(b), b.agency_account(agency.code), 440300, "GET", path, b"", to_region=330100
    )
    return httpx.get(a_url + path, headers=headers, timeout=60)


def personal_values() -> list[str]:
    holder = business_request().holder_name
    return [holder, HOLDER_USCC, *BUSINESS_FIELDS.values()]


def test_feed_without_consent_has_no_personal_data(consortium: Consortium, a_url: str) -> None:
    a, b = consortium.a, consortium.b
    since = datetime.now(UTC) - timedelta(minutes=5)
    doc = issue_licence(a, business_request())
    for purpose in (None, PURPOSE):  # naming a purpose without a consent releases nothing
        r = pull(b, a_url, since, purpose)
        assert r.status_code == 200, r.text
        entries = r.json()
        mine = [e for e in entries if e["licence_id"] == doc.licence_id]
        assert len(mine) == 1
        assert set(mine[0]) == {"licence_id", "version", "status", "leaf", "changed_since"}
        text = json.dumps(entries, ensure_ascii=False)
        for value in personal_values():
            assert value not in text, value
    with a.sessions() as s:
        releases = s.scalars(select(OpLogEntry).where(OpLogEntry.action == "share:release"))
        assert list(releases) == []


def test_feed_with_consent_releases_logged_and_receipted(
    consortium: Consortium, a_url: str
) -> None:
    a, b = consortium.a, consortium.b
    since = datetime.now(UTC) - timedelta(minutes=5)
    doc = issue_licence(a, business_request())
    until = datetime.now(UTC).date() + timedelta(days=30)
    grant_consent(a, HOLDER_USCC, 440300, PURPOSE, until, doc.licence_id)

    r = pull(b, a_url, since, PURPOSE)
    assert r.status_code == 200, r.text
    entry = next(e for e in r.json() if e["licence_id"] == doc.licence_id)
    data = entry["data"]
    assert data["fields"]["holder_name"] == business_request().holder_name
    assert data["fields"]["holder_id"] != HOLDER_USCC and "holder_id" in data["masked"]
    receipt = bytes.fromhex(data["receipt"]["hash"])
    on_chain = a.sharing().release(receipt)
    assert on_chain is not None and on_chain.to_region == 440300
    with a.sessions() as s:
        logged = s.scalars(select(OpLogEntry).where(OpLogEntry.action == "share:release")).all()
    assert [json.loads(e.details_json)["receipt"] for e in logged] == [receipt.hex()]
    assert logged[0].target in doc.licence_id
