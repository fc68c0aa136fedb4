"""Rendering of the licence face as a fixed-layout A4 PDF (before metadata and signature).

The page carries everything a person at a counter needs without any system: the face data,
the issuer and validity, the trust-grade watermark (diagonal and once as a plain line, whose
wording is a requirement) and a QR code for the offline/online check. The issuer's seal area
is drawn here; the cryptographic seal is the PAdES signature added afterwards by
:mod:`signing.pades`, which is why this module returns unsigned bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from io import BytesIO

import qrcode
from PIL import Image, ImageOps
from qrcode.exceptions import DataOverflowError
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from licence_service.fonts import cjk_font_name
from licence_service.trust_grades import chinese_date

__all__ = ["LicenceFace", "RenderOptions", "render_licence_pdf", "render_scan_pdf", "wrap_text"]


@dataclass(frozen=True)
class LicenceFace:
    """The data printed on the face of one licence version."""

    type_name: str
    type_code: str
    identifier: str
    holder_name: str
    holder_id: str
    holder_id_type: str
    issuer_name: str
    issuer_code: str
    issue_date: date
    valid_from: date
    valid_until: date
    version: int
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RenderOptions:
    """Per-copy rendering choices: watermark sentence, QR content, seal caption, 加注 stamp."""

    watermark: str
    qr_payload: str
    seal_label: str | None = None
    # 加注: purpose, maker, time and expiry stamped on a use-specific copy.
    annotation: tuple[tuple[str, str], ...] = ()


PAGE_WIDTH, PAGE_HEIGHT = A4
_INK = HexColor("#1f1f1f")
_MUTED = HexColor("#5a5a5a")
_FRAME = HexColor("#8c1c13")
_FRAME_LIGHT = HexColor("#c9a227")
_PAPER = HexColor("#fbf8ef")
_SEAL_RED = Color(0.84, 0.08, 0.08, alpha=0.88)
_WATERMARK = Color(0.45, 0.45, 0.45, alpha=0.16)

_OUTER = 10 * mm
_INNER = 13 * mm
_LEFT = 24 * mm
_RIGHT = PAGE_WIDTH - 24 * mm
_LABEL_WIDTH = 40 * mm
_ROWS_TOP = PAGE_HEIGHT - 78 * mm
_ROWS_BOTTOM = 112 * mm
_QR_SIZE = 35 * mm
_QR_X = PAGE_WIDTH - 20 * mm - _QR_SIZE
_QR_Y = 30 * mm
_SEAL_CENTRE = (132 * mm, 84 * mm)
_SEAL_RADIUS = 20 * mm


_NO_LINE_START = frozenset(",。、;:!?)」』》】,.;:!?)")
"""Closing punctuation never starts a line (Chinese 避头 rule); it hangs into the margin."""
_NO_LINE_END = frozenset("(「『《【(")
"""Opening brackets never end a line (避尾 rule); they move to the next line."""


def _is_wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def _tokens(text: str) -> list[str]:
    """Split into breakable units: each CJK character, each Latin word, each space."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if _is_wide(ch) or ch.isspace():
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line wrapping that works for mixed Chinese/Latin text.

    Chinese has no spaces, so every CJK character is a break opportunity; Latin words and
    long identifiers are kept whole unless they are wider than a line on their own.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if stringWidth(candidate, font, size) <= width or (
                token in _NO_LINE_START and line.strip()
            ):
                line = candidate
                continue
            carried = ""
            if len(line) > 1 and line[-1] in _NO_LINE_END:
                line, carried = line[:-1], line[-1]
            if line.strip():
                lines.append(line.rstrip())
            line = carried + ("" if token.isspace() else token)
            while stringWidth(line, font, size) > width and len(line) > 1:
                cut = len(line)
                while cut > 1 and stringWidth(line[:cut], font, size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines


def _rows(face: LicenceFace) -> list[tuple[str, str]]:
    return [("持证主体", face.holder_name), (face.holder_id_type, face.holder_id), *face.fields]


def _draw_paper(c: Canvas) -> None:
    """Background, double frame and corner ornaments, the 'paper licence' look."""
    c.setFillColor(_PAPER)
    c.rect(0, 0, PAGE_WIDTH, PAGE_HEIGHT, stroke=0, fill=1)
    c.setStrokeColor(_FRAME)
    c.setLineWidth(2.2)
    c.rect(_OUTER, _OUTER, PAGE_WIDTH - 2 * _OUTER, PAGE_HEIGHT - 2 * _OUTER)
    c.setStrokeColor(_FRAME_LIGHT)
    c.setLineWidth(0.8)
    c.rect(_INNER, _INNER, PAGE_WIDTH - 2 * _INNER, PAGE_HEIGHT - 2 * _INNER)
    c.setFillColor(_FRAME)
    size = 4 * mm
    for x, y in (
        (_INNER, _INNER),
        (PAGE_WIDTH - _INNER, _INNER),
        (_INNER, PAGE_HEIGHT - _INNER),
        (PAGE_WIDTH - _INNER, PAGE_HEIGHT - _INNER),
    ):
        path = c.beginPath()
        path.moveTo(x, y - size / 2)
        path.lineTo(x + size / 2, y)
        path.lineTo(x, y + size / 2)
        path.lineTo(x - size / 2, y)
        path.close()
        c.drawPath(path, stroke=0, fill=1)
    # a faint rosette behind the face data, as on printed certificates
    c.setStrokeColor(Color(0.79, 0.64, 0.15, alpha=0.18))
    c.setLineWidth(0.4)
    cx, cy = PAGE_WIDTH / 2, PAGE_HEIGHT / 2 + 10 * mm
    for i in range(12):
        c.saveState()
        c.translate(cx, cy)
        c.rotate(i * 15)
        c.ellipse(-60 * mm, -22 * mm, 60 * mm, 22 * mm)
        c.restoreState()


def _draw_header(c: Canvas, face: LicenceFace, font: str) -> None:
    title_size = 30.0
    spacing = 12.0 if len(face.type_name) <= 6 else 2.0
    while (
        stringWidth(face.type_name, font, title_size) + spacing * len(face.type_name)
        > _RIGHT - _LEFT
        and title_size > 14
    ):
        title_size -= 1
    c.setFillColor(_FRAME)
    c.setFont(font, title_size)
    c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 45 * mm, face.type_name, charSpace=spacing)
    c.setFillColor(_MUTED)
    c.setFont(font, 9)
    c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 56 * mm, f"证照标识:{face.identifier}")
    c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 61 * mm, f"证照类型代码:{face.type_code}")
    c.setStrokeColor(_FRAME_LIGHT)
    c.setLineWidth(1)
    c.line(_LEFT, PAGE_HEIGHT - 66 * mm, _RIGHT, PAGE_HEIGHT - 66 * mm)


