"""Issue 8 item 7 (second half): a signed region-to-region request names its receiving region.

Region A signs a request for region B. B, having received it, replays the very same bytes and
headers to region C within the 300 s window: C refuses (403, "addressed to region 440300").
The untouched request is then accepted by B, the region it was signed for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest

from ledger_client.node import AnvilNode
from licence_service.federation.auth import sign_request
from licence_service.federation.client import domain
from tests.federation_fixtures import Consortium, build_consortium
from tests.security.http_server import serve


@pytest.fixture(scope="module", params=["intl", "sm"])
def consortium(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Consortium:
    """B and C, the audiences, on ``intl`` and then on ``sm`` (A, the caller, on ``intl``)."""
    root = tmp_path_factory.mktemp(f"audience-{request.param}")
    suite = {"B": request.param, "C": request.param}
    return build_consortium(root, anvil.config.rpc_url, anvil.config.port, suites=suite)


@pytest.fixture(scope="module")
def urls(consortium: Consortium) -> Iterator[dict[str, str]]:
    with serve(consortium.b) as b_url, serve(consortium.c) as c_url:
        yield {"B": b_url, "C": c_url}


def test_request_signed_for_b_is_refused_by_c_and_accepted_by_b(
    consortium: Consortium, urls: dict[str, str]
) -> None:
    a = consortium.a
    with a.sessions() as s:
        agency = a.agency(s)
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    path = "/api/v1/federation/changes?" + urlencode({"type": "BL01", "since": since})
    headers = sign_request(
        domain(a), a.agency_account(agency.code), 330100, "GET", path, b"", to_region=440300
    )
    assert headers["X-LL-To-Region"] == "440300"

    replayed = httpx.get(urls["C"] + path, headers=headers, timeout=30)
    assert replayed.status_code == 403, replayed.text
    assert "addressed to region 440300" in replayed.json()["detail"]

    # lying about the audience in the header breaks the signature
    forged = {**headers, "X-LL-To-Region": "110100"}
    relabelled = httpx.get(urls["C"] + path, headers=forged, timeout=30)
    assert relabelled.status_code == 401, relabelled.text

    accepted = httpx.get(urls["B"] + path, headers=headers, timeout=30)
    assert accepted.status_code == 200, accepted.text
    assert isinstance(accepted.json(), list)
