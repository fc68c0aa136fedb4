"""A small consortium for the attacks on the trust model: region A (杭州) with two agencies,
region B (深圳) with one, all on the test session's anvil node, each with its own data
directory, as independent services would be."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import merkle
from ledger_client.node import AnvilNode
from ledger_client.registry import Member, RegistryClient
from licence_service.anchoring.members import member_of
from licence_service.anchoring.worker import AnchorWorker
from licence_service.federation.region import propose_region
from licence_service.region.bootstrap import (
    DEFAULT_AGENCY,
    HEALTH_AGENCY,
    chain_up,
    init_region,
    membership_request_path,
)
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services import issue_licence
from licence_service.services.issue import IssuedDocument
from signing.credentials import credentials_suite
from signing.pdf_metadata import read_metadata
from tests.service_fixtures import business_request
from verifier.metadata import METADATA_FILE
from verifier.verdicts import VerificationResult

A1 = DEFAULT_AGENCY[0]  # 杭州市市场监督管理局
A2 = HEALTH_AGENCY[0]  # 杭州市卫生健康委员会: a second agency of the same region
B1 = "114403000075421116"  # 深圳市市场监督管理局


@dataclass
class Regions:
    a: Runtime
    b: Runtime

    def account(self, rt: Runtime, code: str) -> LocalAccount:
        return rt.agency_account(code)

    def registry(self, rt: Runtime, code: str) -> RegistryClient:
        return rt.registry(rt.agency_account(code))


def build_regions(
    root: Path,
    anvil: AnvilNode,
    threshold: int = 2,
    crypto_b: str = "intl",
    crypto_a: str = "intl",
) -> Regions:
    """A bootstraps the directory with two agencies, then admits B (one approval while A is
    the only member); from then on every change needs both regions (M = 2). A is of suite
    ``crypto_a``, B of suite ``crypto_b`` (``intl`` unless named; a mixed consortium when they
    differ)."""

    def settings(home: Path):  # type: ignore[no-untyped-def]
        return load_settings(
            home,
            rpc_url=anvil.config.rpc_url,
            chain_port=anvil.config.port,
            embedded_chain=False,
            threshold=threshold,
            public_url="http://127.0.0.1:8600",
        )

    a = Runtime(settings(root / "A"))
    chain_up(a)
    init_region(a, crypto=crypto_a)
    init_region(a, agency_code=A2, agency_name=HEALTH_AGENCY[1])
    b = Runtime(settings(root / "B"))
    shutil.copy(a.settings.deployment_file, b.settings.deployment_file)
    init_region(b, "440300", "深圳市", B1, "深圳市市场监督管理局", crypto=crypto_b)
    assert propose_region(a, membership_request_path(b)).executed
    assert (agency_suite(a, A1), agency_suite(b, B1)) == (crypto_a, crypto_b)
    return Regions(a, b)


def agency_suite(rt: Runtime, agency_code: str) -> str:
    """The suite of an agency's seal certificate: a parametrised run checks it got the one it
    asked for (a fixture that ignored ``crypto`` would test ``intl`` twice)."""
    return credentials_suite(rt.agency_credentials(agency_code)).name


def issue_by(rt: Runtime, agency_code: str | None = None) -> IssuedDocument:
    return issue_licence(rt, business_request(agency_code=agency_code))


def member(rt: Runtime, leaf_hex: str) -> Member:
    with rt.sessions() as s:
        found = member_of(s, bytes.fromhex(leaf_hex))
    assert found is not None
    return found


def qr_token(doc: IssuedDocument) -> str:
    """The token printed on the licence (the metadata carries the same signed token)."""
    return str(read_metadata(doc.pdf_path.read_bytes(), METADATA_FILE)["qr_token"])


def verify_pdf(rt: Runtime, doc: IssuedDocument, at: datetime | None = None) -> VerificationResult:
    return rt.verifier().verify_pdf(doc.pdf_path.read_bytes(), at)


def verify_pdf_direct(rt: Runtime, doc: IssuedDocument) -> VerificationResult:
    """Verified against contract state too, not only the index."""
    return rt.verifier(direct=True).verify_pdf(doc.pdf_path.read_bytes())


def verify_qr(rt: Runtime, token: str, at: datetime | None = None) -> VerificationResult:
    return rt.verifier().verify_qr(token, at)


def flush(rt: Runtime) -> None:
    AnchorWorker(rt).flush()


def agency(code: str) -> bytes:
    return merkle.agency_id(code)


def now() -> datetime:
    return datetime.now(UTC)


BOTH_SUITES = pytest.mark.parametrize("regions", ["intl", "sm"], indirect=True, scope="module")
"""Run a module's attacks with region B on ``intl`` and again on ``sm`` (a mixed consortium)."""

ISSUER_ON_BOTH_SUITES = pytest.mark.parametrize(
    "regions", [("intl", "intl"), ("sm", "intl")], ids=["intl", "sm"], indirect=True, scope="module"
)
"""Run a module whose documents region A issues with A on ``intl``, then with A on ``sm`` (B,
the other region's counter, stays ``intl``): the suite under test is the issuer's."""
