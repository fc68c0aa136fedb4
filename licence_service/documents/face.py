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

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from licence_service.documents.fonts import cjk_font_name
from licence_service.documents.layout import (
    _FRAME,
    _FRAME_LIGHT,
    _INK,
    _INNER,
    _LABEL_WIDTH,
    _LEFT,
    _MUTED,
    _OUTER,
    _PAPER,
    _QR_X,
    _RIGHT,
    _ROWS_BOTTOM,
    _ROWS_TOP,
    _SEAL_CENTRE,
    _SEAL_RADIUS,
    _SEAL_RED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RenderOptions,
    draw_annotation,
    draw_qr,
    draw_text,
    draw_watermark,
    wrap_text,
)
from licence_service.documents.scan import render_scan_pdf
from licence_service.domain.errors import FaceTextError
from licence_service.domain.trust_grades import chinese_date

__all__ = [
    "LicenceFace",
    "RenderOptions",
    "check_face_rows",
    "render_licence_pdf",
    "render_scan_pdf",
    "wrap_text",
]


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


HOLDER_LABEL = "持证主体"


def _rows(face: LicenceFace) -> list[tuple[str, str]]:
    return [(HOLDER_LABEL, face.holder_name), (face.holder_id_type, face.holder_id), *face.fields]


def check_face_rows(rows: list[tuple[str, str]]) -> None:
    """Raise ``FaceTextError`` if these face rows (label, value) cannot be laid out on the
    page: the check the use cases make before anything is signed, with the message a
    rendering would raise."""
    _layout_rows(rows, cjk_font_name())


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
                label, _value = max(rows, key=lambda row: len(row[1]))
                raise FaceTextError(
                    f"the licence face has too much text ({len(rows)} rows, the longest "
                    f"{label}) to fit on one A4 page; shorten the field values or move them "
                    "to an attachment.",
                    field="holder_name" if label == HOLDER_LABEL else label,
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
            draw_text(c, _LEFT, y - i * leading, line)
        c.setFillColor(_INK)
        for i, line in enumerate(value_lines):
            draw_text(c, _LEFT + _LABEL_WIDTH, y - i * leading, line)
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
            draw_text(c, _LEFT + 24 * mm, y - i * size * 1.3, line)
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
        draw_text(c, 0, 0, ch, centred=True)
        c.restoreState()
    c.setFont(font, 6.5)
    c.drawCentredString(cx, cy - 11 * mm, "电子证照专用章")
    c.restoreState()
    if options.seal_label:
        c.setFillColor(_MUTED)
        c.setFont(font, 8)
        label_width = 2 * (_QR_X - 3 * mm - cx)
        for i, line in enumerate(wrap_text(options.seal_label, font, 8, label_width)):
            draw_text(c, cx, cy - _SEAL_RADIUS - 5 * mm - i * 10, line, centred=True)


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
    draw_qr(c, options.qr_payload, font)
    draw_annotation(c, options.annotation, font)
    draw_watermark(c, options.watermark, font)
    c.showPage()
    c.save()
    return buffer.getvalue()
