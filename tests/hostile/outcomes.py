"""Running a hostile shape through one surface and comparing what came back with what the
shape must get; every surface returns the same kind of row, so one table reports them all."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tests.hostile.corpus import ERROR, TOO_LARGE, Outcome, Shape
from verifier.errors import VerificationError
from verifier.verdicts import VerificationResult

# Generous: catches a hang or a quadratic parse, not a slow machine.
TIME_BOUND = 10.0


@dataclass(frozen=True)
class Row:
    shape: Shape
    outcome: Outcome
    seconds: float
    detail: str

    @property
    def ok(self) -> bool:
        return (
            self.outcome in self.shape.expected
            and self.outcome != "VALID"
            and self.seconds < TIME_BOUND
        )

    def __str__(self) -> str:
        mark = "ok " if self.ok else "BAD"
        want = "|".join(sorted(self.shape.expected))
        return (
            f"{mark} {self.shape.name:34} want {want:16} got {self.outcome:14} "
            f"{self.seconds:5.2f}s  {self.detail[:80]}"
        )


def through_verifier(shape: Shape, call: Callable[[], VerificationResult]) -> Row:
    """Only a verdict or a ``VerificationError`` counts; anything else propagates and fails."""
    start = time.monotonic()
    try:
        result = call()
        outcome, detail = str(result.verdict), result.reason
    except VerificationError as exc:
        outcome = TOO_LARGE if "larger than" in str(exc) else ERROR
        detail = str(exc)
    return Row(shape, outcome, time.monotonic() - start, detail)


def report(rows: Sequence[Row]) -> str:
    return "\n".join(str(r) for r in rows)


def assert_all_refused(rows: Sequence[Row]) -> None:
    bad = [r for r in rows if not r.ok]
    assert not bad, "hostile inputs not refused as expected:\n" + report(rows)
    assert all(r.detail.strip() for r in rows), report(rows)  # every refusal says why
