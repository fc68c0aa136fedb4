"""A region for the attack tests: two agencies (A1 market, A2 health), an agency of another
region (B), one person per caller kind, served by a real uvicorn server on loopback.

"Issuer of region B": the app serves one region, so region B's issuer is modelled as a
person of this database whose unit is an agency of region 440300 (set up here with
`init_region`, so its code is a real agency of another region). Such a person can sign in,
but the service refuses them everything but `/me`: persons act only in their own region.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.people.identity import PersonRole
from licence_service.region.bootstrap import DEFAULT_AGENCY, HEALTH_AGENCY, init_region
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port
from tests.people_fixtures import bearer, person_token, serving
from tests.service_fixtures import region_runtime

A1, A2 = DEFAULT_AGENCY[0], HEALTH_AGENCY[0]
REGION_B = ("440300", "深圳市", "114403000075421116", "深圳市市场监督管理局")
PEOPLE = {
    "window_a": (A1, PersonRole.WINDOW_STAFF),
    "issuer_a1": (A1, PersonRole.ISSUER),
    "issuer_a2": (A2, PersonRole.ISSUER),
    "agency_admin_a1": (A1, PersonRole.AGENCY_ADMIN),
    "auditor": ("audit", PersonRole.AUDITOR),
    "region_admin": ("region", PersonRole.REGION_ADMIN),
    "issuer_b": (REGION_B[2], PersonRole.ISSUER),
    "reviewer_a1": (A1, PersonRole.SHARING_REVIEWER),  # other regions' sharing requests
}
CALLERS = ("anonymous", *PEOPLE)
FP01 = {
    "type_code": "FP01",
    "holder_name": "杭州沐阳超市有限公司",
    "holder_id": "91330106MA2B0XKH34",
    "fields": {
        "法定代表人（负责人）": "李明",
        "住所": "浙江省杭州市西湖区文三路1号",
        "经营场所": "浙江省杭州市西湖区文三路1号",
        "主体业态": "食品销售经营者",
        "经营项目": "预包装食品销售",
        "日常监督管理机构": "西湖区市场监督管理局",
    },
}


@dataclass
class Region:
    url: str
    rt: Runtime
    headers: dict[str, dict[str, str]]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)


def username(caller: str) -> str:
    return caller.replace("_", "-")


@contextmanager
def secured_region(home: Path, anvil: AnvilNode, **overrides: object) -> Iterator[Region]:
    port = free_port()
    rt = region_runtime(home, anvil, public_url=f"http://127.0.0.1:{port}", **overrides)
    init_region(rt, agency_code=A2, agency_name=HEALTH_AGENCY[1])
    init_region(rt, *REGION_B)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for caller, (unit, role) in PEOPLE.items():
        headers[caller] = bearer(person_token(rt, username(caller), unit, role))
    with serving(create_app(rt), port) as url:
        yield Region(url, rt, headers)
