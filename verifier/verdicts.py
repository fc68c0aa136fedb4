"""Verdicts and the checks behind them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    VALID = "VALID"
    TAMPERED = "TAMPERED"
    NOT_ANCHORED = "NOT_ANCHORED"
    PENDING = "PENDING"
    SUPERSEDED = "SUPERSEDED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"
    REPORTED_LOST = "REPORTED_LOST"
    EXPIRED = "EXPIRED"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    # An alarm: the chain holds different documents under one licence version's key from the
    # same agency. Never resolved by picking one: the issuing agency must be contacted.
    CONFLICTING = "CONFLICTING"
    # A holder's presentation code (verifier.presentation) shown after its two minutes: a
    # screenshot or a replay, not the holder's live wallet.
    PRESENTATION_EXPIRED = "PRESENTATION_EXPIRED"
    # A presentation code whose fields are not those of the licence it names.
    PRESENTATION_WRONG_LICENCE = "PRESENTATION_WRONG_LICENCE"


@dataclass(frozen=True)
class Check:
    """One thing the verifier looked at: ``ok`` is None when it could not be checked."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class VerificationResult:
    verdict: Verdict
    reason: str
    checks: list[Check]
    licence_id: str | None = None
    version: int | None = None
    issuer: str | None = None
    issuer_code: str | None = None
    region: int | None = None
    holder_name: str | None = None  # masked: enough to compare with the paper
    type_name: str | None = None
    type_code: str | None = None
    trust_grade: str | None = None
    # What kind of document this is when it is not the agency's original licence, e.g. a
    # grade-B copy checked by window staff; shown beside every verdict.
    document_note: str | None = None
    valid_until: str | None = None
    anchored_at: datetime | None = None
    anchor_tx: str | None = None
    batch_id: int | None = None
    status_since: datetime | None = None
    checked_at: datetime | None = None
    as_of: datetime | None = None  # set for a point-in-time answer: never "current"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VALID

    def to_json(self) -> dict[str, Any]:
        """Built field by field: ``dataclasses.asdict`` deep-copied every string and took a
        fifth of a QR answer's time at a busy counter. Only ``extra`` may nest, so only it is
        copied deeply (a caller may change the answer without touching the result)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["checks"] = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks]
        out["extra"] = copy.deepcopy(self.extra)
        out["verdict"] = str(self.verdict)
        for key in ("anchored_at", "status_since", "checked_at", "as_of"):
            value = getattr(self, key)
            out[key] = value.isoformat() if value else None
        return out
