"""Item 5: three rules for certificate validity, disagreeing.

Observed before the fix: RegionDirectory kept a retired certificate valid for what it signed
before retirement, verifier/engine.py rejected any retired certificate whatever the time, and
federation/certificates.py dropped `revokedAt`. Now there is one rule,
`ledger_client.directory.signature_counts` (the contract's `isCertificateValidAt`), and every
verifier path asks it with the time the document was anchored. Tested at the boundary
instants: one second before, at, and one second after a compromise and a retirement, on the
contract, on the rule, on the certificate store rebuilt from the chain, and on real documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ledger_client.directory import Action, signature_counts
from ledger_client.node import AnvilNode, NodeConfig
from licence_service.federation.region import report_compromised
from tests.chain_fixtures import free_port
from tests.security.trust_fixtures import (
    A1,
    A2,
    B1,
    BOTH_SUITES,
    Regions,
    issue_by,
    qr_token,
    verify_qr,
)
from verifier.verdicts import Verdict

pytestmark = BOTH_SUITES  # region B on intl, then on sm (a mixed consortium)


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """A chain of its own: pinning a block's time moves the chain's clock ahead of this
    machine's for every later block, and other tests compare the two."""
    node = AnvilNode(NodeConfig(directory=tmp_path_factory.mktemp("anvil"), port=free_port()))
    node.start()
    yield node
    node.stop()


def _pin_next_block(regions: Regions, timestamp: int) -> None:
    regions.a.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]


def _latest(regions: Regions) -> int:
    return int(regions.a.w3.eth.get_block("latest")["timestamp"])


def _agree_at_boundaries(regions: Regions, fingerprint: str, moment: int) -> None:
    """Contract, rule and the chain-built store say the same one second either side."""
    b = regions.b
    fp = bytes.fromhex(fingerprint)
    directory = b.directory()
    info = directory.certificate(fp)
    assert info is not None
    store = b.trust_store().directory
    assert store is not None
    registered = store.by_fingerprint(fingerprint)
    assert registered is not None
    assert (registered.revoked_at, registered.compromised_at) == (
        info.revoked_at,
        info.compromised_at,
    )
    for t in (moment - 1, moment, moment + 1):
        on_chain = directory.is_certificate_valid_at(fp, t)
        assert on_chain == signature_counts(info.revoked_at, info.compromised_at, t)
        assert on_chain == registered.valid_at(t) == info.valid_at(t)
        assert on_chain is (t < moment)


def test_compromise_boundary_on_documents(regions: Regions) -> None:
    a, b = regions.a, regions.b
    x = _latest(regions) + 3
    _pin_next_block(regions, x - 1)
    before = issue_by(a, A2)  # anchored one second before the loss
    _pin_next_block(regions, x)
    at = issue_by(a, A2)  # anchored at the very second of the loss
    assert verify_qr(b, qr_token(before)).anchored_at == datetime.fromtimestamp(x - 1, tz=UTC)
    assert verify_qr(b, qr_token(at)).anchored_at == datetime.fromtimestamp(x, tz=UTC)
    fingerprint = a.agency_credentials(A2).fingerprint
    report_compromised(a, fingerprint, datetime.fromtimestamp(x, tz=UTC))
    _agree_at_boundaries(regions, fingerprint, x)

    for result in (
        verify_qr(b, qr_token(before)),
        b.verifier().verify_pdf(before.pdf_path.read_bytes()),
    ):
        assert result.verdict is Verdict.VALID, result.checks
    for result in (verify_qr(b, qr_token(at)), b.verifier().verify_pdf(at.pdf_path.read_bytes())):
        assert result.verdict is Verdict.UNKNOWN_ISSUER, result.checks
        assert "compromised" in result.reason


def test_retirement_boundary_and_documents_signed_before_it(regions: Regions) -> None:
    """A retired certificate stays valid for what was anchored before its retirement."""
    a, b = regions.a, regions.b
    doc = issue_by(a, A1)
    fingerprint = a.agency_credentials(A1).fingerprint
    y = _latest(regions) + 3
    proposal = a.directory(a.agency_account(A1)).propose(
        Action.REVOKE_CERTIFICATE, 330100, fingerprint=bytes.fromhex(fingerprint)
    )
    _pin_next_block(regions, y)
    assert b.directory(b.agency_account(B1)).approve(proposal).executed  # M = 2
    info = b.directory().certificate(bytes.fromhex(fingerprint))
    assert info is not None and info.revoked_at == y
    _agree_at_boundaries(regions, fingerprint, y)
    for result in (verify_qr(b, qr_token(doc)), b.verifier().verify_pdf(doc.pdf_path.read_bytes())):
        assert result.verdict is Verdict.VALID, result.checks