def _layout_rows(
    rows: list[tuple[str, str]], font: str
) -> tuple[float, float, list[tuple[list[str], list[str]]]]:
    """Pick the largest font size at which all rows fit between the header and the footer."""
    value_width = _RIGHT - _LEFT - _LABEL_WIDTH
    size = 12.0
    while True:
        leading = size * 1.5
        wrapped = [
            (
                wrap_text(label, font, size, _LABEL_WIDTH - 3 * mm),
                wrap_text(value, font, size, value_width),
            )
            for label, value in rows
        ]
        height = sum(max(len(lab), len(val)) * leading + size * 0.4 for lab, val in wrapped)
        if height <= _ROWS_TOP - _ROWS_BOTTOM or size <= 7:
            if height > _ROWS_TOP - _ROWS_BOTTOM:
                raise ValueError(
                    f"the licence face has too much text ({len(rows)} rows) to fit on one A4 "
                    "page; shorten the field values or move them to an attachment."
                )
            return size, leading, wrapped
        size -= 0.5


def _draw_rows(c: Canvas, face: LicenceFace, font: str) -> None:
    size, leading, wrapped = _layout_rows(_rows(face), font)
    y = _ROWS_TOP
    for label_lines, value_lines in wrapped:
        c.setFillColor(_MUTED)
        c.setFont(font, size)
        for i, line in enumerate(label_lines):
            c.drawString(_LEFT, y - i * leading, line)
        c.setFillColor(_INK)
        for i, line in enumerate(value_lines):
            c.drawString(_LEFT + _LABEL_WIDTH, y - i * leading, line)
        y -= max(len(label_lines), len(value_lines)) * leading + size * 0.4


