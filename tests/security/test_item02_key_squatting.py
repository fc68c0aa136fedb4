"""Item 2: lookup-key squatting.

Observed before the fix: QR verification followed the newest leaf under a lookup key. A second
agency of the same region anchored a junk leaf under a revoked licence's key and the genuine
QR went from REVOKED to VALID; region B doing the same made A's QR codes answer
UNKNOWN_ISSUER. Now the key of a QR code hashes the claims its agency signed, the verifier
looks it up only among leaves of that agency (the contract computes every leaf with the
anchoring agency's id), and different documents under one key of one agency give the alarm
verdict CONFLICTING, never the newest.
"""

from __future__ import annotations

import os

from sqlalchemy import select

from ledger_client import merkle
from ledger_client.registry import LeafStatus
from licence_service.services.status import change_status
from licence_service.store.models import OutboxEntry
from tests.security.trust_fixtures import (
    A1,
    A2,
    B1,
    BOTH_SUITES,
    Regions,
    agency,
    issue_by,
    qr_token,
    verify_pdf,
    verify_qr,
)
from verifier.verdicts import Verdict

pytestmark = BOTH_SUITES  # region B on intl, then on sm (a mixed consortium)


def _key_of(regions: Regions, leaf_hex: str) -> bytes:
    with regions.a.sessions() as s:
        entry = s.scalar(select(OutboxEntry).where(OutboxEntry.leaf == bytes.fromhex(leaf_hex)))
        assert entry is not None
        return entry.key


def test_squatting_a_revoked_licences_key_does_not_revive_it(regions: Regions) -> None:
    a, b = regions.a, regions.b
    doc = issue_by(a)
    change_status(a, doc.licence_id, LeafStatus.REVOKED, 1, "吊销")
    token, key = qr_token(doc), _key_of(regions, doc.leaf)
    assert verify_qr(a, token).verdict is Verdict.REVOKED

    # a second agency of the same region, then another region, anchor junk under that key
    regions.registry(a, A2).anchor([key], [os.urandom(32)])
    regions.registry(b, B1).anchor([key], [os.urandom(32)])
    for rt in (a, b):
        result = verify_qr(rt, token)
        assert result.verdict is Verdict.REVOKED, result.checks
    assert verify_pdf(b, doc).verdict is Verdict.REVOKED


def test_another_regions_squatting_does_not_make_codes_unknown(regions: Regions) -> None:
    a, b = regions.a, regions.b
    doc = issue_by(a)
    key = _key_of(regions, doc.leaf)
    regions.registry(b, B1).anchor([key], [os.urandom(32)])
    for rt in (a, b):
        result = verify_qr(rt, qr_token(doc))
        assert result.verdict is Verdict.VALID, result.checks
        assert result.issuer_code == A1


def test_conflicting_documents_under_one_key_raise_the_alarm(regions: Regions) -> None:
    """Only the agency itself can anchor under its own key; if an insider of that agency does,
    the verifier refuses to pick one."""
    a, b = regions.a, regions.b
    doc = issue_by(a)
    key = _key_of(regions, doc.leaf)
    junk = os.urandom(32)
    regions.registry(a, A1).anchor([key], [junk])
    b.indexer.sync()
    assert len({r.leaf for r in b.index.find_by_key(key, agency(A1))}) == 2
    assert merkle.leaf_of(agency(A1), key, junk) != bytes.fromhex(doc.leaf)
    for result in (verify_qr(b, qr_token(doc)), verify_pdf(b, doc)):
        assert result.verdict is Verdict.CONFLICTING, result.checks
        assert "contact the issuing agency" in result.reason
