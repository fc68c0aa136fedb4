"""From checks to one verdict: the most fundamental failed check names it.

The priority table and the function that reads it live together, so what a verdict means can
be read in one screen.
"""

from __future__ import annotations

from datetime import date, datetime

from ledger_client.index import LeafRecord
from ledger_client.registry import LeafStatus
from verifier.verdicts import Check, Verdict, VerificationResult

_STATUS_VERDICT = {
    LeafStatus.SUSPENDED: Verdict.SUSPENDED,
    LeafStatus.REVOKED: Verdict.REVOKED,
    LeafStatus.CANCELLED: Verdict.CANCELLED,
    LeafStatus.REPORTED_LOST: Verdict.REPORTED_LOST,
    LeafStatus.SUPERSEDED: Verdict.SUPERSEDED,
}

# When several checks fail, the verdict names the most fundamental failure.
_PRIORITY = {
    "signature": Verdict.TAMPERED,
    "digest": Verdict.TAMPERED,
    "metadata": Verdict.TAMPERED,
    "issuer": Verdict.UNKNOWN_ISSUER,
    "presented_fields": Verdict.PRESENTATION_WRONG_LICENCE,  # a holder's presentation code
    "presented": Verdict.PRESENTATION_EXPIRED,
    "uniqueness": Verdict.CONFLICTING,
    "anchor": Verdict.NOT_ANCHORED,
    "status": None,  # the status itself names the verdict
    "licence": None,  # the licence's status names the verdict of its attachment
    "validity": Verdict.EXPIRED,
}


def decide(result: VerificationResult) -> VerificationResult:
    failed = [c for c in result.checks if c.ok is False]
    if not failed:
        result.verdict = Verdict.VALID
        if result.as_of is not None:
            result.reason = (
                f"authentic, anchored and in force as of {result.as_of:%Y-%m-%d %H:%M:%S} "
                "UTC (a point-in-time answer: it says nothing about now)"
            )
        else:
            result.reason = "authentic, anchored, current and within its validity period"
        if result.document_note:
            result.reason = f"{result.document_note}; {result.reason}"
        return result
    order = list(_PRIORITY)
    failed.sort(key=lambda c: order.index(c.name) if c.name in order else len(order))
    worst = failed[0]
    if worst.name == "anchor" and result.extra.get("pending"):
        result.verdict = Verdict.PENDING
    elif worst.name in ("status", "licence"):
        result.verdict = _STATUS_VERDICT[LeafStatus[str(result.extra["status"])]]
    else:
        verdict = _PRIORITY[worst.name]
        assert verdict is not None
        result.verdict = verdict
    result.reason = worst.detail
    return result


def validity_check(valid_from: date | None, valid_until: date, when: datetime) -> Check:
    """Whether ``when`` falls within the document's validity period (days, inclusive)."""
    day = when.date()
    if valid_from is not None and day < valid_from:
        return Check("validity", False, f"not valid before {valid_from.isoformat()}")
    if day > valid_until:
        return Check("validity", False, f"validity ended on {valid_until.isoformat()}")
    return Check("validity", True, f"within the validity period (until {valid_until})")


def pending_detail(waiting: LeafRecord | None, confirmations: int) -> str:
    """Why a document the chain does not count yet is PENDING: the issuing service holds it
    unanchored (``waiting`` None), or its batch is in a block not yet final."""
    if waiting is None:
        return "accepted by the issuing service, not yet anchored"
    return (
        f"anchored in block {waiting.block_number}, not final until {confirmations} "
        "blocks are on top of it"
    )
