"""Item 4: QR codes signed by the wrong or a compromised key.

Observed before the fix: a QR signed with the key of another agency of the same region, after
that key was reported compromised, claiming a licence of agency X with validity 2099 answered
VALID with the other agency shown as issuer; as of 2060 the genuine QR said EXPIRED and the
forged one VALID. Now a QR counts only when signed by a key of the agency it names, for a
licence of that agency, and its lookup key hashes the signed claims: validity end, data-root
prefix, type and masked holder are all committed by the agency's own anchoring, so changed
claims find no leaf whoever signed them; and a key reported compromised signs nothing that
was anchored from the compromise on.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from licence_service.federation.region import report_compromised
from tests.security.trust_fixtures import (
    A1,
    A2,
    BOTH_SUITES,
    Regions,
    issue_by,
    qr_token,
    verify_qr,
)
from verifier.qr import encode_token, parse_token
from verifier.verdicts import Verdict

pytestmark = BOTH_SUITES  # region B on intl, then on sm (a mixed consortium)


def _resign(regions: Regions, token: str, signer: str, **changes: object) -> str:
    claims = replace(parse_token(token).claims, **changes)  # type: ignore[arg-type]
    return encode_token(claims, regions.a.agency_credentials(signer).key)


def _chain_time_after(regions: Regions, moment: datetime) -> datetime:
    """A chain time later than ``moment`` that the next block will not precede."""
    w3 = regions.a.w3
    while True:
        time.sleep(0.5)
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        latest = int(w3.eth.get_block("latest")["timestamp"])
        if latest > moment.timestamp():
            return datetime.fromtimestamp(latest, tz=UTC)


def test_another_agencys_key_cannot_sign_for_an_agency(regions: Regions) -> None:
    a, b = regions.a, regions.b
    doc = issue_by(a, A1)
    genuine = qr_token(doc)
    assert verify_qr(b, genuine).verdict is Verdict.VALID
    far = date(2099, 12, 31)
    forged_as_x = _resign(regions, genuine, A2, valid_until=far)
    forged_as_self = _resign(regions, genuine, A2, issuer_code=A2, valid_until=far)
    relabelled = _resign(regions, genuine, A2, issuer_code=A2)
    for rt in (a, b):
        assert verify_qr(rt, forged_as_x).verdict is Verdict.TAMPERED
        for token in (forged_as_self, relabelled):
            result = verify_qr(rt, token)
            assert result.verdict is Verdict.UNKNOWN_ISSUER, result.checks
            assert "belongs to issuer" in result.reason


def test_claims_must_be_what_the_agency_anchored(regions: Regions) -> None:
    """Even the genuine key cannot make a code say more than what was anchored."""
    a, b = regions.a, regions.b
    doc = issue_by(a, A1)
    genuine = qr_token(doc)
    claims = parse_token(genuine).claims
    changes: list[dict[str, object]] = [
        {"valid_until": date(2099, 12, 31)},
        {"data_root_prefix": "0" * 16},
        {"holder_masked": "王*"},
        {"type_code": "DL01"},
    ]
    for change in changes:
        forged = _resign(regions, genuine, A1, **change)
        result = verify_qr(b, forged)
        assert result.verdict is Verdict.NOT_ANCHORED, (change, result.checks)
    later = datetime.combine(claims.valid_until + timedelta(days=1), datetime.min.time(), UTC)
    assert verify_qr(b, genuine, later).verdict is Verdict.EXPIRED


def test_a_compromised_key_signs_nothing_anchored_after_the_loss(regions: Regions) -> None:
    a, b = regions.a, regions.b
    before = issue_by(a, A2)
    creds = a.agency_credentials(A2)
    anchored = b.verifier().verify_qr(qr_token(before)).anchored_at
    assert anchored is not None
    since = _chain_time_after(regions, anchored)
    report_compromised(a, creds.fingerprint, since)
    # the thief's 2099 code for a genuine licence of the agency: never VALID, now or in 2060
    forged = _resign(regions, qr_token(before), A2, valid_until=date(2099, 12, 31))
    in_2060 = datetime(2060, 1, 1, tzinfo=UTC)
    for when in (None, in_2060):
        # not anchored, and signed by a key that is lost now: refused as not the agency's
        assert verify_qr(b, forged, when).verdict is Verdict.UNKNOWN_ISSUER
    assert verify_qr(b, qr_token(before), in_2060).verdict is Verdict.EXPIRED
    # the genuine code anchored before the loss still verifies
    assert verify_qr(b, qr_token(before)).verdict is Verdict.VALID
    # a licence anchored after the loss, signed with the lost key: refused on both paths
    after = issue_by(a, A2)
    for result in (
        verify_qr(b, qr_token(after)),
        b.verifier().verify_pdf(after.pdf_path.read_bytes()),
    ):
        assert result.verdict is Verdict.UNKNOWN_ISSUER, result.checks
        assert "compromised" in result.reason
