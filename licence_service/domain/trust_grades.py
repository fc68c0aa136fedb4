"""Trust grades of a licence file and the exact watermark sentence of each grade.

The wording is part of the requirement (see REQUIREMENTS.md, "Trust grades and their
watermark wording"), so it lives here verbatim, in one place, with the ×-placeholders filled
from arguments. The separators are copied character for character from the requirements
text, which uses the ASCII comma ",".
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

__all__ = ["TrustGrade", "chinese_date", "watermark_text"]


class TrustGrade(StrEnum):
    """How much a relying party may trust a licence file."""

    A = "A"
    """Produced by the issuing agency (carries its e-seal)."""
    B = "B"
    """Checked against the original by window staff."""
    C = "C"
    """Uploaded by the user from the original."""
    D = "D"
    """The user vouches for it."""


def chinese_date(value: date) -> str:
    """Format a date the way Chinese documents do, without zero padding: ``2026年3月1日``."""
    return f"{value.year}年{value.month}月{value.day}日"


def watermark_text(
    grade: TrustGrade, issuer_name: str | None = None, valid_until: date | None = None
) -> str:
    """Return the watermark sentence for ``grade``.

    Grade A needs ``issuer_name`` and ``valid_until``; grade B needs ``valid_until``;
    C and D take no arguments (extra ones are ignored).
    """
    grade = TrustGrade(grade)
    if grade is TrustGrade.A:
        if not issuer_name:
            raise ValueError("issuer_name is required for trust grade A watermarks")
        if valid_until is None:
            raise ValueError("valid_until is required for trust grade A watermarks")
        return (
            f"此件由{issuer_name}提供,仅供办理政务服务事项时使用,"
            f"有效期至{chinese_date(valid_until)}"
        )
    if grade is TrustGrade.B:
        if valid_until is None:
            raise ValueError("valid_until is required for trust grade B watermarks")
        return (
            f"此件经与原件核对无误,仅供办理政务服务事项时使用,有效期至{chinese_date(valid_until)}"
        )
    if grade is TrustGrade.C:
        return "此件由本用户按原件上传,请政务服务窗口人员受理时与原件核对"
    return "本用户对此材料的真实性负责"