def _draw_issuer_block(c: Canvas, face: LicenceFace, font: str) -> None:
    rows = [
        ("发证机关", face.issuer_name),
        ("发证日期", chinese_date(face.issue_date)),
        ("有效期限", f"{chinese_date(face.valid_from)} 至 {chinese_date(face.valid_until)}"),
        ("版本", f"第{face.version}版"),
    ]
    size = 11.0
    value_width = _QR_X - 6 * mm - (_LEFT + 24 * mm)
    y = 100 * mm
    for label, value in rows:
        c.setFillColor(_MUTED)
        c.setFont(font, size)
        c.drawString(_LEFT, y, label)
        c.setFillColor(_INK)
        lines = wrap_text(value, font, size, value_width)
        for i, line in enumerate(lines):
            c.drawString(_LEFT + 24 * mm, y - i * size * 1.3, line)
        y -= len(lines) * size * 1.3 + 3.5 * mm


def _star(c: Canvas, cx: float, cy: float, radius: float) -> None:
    path = c.beginPath()
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        angle = math.pi / 2 + i * math.pi / 5
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        if i == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


def _draw_seal(c: Canvas, face: LicenceFace, options: RenderOptions, font: str) -> None:
    """A round red seal: issuer name on the upper arc, a star, '电子证照专用章' below."""
    cx, cy = _SEAL_CENTRE
    c.saveState()
    c.setStrokeColor(_SEAL_RED)
    c.setFillColor(_SEAL_RED)
    c.setLineWidth(2.4)
    c.circle(cx, cy, _SEAL_RADIUS, stroke=1, fill=0)
    c.setLineWidth(0.6)
    c.circle(cx, cy, _SEAL_RADIUS - 1.6 * mm, stroke=1, fill=0)
    _star(c, cx, cy, 5.5 * mm)
    name = face.issuer_name
    char_size = min(10.0, max(5.5, 2 * math.pi * _SEAL_RADIUS * 0.62 / max(len(name), 1)))
    span = min(250.0, len(name) * math.degrees(char_size * 1.08 / (_SEAL_RADIUS - 5 * mm)))
    arc_radius = _SEAL_RADIUS - 2.4 * mm - char_size
    c.setFont(font, char_size)
    for i, ch in enumerate(name):
        step = span / (len(name) - 1) if len(name) > 1 else 0.0
        angle = 90 + span / 2 - i * step
        rad = math.radians(angle)
        c.saveState()
        c.translate(cx + arc_radius * math.cos(rad), cy + arc_radius * math.sin(rad))
        c.rotate(angle - 90)
        c.drawCentredString(0, 0, ch)
        c.restoreState()
    c.setFont(font, 6.5)
    c.drawCentredString(cx, cy - 11 * mm, "电子证照专用章")
    c.restoreState()
    if options.seal_label:
        c.setFillColor(_MUTED)
        c.setFont(font, 8)
        label_width = 2 * (_QR_X - 3 * mm - cx)
        for i, line in enumerate(wrap_text(options.seal_label, font, 8, label_width)):
            c.drawCentredString(cx, cy - _SEAL_RADIUS - 5 * mm - i * 10, line)


def _qr_matrix(payload: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload.encode("utf-8"))
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as exc:  # qrcode raises either when too long
        raise ValueError(
            f"the QR payload is too long ({len(payload)} characters) for a QR code; "
            "shorten the URL or the signed data in it."
        ) from exc
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def _draw_qr(c: Canvas, payload: str, font: str) -> None:
    """Draw the QR code as merged module runs (fast, crisp at any zoom) with a caption."""
    matrix = _qr_matrix(payload)
    modules = len(matrix)
    quiet = 2 * mm
    c.setFillColor(white)
    c.rect(_QR_X - quiet, _QR_Y - quiet, _QR_SIZE + 2 * quiet, _QR_SIZE + 2 * quiet, 0, 1)
    cell = _QR_SIZE / modules
    c.setFillColor(HexColor("#000000"))
    path = c.beginPath()
    for row_index, row in enumerate(matrix):
        y = _QR_Y + _QR_SIZE - (row_index + 1) * cell
        col = 0
        while col < modules:
            if not row[col]:
                col += 1
                continue
            start = col
            while col < modules and row[col]:
                col += 1
            path.rect(_QR_X + start * cell, y, (col - start) * cell, cell)
    c.drawPath(path, stroke=0, fill=1)
    c.setFillColor(_INK)
    c.setFont(font, 9)
    c.drawCentredString(_QR_X + _QR_SIZE / 2, _QR_Y - quiet - 4 * mm, "扫码核验")


