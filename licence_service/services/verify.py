"""The verification use cases: a PDF or a QR payload, now or as of a past time.

``direct`` re-reads the proof and status from contract state instead of trusting the local
index alone (the counter's "check against the chain" option).
"""

from __future__ import annotations

from datetime import datetime

from licence_service.region.runtime import Runtime
from verifier.verdicts import VerificationResult


def verify_pdf(
    rt: Runtime, data: bytes, at: datetime | None = None, direct: bool = False
) -> VerificationResult:
    return rt.verifier(direct=direct).verify_pdf(data, at)


def verify_qr(
    rt: Runtime, payload: str, at: datetime | None = None, direct: bool = False
) -> VerificationResult:
    return rt.verifier(direct=direct).verify_qr(payload, at)
