"""Trust grades of a licence file and the exact watermark wording each one carries.

The wording is part of the requirement (REQUIREMENTS.md, "The licence file"): it is copied
character for character, full-width punctuation included.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class TrustGrade(StrEnum):
    A = "A"  # produced by the issuing agency
    B = "B"  # checked against the original by window staff
    C = "C"  # uploaded by the user from the original
    D = "D"  # the user vouches for it


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def watermark_text(
    grade: TrustGrade, issuer_name: str | None = None, valid_until: date | None = None
) -> str:
    """The watermark sentence of ``grade`` with its placeholders filled."""
    if grade in (TrustGrade.A, TrustGrade.B) and valid_until is None:
        raise ValueError(f"valid_until is required for trust grade {grade}")
    if grade is TrustGrade.A:
        if not issuer_name:
            raise ValueError("issuer_name is required for trust grade A")
        assert valid_until is not None
        return f"此件由{issuer_name}提供,仅供办理政务服务事项时使用,有效期至{_cn_date(valid_until)}"
    if grade is TrustGrade.B:
        assert valid_until is not None
        return f"此件经与原件核对无误,仅供办理政务服务事项时使用,有效期至{_cn_date(valid_until)}"
    if grade is TrustGrade.C:
        return "此件由本用户按原件上传,请政务服务窗口人员受理时与原件核对"
    return "本用户对此材料的真实性负责"
