"""Three regions for the sharing-request tests: region A's service on a real loopback server,
a sharing reviewer and a window clerk of A with their tokens, and the signed calls B and C
make to A (ask, fetch, status)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.federation.client import RemoteError, call
from licence_service.people.identity import PersonRole
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import IssueRequest
from licence_service.store.queries import find_licence
from tests.chain_fixtures import free_port
from tests.federation_fixtures import Consortium, build_consortium
from tests.people_fixtures import bearer, person_token, serving
from tests.service_fixtures import business_request

REGION_A, REGION_B, REGION_C = 330100, 440300, 110100
ASK = "/api/v1/federation/sharing-requests"
SECRET = {
    "住址": "浙江省杭州市上城区解放路8号",
    "出生日期": "1990-03-07",
    "档案编号": "330100555666",
}
DRIVER = IssueRequest(
    type_code="DL01", holder_name="赵一鸣", holder_id="110101199003074514",
    fields={"性别": "男", "国籍": "中国", "初次领证日期": "2010-08-30", "准驾车型": "C1", **SECRET},
)  # fmt: skip


@dataclass
class World:
    regions: Consortium
    url: str  # region A's service
    reviewer: dict[str, str]  # Authorization headers of A's sharing reviewer
    window: dict[str, str]  # of A's window staff (no reviewer role)

    @property
    def a(self) -> Runtime:
        return self.regions.a


def serve_world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """Build the consortium and serve region A (a module fixture of each test file)."""
    regions = build_consortium(
        tmp_path_factory.mktemp("sharing"), anvil.config.rpc_url, anvil.config.port
    )
    a = regions.a
    with a.sessions() as s:
        agency = a.agency(s).code
    reviewer = person_token(a, "reviewer-a", agency, PersonRole.SHARING_REVIEWER)
    window = person_token(a, "window-a", agency, PersonRole.WINDOW_STAFF)
    with serving(create_app(a, background=False), free_port()) as url:
        yield World(regions, url, bearer(reviewer), bearer(window))


def licence_of(rt: Runtime, req: IssueRequest | None = None) -> str:
    doc = issue_licence(rt, req or business_request(), wait=False)
    with rt.sessions() as s:
        return find_licence(s, doc.licence_id).base_id


def ask(rt: Runtime, w: World, licence: str, purpose: str, **extra: Any) -> dict[str, Any]:
    body = {"licence_id": licence, "purpose": purpose, **extra}
    answer: dict[str, Any] = call(rt, w.url, "POST", ASK, body, to_region=REGION_A)
    return answer


def fetch(rt: Runtime, w: World, licence: str, purpose: str, request_id: int) -> dict[str, Any]:
    path = f"/api/v1/federation/licences/{licence}/release"
    body = {"purpose": purpose, "request_id": request_id}
    answer: dict[str, Any] = call(rt, w.url, "POST", path, body, to_region=REGION_A)
    return answer


def status_of(rt: Runtime, w: World, request_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = call(rt, w.url, "GET", f"{ASK}/{request_id}", to_region=REGION_A)
    return answer


def refused(fn: Any, *args: Any, status: int = 403, **kwargs: Any) -> str:
    with pytest.raises(RemoteError) as caught:
        fn(*args, **kwargs)
    assert caught.value.status_code == status, caught.value
    return str(caught.value)


def decide(w: World, headers: dict[str, str], rid: int, verb: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{w.url}/api/v1/sharing-requests/{rid}/{verb}", json=body,
                      headers=headers, timeout=60)  # fmt: skip


def on_chain(w: World, row: dict[str, Any]) -> Any:
    return w.a.sharing().sharing_request(bytes.fromhex(row["request_hash"]))


def agency_of(rt: Runtime) -> str:
    with rt.sessions() as s:
        return rt.agency(s).code
