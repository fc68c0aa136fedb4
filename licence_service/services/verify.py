"""The verification use cases: a PDF or a QR payload, now or as of a past time.

Every entry point (API, pages, CLI) answers through the runtime's one
:class:`~licence_service.region.verifying.VerifyingState`: its index view and trust store
are kept in memory within the freshness bound, and a refusal is re-checked on a fresh view.
``direct`` re-reads the proof and status from contract state instead of trusting the local
index alone (the counter's "check against the chain" option).

Every answer is counted for the supervisor's statistics (``channel``: where it was asked;
``person``: the signed-in viewer's label, if any) in memory, written off the hot path
(``audit.verify_counts``).
"""

from __future__ import annotations

from datetime import datetime

from licence_service.audit.verify_counts import counter_of
from licence_service.region.runtime import Runtime
from verifier.verdicts import VerificationResult


def _counted(
    rt: Runtime, result: VerificationResult, channel: str, person: str
) -> VerificationResult:
    counter_of(rt, rt.sessions).count(result, channel, person)
    return result


def verify_pdf(
    rt: Runtime,
    data: bytes,
    at: datetime | None = None,
    direct: bool = False,
    channel: str = "api",
    person: str = "",
) -> VerificationResult:
    return _counted(rt, rt.verifying.verify_pdf(data, at, direct), channel, person)


def verify_qr(
    rt: Runtime,
    payload: str,
    at: datetime | None = None,
    direct: bool = False,
    channel: str = "api",
    person: str = "",
) -> VerificationResult:
    return _counted(rt, rt.verifying.verify_qr(payload, at, direct), channel, person)


def verify_qr_from_memory(
    rt: Runtime, payload: str, at: datetime | None = None, channel: str = "api"
) -> VerificationResult | None:
    """A VALID verdict for a QR payload from memory alone, or None when the answer needs
    blocking work: the server's event loop asks this first and hands the rest to a thread
    (see :meth:`~licence_service.region.verifying.VerifyingState.verify_qr_in_memory`)."""
    result = rt.verifying.verify_qr_in_memory(payload, at)
    return None if result is None else _counted(rt, result, channel, "")
