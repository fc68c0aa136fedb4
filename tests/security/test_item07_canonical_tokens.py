"""Item 7 (first half): QR signatures accepted the high-S twin and re-serialised claims.

Observed before the fix: a token whose signature was replaced by its high-S twin (r, n - s), or
whose claims were re-serialised (other key order, spaces, escaped characters, base64 padding)
with the genuine signature, still verified. Now only the one canonical token of a licence is
accepted; every other encoding is refused with a clear error (422 from the API), never VALID.
"""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from licence_service.api.app import create_app
from signing.compact import verify_compact
from signing.sm2 import SM2_ORDER
from signing.sm2_certificates import is_sm_certificate
from tests.security.trust_fixtures import (
    A1,
    ISSUER_ON_BOTH_SUITES,
    Regions,
    issue_by,
    qr_token,
    verify_qr,
)
from verifier.errors import VerificationError
from verifier.qr import parse_token
from verifier.verdicts import Verdict

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

pytestmark = ISSUER_ON_BOTH_SUITES  # the token signed by an intl issuer, then by an sm one


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[str, bytes, bytes]:
    prefix, claims, sig = token.split(".")
    pad = lambda t: t + "=" * (-len(t) % 4)  # noqa: E731
    return prefix, base64.urlsafe_b64decode(pad(claims)), base64.urlsafe_b64decode(pad(sig))


def test_high_s_twin_is_refused(regions: Regions) -> None:
    doc = issue_by(regions.a, A1)
    token = qr_token(doc)
    prefix, claims, sig = _parts(token)
    cert = regions.a.agency_credentials(A1).cert
    n = SM2_ORDER if is_sm_certificate(cert) else P256_ORDER  # SM2 has no (r, n - s) twin
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    twin = r.to_bytes(32, "big") + (n - s).to_bytes(32, "big")
    assert verify_compact(cert, claims, sig) and not verify_compact(cert, claims, twin)
    result = verify_qr(regions.b, f"{prefix}.{_b64(claims)}.{_b64(twin)}")
    assert result.verdict is Verdict.TAMPERED, result.checks
    assert verify_qr(regions.b, token).verdict is Verdict.VALID


def test_reserialised_claims_are_refused(regions: Regions) -> None:
    doc = issue_by(regions.a, A1)
    token = qr_token(doc)
    prefix, claims, sig = _parts(token)
    body = json.loads(claims)
    variants = [
        json.dumps(body, separators=(",", ":"), sort_keys=True).encode(),  # \u-escaped text
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode(),  # with spaces
        json.dumps(
            dict(reversed(body.items())), separators=(",", ":"), ensure_ascii=False
        ).encode(),
        claims + b" ",
    ]
    forms = [f"{prefix}.{_b64(v)}.{_b64(sig)}" for v in variants if v != claims]
    padded = base64.urlsafe_b64encode(claims).decode()  # with '=' padding where any
    if padded.endswith("="):
        forms.append(f"{prefix}.{padded}.{_b64(sig)}")
    forms.append(f"{prefix}.{_b64(claims)}.{base64.urlsafe_b64encode(sig).decode()}")
    assert len(forms) >= 4
    client = TestClient(create_app(regions.b, background=False))
    for form in forms:
        with pytest.raises(VerificationError, match=r"canonical|damaged"):
            parse_token(form)
        response = client.post("/api/v1/verify/qr", json={"payload": form})
        assert response.status_code == 422, response.text
        assert "VALID" not in response.text