def _draw_watermark(c: Canvas, text: str, font: str) -> None:
    """Repeat the sentence diagonally over the whole page, then once as a plain footer line."""
    c.saveState()
    c.setFillColor(_WATERMARK)
    size = 13.0
    c.setFont(font, size)
    gap = "    "
    band = (text + gap) * 3
    band_width = stringWidth(band, font, size)
    c.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    c.rotate(35)
    diagonal = math.hypot(PAGE_WIDTH, PAGE_HEIGHT)
    row = -diagonal / 2
    offset = 0.0
    while row <= diagonal / 2:
        c.drawString(-band_width / 2 + offset, row, band)
        row += 30 * mm
        offset = (offset + 40 * mm) % (band_width / 3)
    c.restoreState()

    size = 8.5
    width = PAGE_WIDTH - 2 * _INNER - 8 * mm
    lines = wrap_text(text, font, size, width)
    c.setFillColor(_MUTED)
    c.setFont(font, size)
    y = _INNER + 4 * mm + (len(lines) - 1) * size * 1.3
    for line in lines:
        c.drawCentredString(PAGE_WIDTH / 2, y, line)
        y -= size * 1.3


_ANNOTATION_BOX = (_LEFT, 24 * mm, 84 * mm, 46 * mm)
"""x, y, width, height of the 加注 stamp: bottom left, clear of the issuer block, seal and QR."""


def _draw_annotation(c: Canvas, rows: tuple[tuple[str, str], ...], font: str) -> None:
    """The 加注 stamp of a use-specific or checked copy: a red box at the bottom left.

    The box has a fixed place so it never covers the title or the face data; long
    annotations shrink the type (down to 6 pt) rather than overflow the box.
    """
    if not rows:
        return
    x, y0, width, max_height = _ANNOTATION_BOX
    heading = "加注件 · 仅限下列用途使用"
    size = 8.5
    while True:
        wrapped = [
            part
            for label, value in rows
            for part in wrap_text(f"{label}:{value}", font, size, width - 6 * mm)
        ]
        height = (len(wrapped) + 1) * size * 1.35 + 5 * mm
        if height <= max_height or size <= 6:
            break
        size -= 0.5
    if height > max_height:
        raise ValueError(
            f"the annotation has too much text ({len(rows)} entries) for its box; "
            "shorten the purpose or recipient."
        )
    top = y0 + max_height
    c.saveState()
    c.setStrokeColor(_SEAL_RED)
    c.setFillColor(_SEAL_RED)
    c.setLineWidth(1.2)
    c.rect(x, top - height, width, height, stroke=1, fill=0)
    c.setFont(font, size + 1.5)
    y = top - 3 * mm - size
    c.drawString(x + 3 * mm, y, heading)
    c.setFont(font, size)
    for line in wrapped:
        y -= size * 1.35
        c.drawString(x + 3 * mm, y, line)
    c.restoreState()


def render_licence_pdf(face: LicenceFace, options: RenderOptions) -> bytes:
    """Render ``face`` as a one-page A4 PDF with the CJK font embedded (subset)."""
    if not options.watermark.strip():
        raise ValueError("options.watermark is empty; every licence file must carry its watermark")
    if not options.qr_payload:
        raise ValueError("options.qr_payload is empty; pass the text to encode in the QR code")
    font = cjk_font_name()
    buffer = BytesIO()
    # initialFontName avoids a stray non-embedded Helvetica reference in the page stream
    c = Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=font)
    c.setTitle(f"{face.type_name} {face.identifier}")
    c.setAuthor(face.issuer_name)
    c.setSubject(f"电子证照 {face.type_name}(类型代码 {face.type_code},第{face.version}版)")
    c.setKeywords(face.identifier)
    c.setCreator("Licence Ledger")
    _draw_paper(c)
    _draw_header(c, face, font)
    _draw_rows(c, face, font)
    _draw_issuer_block(c, face, font)
    _draw_seal(c, face, options, font)
    _draw_qr(c, options.qr_payload, font)
    _draw_annotation(c, options.annotation, font)
    _draw_watermark(c, options.watermark, font)
    c.showPage()
    c.save()
    return buffer.getvalue()


