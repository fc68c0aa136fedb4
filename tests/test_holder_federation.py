"""Issue 20 point 1 across regions: region A's window asks region B (a signed request to
``POST /api/v1/federation/holders/licences`` on B's real server) for a holder's licences.
B answers with nothing until the holder consents to A; then only the consented licence,
masked as the consent says; a third region C, which holds no consent, still gets nothing;
after the holder withdraws, nothing again. A's window with B listed as its peer
(``LICLEDGER_PEER_REGIONS``) sees the consented licence beside its own, and a peer that does
not answer named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.federation.client import RemoteError, call
from licence_service.federation.sharing import grant_consent, withdraw_consent
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.people.service import add_person, get_person
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.holder_lookup import licences_of_holder
from licence_service.services.issue import IssueRequest
from licence_service.store.queries import find_licence
from tests.chain_fixtures import free_port
from tests.federation_fixtures import Consortium, build_consortium
from tests.people_fixtures import PASSWORD, serving
from tests.security.fixtures import FP01

pytestmark = pytest.mark.e2e

HOLDER = str(FP01["holder_id"])
PATH = "/api/v1/federation/holders/licences"
REGION_A, REGION_B = 330100, 440300


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[Consortium, str]]:
    consortium = build_consortium(
        tmp_path_factory.mktemp("holders"), anvil.config.rpc_url, anvil.config.port
    )
    port = free_port()
    with serving(create_app(consortium.b, background=False), port) as url:
        yield consortium, url


def _ask(rt: Any, url: str, holder: str = HOLDER) -> dict[str, Any]:
    answer: dict[str, Any] = call(rt, url, "POST", PATH, {"holder_id": holder}, to_region=REGION_B)
    return answer


def test_another_regions_licences_only_under_the_holders_consent(
    served: tuple[Consortium, str],
) -> None:
    consortium, url = served
    fields = dict(FP01["fields"])  # type: ignore[call-overload]
    bases = []
    for _ in range(2):
        req = IssueRequest("FP01", str(FP01["holder_name"]), HOLDER, fields)
        doc = issue_licence(consortium.b, req, wait=False)
        with consortium.b.sessions() as s:
            bases.append(find_licence(s, doc.licence_id).base_id)
    assert _ask(consortium.a, url)["licences"] == []  # no consent: nothing at all

    until = datetime.now(UTC).date() + timedelta(days=30)
    consent = grant_consent(consortium.b, HOLDER, REGION_A, "异地办理食品经营变更", until,
                            licence_id=bases[0])  # fmt: skip
    try:
        answer = _ask(consortium.a, url)
        (shown,) = answer["licences"]
        assert shown["base_id"] == bases[0] and shown["consent_purpose"] == "异地办理食品经营变更"
        assert shown["region_code"] == REGION_B and not shown["in_full"]
        text = json.dumps(answer, ensure_ascii=False)
        assert HOLDER not in text and "文三路1号" not in text  # nothing consented in full
        assert _ask(consortium.c, url)["licences"] == []  # the consent names A, not C
        window = _window_of_a(consortium, url)  # A's window, B as its peer, C down
        seen = licences_of_holder(window.rt, window.person, HOLDER)
        assert [e.base_id for e in seen.licences] == [bases[0]]
        assert seen.licences[0].consent_purpose == "异地办理食品经营变更"
        assert seen.unreachable_regions == [110100]
    finally:
        withdraw_consent(consortium.b, consent.consent_id)
    assert _ask(consortium.a, url)["licences"] == []
    assert licences_of_holder(window.rt, window.person, HOLDER).licences == []


@dataclass
class Window:
    rt: Runtime
    person: PersonInfo


def _window_of_a(consortium: Consortium, b_url: str) -> Window:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    rt = Runtime(replace(consortium.a.settings, peer_regions=f"440300={b_url},110100={dead}"))
    with rt.sessions() as s:
        agency = rt.agency(s).code
    add_person(rt, "window-a-peers", agency, frozenset({PersonRole.WINDOW_STAFF}),
               password=PASSWORD)  # fmt: skip
    return Window(rt, get_person(rt, "window-a-peers"))


def test_a_bad_id_from_another_region_is_a_422(served: tuple[Consortium, str]) -> None:
    consortium, url = served
    with pytest.raises(RemoteError) as caught:
        _ask(consortium.a, url, HOLDER[:-1] + ("5" if HOLDER[-1] != "5" else "6"))
    assert caught.value.status_code == 422 and "check character" in str(caught.value)
