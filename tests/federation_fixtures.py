"""Three regions (A 杭州, B 深圳, C 北京) sharing one chain, each with its own data directory."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from licence_service.federation.region import approve_proposal, propose_region
from licence_service.region.bootstrap import chain_up, init_region, membership_request_path
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from signing.credentials import credentials_suite

REGIONS = {
    "A": ("330100", "杭州市", "11330100002489458U", "杭州市市场监督管理局"),
    "B": ("440300", "深圳市", "114403000075421116", "深圳市市场监督管理局"),
    "C": ("110100", "北京市", "11110000000021135M", "北京市市场监督管理局"),
}


@dataclass
class Consortium:
    a: Runtime
    b: Runtime
    c: Runtime


def region_settings(home: Path, rpc_url: str, port: int, **extra: object):
    return load_settings(
        home, rpc_url=rpc_url, chain_port=port, embedded_chain=False, threshold=2, **extra
    )


def build_consortium(
    root: Path,
    rpc_url: str,
    port: int,
    suites: Mapping[str, str] | None = None,
    rpc_urls: Mapping[str, str] | None = None,
    **extra: object,
) -> Consortium:
    """A deploys and bootstraps; B joins with one approval; C needs A's and B's (M=2).
    ``suites`` names a region's crypto suite (``{"A": "sm"}``); the others are ``intl``.
    ``rpc_urls`` gives a region its own node list (a network with a node per region)."""
    runtimes = {}
    for name, (code, region_name, agency_code, agency_name) in REGIONS.items():
        home = root / name
        home.mkdir(parents=True, exist_ok=True)
        url = (rpc_urls or {}).get(name, rpc_url)
        rt = Runtime(region_settings(home, url, port, **extra.get(name, {})))  # type: ignore[arg-type]
        if name == "A":
            chain_up(rt)
        else:
            shutil.copy(runtimes["A"].settings.deployment_file, rt.settings.deployment_file)
        crypto = (suites or {}).get(name)
        init_region(rt, code, region_name, agency_code, agency_name, crypto=crypto)
        runtimes[name] = rt
    a, b, c = runtimes["A"], runtimes["B"], runtimes["C"]
    for name, rt in runtimes.items():  # each region got the suite it asked for
        seal = rt.agency_credentials(REGIONS[name][2])
        assert credentials_suite(seal).name == (suites or {}).get(name, "intl")
    assert propose_region(a, membership_request_path(b)).executed  # N=1: one approval
    pending = propose_region(a, membership_request_path(c))
    assert not pending.executed and pending.needed == 2
    assert approve_proposal(b, pending.proposal_id).executed
    return Consortium(a, b, c)
