"""Tests of the licence PDF: watermark wording, fonts, rendering, and the full sign pipeline."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth

from licence_service.documents import fonts
from licence_service.documents.face import (
    LicenceFace,
    RenderOptions,
    render_licence_pdf,
    render_scan_pdf,
    wrap_text,
)
from licence_service.documents.fonts import FontNotFoundError, cjk_font_name, find_cjk_font
from licence_service.domain.trust_grades import TrustGrade, chinese_date, watermark_text
from signing.certificates import KeyAndCert, create_region_ca, issue_agency_certificate
from signing.pades import SignerConfig, sign_pdf
from signing.pdf_metadata import embed_metadata, read_metadata
from signing.validation import validate_pdf_signature

ISSUER = "上海市浦东新区市场监督管理局"

FACE = LicenceFace(
    type_name="营业执照",
    type_code="11100000000013127D001",
    identifier="1.2.156.3005.2.11100000000013127D001.11310115MB2F12345X.000123.001.K",
    holder_name="上海示例科技有限公司",
    holder_id="91310115MA1H8XXX4Q",
    holder_id_type="统一社会信用代码",
    issuer_name=ISSUER,
    issuer_code="11310115MB2F12345X",
    issue_date=date(2026, 3, 1),
    valid_from=date(2026, 3, 1),
    valid_until=date(2046, 2, 28),
    version=1,
    fields=(
        ("类型", "有限责任公司(自然人投资或控股)"),
        ("法定代表人", "张三"),
        ("注册资本", "人民币壹仟万元整"),
        ("住所", "中国(上海)自由贸易试验区张江路 1234 号 5 幢 6 层 601 室"),
        (
            "经营范围",
            "一般项目:技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广;软件开发;"
            "信息系统集成服务;数据处理服务;计算机系统服务;网络技术服务;人工智能应用软件开发;"
            "信息技术咨询服务。(除依法须经批准的项目外,凭营业执照依法自主开展经营活动)",
        ),
    ),
)
QR_PAYLOAD = "https://verify.licledger.example/v1/q/" + "Ab3-_x9Z" * 28


@pytest.fixture(scope="module")
def options() -> RenderOptions:
    return RenderOptions(
        watermark=watermark_text(TrustGrade.A, ISSUER, FACE.valid_until),
        qr_payload=QR_PAYLOAD,
        seal_label=f"{ISSUER}(电子印章)",
    )


@pytest.fixture(scope="module")
def licence_pdf(options: RenderOptions) -> bytes:
    return render_licence_pdf(FACE, options)


@pytest.fixture(scope="module")
def agency() -> KeyAndCert:
    ca = create_region_ca("310000", "上海市电子证照根证书")
    return issue_agency_certificate(ca, FACE.issuer_code, ISSUER, "310000")


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"poppler's {tool} is not installed: run `bash scripts/system-deps.sh` (as root) "
            "or `apt-get install poppler-utils`; the independent PDF checks need it"
        )
    return path


def _run(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        [_poppler(tool), *args, str(path), *([] if tool != "pdftotext" else ["-"])],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout


# ---------------------------------------------------------------- trust grades


def test_watermark_exact_wording() -> None:
    until = date(2026, 3, 1)
    assert (
        watermark_text(TrustGrade.A, "上海市浦东新区市场监督管理局", until)
        == "此件由上海市浦东新区市场监督管理局提供,仅供办理政务服务事项时使用,有效期至2026年3月1日"
    )
    assert (
        watermark_text(TrustGrade.B, valid_until=until)
        == "此件经与原件核对无误,仅供办理政务服务事项时使用,有效期至2026年3月1日"
    )
    assert (
        watermark_text(TrustGrade.C) == "此件由本用户按原件上传,请政务服务窗口人员受理时与原件核对"
    )
    assert watermark_text(TrustGrade.D) == "本用户对此材料的真实性负责"
    assert watermark_text(TrustGrade("D"), "ignored", until) == "本用户对此材料的真实性负责"


def test_watermark_wording_matches_requirements_file() -> None:
    """Against the wording quoted from the requirements, kept in the repository."""
    text = (Path(__file__).parent / "data" / "watermark-wording.md").read_text(encoding="utf-8")
    until = date(2030, 12, 31)
    assert (
        "「"
        + watermark_text(TrustGrade.A, "××机构", until).replace("2030年12月31日", "×年×月×日")
        + "」"
        in text
    )
    assert (
        "「"
        + watermark_text(TrustGrade.B, valid_until=until).replace("2030年12月31日", "×年×月×日")
        + "」"
        in text
    )
    assert "「" + watermark_text(TrustGrade.C) + "」" in text
    assert "「" + watermark_text(TrustGrade.D) + "」" in text


def test_watermark_missing_arguments() -> None:
    with pytest.raises(ValueError, match="issuer_name"):
        watermark_text(TrustGrade.A, valid_until=date(2026, 1, 1))
    with pytest.raises(ValueError, match="valid_until"):
        watermark_text(TrustGrade.A, issuer_name=ISSUER)
    with pytest.raises(ValueError, match="valid_until"):
        watermark_text(TrustGrade.B)


def test_chinese_date_has_no_padding() -> None:
    assert chinese_date(date(2026, 3, 1)) == "2026年3月1日"
    assert chinese_date(date(2031, 12, 31)) == "2031年12月31日"


# ---------------------------------------------------------------- fonts


def test_font_is_registered_once() -> None:
    assert cjk_font_name() == cjk_font_name()
    assert stringWidth("营业执照", cjk_font_name(), 10) > 0


def test_font_env_override_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(fonts.CJK_FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(FontNotFoundError, match=fonts.CJK_FONT_ENV):
        find_cjk_font()


def test_font_not_found_says_how_to_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(fonts.CJK_FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "KNOWN_CJK_FONTS", (tmp_path / "none.ttc",))
    with pytest.raises(FontNotFoundError, match="apt-get install fonts-wqy-zenhei") as info:
        find_cjk_font()
    assert isinstance(info.value, RuntimeError)
    assert fonts.CJK_FONT_ENV in str(info.value)


# ---------------------------------------------------------------- wrapping


def test_wrap_text_respects_width_and_keeps_words() -> None:
    font = cjk_font_name()
    text = "一般项目:技术服务、技术开发 identifier-1.2.156 技术咨询、技术交流" * 3
    lines = wrap_text(text, font, 10, 120)
    assert len(lines) > 3
    assert all(stringWidth(line, font, 10) <= 120 + 10 for line in lines)  # + hanging punct
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert any("identifier-1.2.156" in line for line in lines)
    assert not any(line.startswith((",", "、", "。", ")")) for line in lines)


def test_wrap_text_splits_overlong_tokens() -> None:
    font = cjk_font_name()
    lines = wrap_text("X" * 200, font, 10, 50)
    assert len(lines) > 1 and "".join(lines) == "X" * 200


# ---------------------------------------------------------------- rendering


def test_render_is_a_pdf_with_metadata(licence_pdf: bytes, tmp_path: Path) -> None:
    assert licence_pdf.startswith(b"%PDF-")
    info = _run("pdfinfo", licence_pdf, tmp_path)
    assert f"Title:           {FACE.type_name} {FACE.identifier}" in info
    assert f"Author:          {ISSUER}" in info
    assert "Subject:" in info
    assert "Pages:           1" in info
    assert "595.276 x 841.89 pts (A4)" in info


def test_render_embeds_the_cjk_font(licence_pdf: bytes, tmp_path: Path) -> None:
    output = _run("pdffonts", licence_pdf, tmp_path)
    rows = output.splitlines()[2:]
    assert rows, output
    for row in rows:
        assert " yes yes yes " in row, f"font not embedded/subset/unicode: {row}"
    face_name = pdfmetrics.getFont(cjk_font_name()).face.name
    face_name = face_name.decode() if isinstance(face_name, bytes) else str(face_name)
    assert any(f"+{face_name}" in row for row in rows), output


def test_render_text_content(licence_pdf: bytes, options: RenderOptions, tmp_path: Path) -> None:
    text = _run("pdftotext", licence_pdf, tmp_path, "-raw")
    for expected in (
        FACE.holder_name,
        FACE.holder_id,
        FACE.holder_id_type,
        FACE.identifier,
        "法定代表人 张三",
        "发证日期 2026年3月1日",
        "2026年3月1日 至 2046年2月28日",
        "第1版",
        "扫码核验",
        "电子证照专用章",
        options.watermark,
    ):
        assert expected in text, expected
    # the footer line comes out whole; the rotated bands come out char by char
    assert text.count("此") >= 10, "diagonal watermark bands missing"


def test_render_without_seal_label_and_other_grades() -> None:
    for grade_text in (watermark_text(TrustGrade.C), watermark_text(TrustGrade.D)):
        pdf = render_licence_pdf(FACE, RenderOptions(watermark=grade_text, qr_payload="x"))
        assert pdf.startswith(b"%PDF-")


def test_render_shrinks_many_fields_and_rejects_too_many() -> None:
    many = tuple((f"字段{i}", "内容" * 20) for i in range(20))
    pdf = render_licence_pdf(
        LicenceFace(**{**FACE.__dict__, "fields": many}),
        RenderOptions(watermark="本用户对此材料的真实性负责", qr_payload="x"),
    )
    assert pdf.startswith(b"%PDF-")
    too_many = tuple((f"字段{i}", "内容" * 60) for i in range(60))
    with pytest.raises(ValueError, match="too much text"):
        render_licence_pdf(
            LicenceFace(**{**FACE.__dict__, "fields": too_many}),
            RenderOptions(watermark="本用户对此材料的真实性负责", qr_payload="x"),
        )


def test_render_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="watermark"):
        render_licence_pdf(FACE, RenderOptions(watermark=" ", qr_payload="x"))
    with pytest.raises(ValueError, match="qr_payload"):
        render_licence_pdf(FACE, RenderOptions(watermark="w", qr_payload=""))
    with pytest.raises(ValueError, match="too long"):
        render_licence_pdf(FACE, RenderOptions(watermark="w", qr_payload="x" * 5000))


# ---------------------------------------------------------------- full pipeline


def test_render_embed_sign_validate(licence_pdf: bytes, agency: KeyAndCert, tmp_path: Path) -> None:
    metadata = {"identifier": FACE.identifier, "version": FACE.version, "holder": FACE.holder_name}
    signed = sign_pdf(
        embed_metadata(licence_pdf, metadata), SignerConfig(agency, reason="电子证照签发")
    )
    report = validate_pdf_signature(signed, [agency.chain[0]])
    assert report.ok, report.detail
    assert read_metadata(signed) == metadata

    for row in _run("pdffonts", signed, tmp_path).splitlines()[2:]:
        assert " yes yes yes " in row, row
    assert "Signature is Valid" in _run("pdfsig", signed, tmp_path)

    position = len(signed) // 3
    changed = bytearray(signed)
    changed[position] ^= 0x01
    assert not validate_pdf_signature(bytes(changed), [agency.chain[0]]).ok


# ---------------------------------------------------------------- annotations and scans

ANNOTATION = (
    ("用途", "办理银行开户"),
    ("使用方", "中国工商银行上海分行"),
    ("制作", "张三"),
    ("有效期至", "2026年5月30日"),
)


def _picture(kind: str, size: tuple[int, int] = (600, 420), mode: str = "RGB") -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, 200 if mode != "RGB" else (250, 240, 220)).save(buffer, kind)
    return buffer.getvalue()


def test_annotation_is_stamped(options: RenderOptions, tmp_path: Path) -> None:
    annotated = RenderOptions(
        watermark=options.watermark, qr_payload=options.qr_payload, annotation=ANNOTATION
    )
    text = _run("pdftotext", render_licence_pdf(FACE, annotated), tmp_path, "-raw")
    assert "加注件" in text
    for label, value in ANNOTATION:
        assert f"{label}:{value}" in text
    with pytest.raises(ValueError, match="annotation has too much text"):
        render_licence_pdf(
            FACE,
            RenderOptions(watermark="w", qr_payload="x", annotation=(("用途", "很长" * 400),)),
        )


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_scan_copy(kind: str, tmp_path: Path) -> None:
    watermark = watermark_text(TrustGrade.C)
    pdf = render_scan_pdf(
        _picture(kind),
        "营业执照",
        RenderOptions(watermark=watermark, qr_payload=QR_PAYLOAD, annotation=ANNOTATION[:1]),
        (("持有人", "杭州青禾科技有限公司"), ("信任等级", "C")),
    )
    assert pdf.startswith(b"%PDF-")
    text = _run("pdftotext", pdf, tmp_path, "-raw")
    for expected in ("营业执照", "持有人:杭州青禾科技有限公司", "扫码核验", "用途:办理银行开户"):
        assert expected in text, expected
    assert watermark in text
    for row in _run("pdffonts", pdf, tmp_path).splitlines()[2:]:
        assert " yes yes yes " in row, row


def test_scan_rejects_non_images() -> None:
    options = RenderOptions(watermark="本用户对此材料的真实性负责", qr_payload="x")
    for bad in (b"not an image", b"", _picture("GIF"), _picture("PNG", (10_000, 5_000), "1")):
        with pytest.raises(ValueError, match="PNG or JPEG"):
            render_scan_pdf(bad, "营业执照", options)
