"""Trust grades: exact watermark wording; a holder's C/D copy upgraded to B by window staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from licence_service.anchoring.worker import AnchorWorker
from licence_service.domain.errors import ConflictError, InvalidInputError
from licence_service.domain.trust_grades import TrustGrade, watermark_text
from licence_service.region.runtime import Runtime
from licence_service.services.upgrade import submit_copy, upgrade_to_b
from tests.service_fixtures import HOLDER_USCC
from verifier.verdicts import Verdict


def test_watermark_wording_is_exact() -> None:
    until = date(2027, 3, 1)
    assert (
        watermark_text(TrustGrade.A, "杭州市市场监督管理局", until)
        == "此件由杭州市市场监督管理局提供,仅供办理政务服务事项时使用,有效期至2027年3月1日"
    )
    assert (
        watermark_text(TrustGrade.B, valid_until=until)
        == "此件经与原件核对无误,仅供办理政务服务事项时使用,有效期至2027年3月1日"
    )
    assert (
        watermark_text(TrustGrade.C) == "此件由本用户按原件上传,请政务服务窗口人员受理时与原件核对"
    )
    assert watermark_text(TrustGrade.D) == "本用户对此材料的真实性负责"


def scan() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (600, 420), (250, 240, 220)).save(buf, "PNG")
    return buf.getvalue()


def test_submitted_copy_upgraded_to_b(rt: Runtime) -> None:
    sub = submit_copy(rt, scan(), "营业执照", "杭州青禾科技有限公司", HOLDER_USCC, "C")
    data = Path(sub.pdf_path).read_bytes()
    assert data.startswith(b"%PDF")
    # grade C is the holder's word: it is not anchored
    assert rt.verifier().verify_pdf(data).verdict is not Verdict.VALID
    until = datetime.now(UTC).date() + timedelta(days=60)
    b = upgrade_to_b(rt, sub.submission_id, "窗口 张三", until)
    AnchorWorker(rt).flush()
    result = rt.verifier().verify_pdf(Path(b.pdf_path).read_bytes())
    assert result.verdict is Verdict.VALID, result.checks
    assert result.extra["trust_grade"] == "B"
    assert result.extra["attachment"]["made_by"] == "窗口 张三"
    later = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    assert rt.verifier().verify_pdf(Path(b.pdf_path).read_bytes(), later).verdict is Verdict.EXPIRED
    with pytest.raises(ConflictError):
        upgrade_to_b(rt, sub.submission_id, "窗口 李四", until)


def test_bad_submissions_are_refused(rt: Runtime) -> None:
    with pytest.raises(InvalidInputError, match="PNG or JPEG"):
        submit_copy(rt, b"not an image", "营业执照", "x", HOLDER_USCC, "C")
    with pytest.raises(InvalidInputError):
        submit_copy(rt, scan(), "营业执照", "x", HOLDER_USCC, "B")
    with pytest.raises(InvalidInputError) as info:
        submit_copy(rt, scan(), "营业执照", "x", "123", "D")
    assert info.value.field == "holder_id"
