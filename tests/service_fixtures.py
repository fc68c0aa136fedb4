"""Building a region's runtime on the session's anvil node."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from ledger_client.node import AnvilNode
from licence_service.region.bootstrap import chain_up, init_region
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services.issue import IssueRequest
from licence_service.store.models import LicenceVersion

BUSINESS_FIELDS = {
    "类型": "有限责任公司（自然人投资或控股）",
    "法定代表人": "王晓东",
    "注册资本": "100万元",
    "成立日期": "2018-05-21",
    "住所": "浙江省杭州市西湖区文三路90号",
    "经营范围": "技术开发、技术服务；软件开发",
}
HOLDER_USCC = "91330106MA2B0XKH34"


def region_runtime(
    home: Path, anvil: AnvilNode, crypto: str | None = None, **overrides: object
) -> Runtime:
    """A region whose chain is the test session's anvil node (not started or stopped here), of
    crypto suite ``crypto`` (``intl`` unless named)."""
    settings = load_settings(
        home,
        **{
            "rpc_url": anvil.config.rpc_url,
            "chain_port": anvil.config.port,
            "embedded_chain": False,
            "public_url": "http://127.0.0.1:8600",
            **overrides,
        },
    )
    rt = Runtime(settings)
    chain_up(rt)
    init_region(rt, crypto=crypto)
    return rt


def business_request(**changes: object) -> IssueRequest:
    base: dict[str, object] = {
        "type_code": "BL01",
        "holder_name": "杭州青禾科技有限公司",
        "holder_id": HOLDER_USCC,
        "fields": dict(BUSINESS_FIELDS),
    }
    base.update(changes)
    return IssueRequest(**base)  # type: ignore[arg-type]


def qr_of(rt: Runtime, licence_id: str) -> str:
    """The QR payload printed on version ``licence_id``."""
    with rt.sessions() as s:
        version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == licence_id))
        assert version is not None
        return str(version.qr_payload)


def serve_env(anvil: AnvilNode, public_url: str, **settings: str) -> dict[str, str]:
    """The environment of a `licledger serve` subprocess on the session's node: this process's
    environment, the node, the public URL, and ``settings`` as ``LICLEDGER_<NAME>``."""
    return {
        **os.environ,
        "LICLEDGER_RPC_URL": anvil.config.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(anvil.config.port),
        "LICLEDGER_PUBLIC_URL": public_url,
        **{f"LICLEDGER_{name.upper()}": value for name, value in settings.items()},
    }