_MAX_SCAN_PIXELS = 40_000_000
_SCAN_LONG_SIDE = 2400


def _scan_image(image: bytes) -> tuple[ImageReader, int, int]:
    """Decode an uploaded PNG/JPEG safely and return it re-encoded as JPEG for embedding.

    Re-encoding strips metadata (EXIF location etc.), applies the EXIF rotation, bounds the
    size of the PDF and lets reportlab embed the JPEG as is, which is much faster than
    re-compressing raw pixels.
    """
    try:
        with Image.open(BytesIO(image)) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in ("PNG", "JPEG"):
                raise ValueError(f"format {kind}")
            if width * height > _MAX_SCAN_PIXELS:
                raise ValueError(f"{width}x{height} pixels")
            probe.load()
            picture = ImageOps.exif_transpose(probe).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(
            f"the uploaded file is not a readable PNG or JPEG image of at most "
            f"{_MAX_SCAN_PIXELS // 1_000_000} megapixels ({exc}); upload a photo or scan "
            "of the licence as PNG or JPEG."
        ) from exc
    picture.thumbnail((_SCAN_LONG_SIDE, _SCAN_LONG_SIDE))
    encoded = BytesIO()
    picture.save(encoded, "JPEG", quality=85)
    encoded.seek(0)
    return ImageReader(encoded), picture.width, picture.height


def render_scan_pdf(
    image: bytes, title: str, options: RenderOptions, lines: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """A copy submitted as a picture of the original (grades B–D).

    The page shows what the picture claims to be (``title``, ``lines``), the picture itself,
    the 加注 stamp if any, the QR code, and the grade's watermark drawn *over* the picture so
    it cannot be cropped off without leaving traces. A plain frame, not the licence's
    ornamental one: this is a user's copy, not an issued licence.
    """
    if not options.watermark.strip():
        raise ValueError("options.watermark is empty; every copy must carry its watermark")
    if not options.qr_payload:
        raise ValueError("options.qr_payload is empty; pass the text to encode in the QR code")
    picture, width, height = _scan_image(image)
    font = cjk_font_name()
    buffer = BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=font)
    c.setTitle(title)
    c.setSubject("持证人提交的证照图像副本")
    c.setCreator("Licence Ledger")
    c.setStrokeColor(_MUTED)
    c.setLineWidth(0.8)
    c.rect(_INNER, _INNER, PAGE_WIDTH - 2 * _INNER, PAGE_HEIGHT - 2 * _INNER)

    c.setFillColor(_INK)
    title_size = 20.0
    while stringWidth(title, font, title_size) > _RIGHT - _LEFT and title_size > 10:
        title_size -= 1
    c.setFont(font, title_size)
    c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 30 * mm, title)
    size = 10.0
    y = PAGE_HEIGHT - 42 * mm
    for label, value in lines:
        for i, line in enumerate(wrap_text(f"{label}:{value}", font, size, _RIGHT - _LEFT)):
            c.setFillColor(_MUTED if i == 0 else _INK)
            c.setFont(font, size)
            c.drawString(_LEFT, y, line)
            y -= size * 1.45

    box_top, box_bottom = y - 3 * mm, 74 * mm
    box_width, box_height = _RIGHT - _LEFT, box_top - box_bottom
    if box_height < 40 * mm:
        raise ValueError("too many description lines leave no room for the image; shorten them")
    scale = min(box_width / width, box_height / height)
    w, h = width * scale, height * scale
    c.drawImage(picture, _LEFT + (box_width - w) / 2, box_bottom + (box_height - h) / 2, w, h)
    c.setStrokeColor(_MUTED)
    c.setLineWidth(0.4)
    c.rect(_LEFT + (box_width - w) / 2, box_bottom + (box_height - h) / 2, w, h)

    _draw_annotation(c, options.annotation, font)
    _draw_qr(c, options.qr_payload, font)
    _draw_watermark(c, options.watermark, font)
    c.showPage()
    c.save()
    return buffer.getvalue()
