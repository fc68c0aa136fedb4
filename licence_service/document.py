"""Rendering a licence as an A4 PDF: face data, watermark, seal area and QR code.

The result is unsigned; the caller embeds the metadata and signs it (watermark first, then
sign, so any later change shows as tampered).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from licence_service.fonts import cjk_font_name


@dataclass(frozen=True)
class LicenceFace:
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
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RenderOptions:
    watermark: str
    qr_payload: str
    seal_label: str | None = None


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrap by character (CJK text has no spaces to break at)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if stringWidth(current + ch, font, size) > width and current:
            lines.append(current)
            current = ch
        else:
            current += ch
    return [*lines, current] if current else lines or [""]


def _watermark(c: Canvas, font: str, text: str) -> None:
    width, height = A4
    c.saveState()
    c.setFillColor(colors.Color(0.55, 0.55, 0.6, alpha=0.18))
    c.setFont(font, 13)
    c.translate(width / 2, height / 2)
    c.rotate(35)
    for row in range(-7, 8):
        c.drawCentredString(0, row * 22 * mm, text)
    c.restoreState()


def _qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(payload, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def _seal(c: Canvas, font: str, x: float, y: float, label: str | None) -> None:
    c.saveState()
    c.setStrokeColor(colors.Color(0.8, 0.1, 0.1))
    c.setFillColor(colors.Color(0.8, 0.1, 0.1))
    c.setLineWidth(2)
    c.circle(x, y, 19 * mm, stroke=1, fill=0)
    c.setFont(font, 9)
    c.drawCentredString(x, y + 2, "★")
    c.drawCentredString(x, y - 8 * mm, "电子印章")
    if label:
        c.setFont(font, 7)
        c.drawCentredString(x, y - 23 * mm, label)
    c.restoreState()


def render_licence_pdf(face: LicenceFace, options: RenderOptions) -> bytes:
    """The unsigned licence PDF, with the CJK font subset embedded."""
    font = cjk_font_name()
    buf = BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"{face.type_name} {face.identifier}")
    c.setAuthor(face.issuer_name)
    c.setSubject(f"{face.type_name}（电子证照）")
    c.setCreator("Licence Ledger")
    width, height = A4

    # border
    c.setStrokeColor(colors.Color(0.6, 0.45, 0.15))
    c.setLineWidth(3)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setLineWidth(0.8)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)

    _watermark(c, font, options.watermark)

    c.setFillColor(colors.black)
    c.setFont(font, 30)
    c.drawCentredString(width / 2, height - 45 * mm, face.type_name)
    c.setFont(font, 9)
    c.drawCentredString(width / 2, height - 53 * mm, f"证照标识 {face.identifier}")

    label_x, value_x, text_w = 28 * mm, 68 * mm, width - 68 * mm - 28 * mm
    y = height - 72 * mm
    rows: list[tuple[str, str]] = [
        ("名称" if "统一社会信用代码" in face.holder_id_type else "姓名", face.holder_name),
        (face.holder_id_type, face.holder_id),
        *face.fields,
        ("有效期限", f"{cn_date(face.valid_from)} 至 {cn_date(face.valid_until)}"),
        ("版本", f"{face.version:03d}"),
    ]
    for label, value in rows:
        c.setFont(font, 11)
        c.setFillColor(colors.Color(0.3, 0.3, 0.3))
        c.drawString(label_x, y, label)
        c.setFillColor(colors.black)
        c.setFont(font, 12)
        for line in _wrap(value, font, 12, text_w):
            c.drawString(value_x, y, line)
            y -= 7 * mm
        y -= 2 * mm

    # issuer, date, seal
    c.setFont(font, 12)
    c.drawRightString(width - 30 * mm, 78 * mm, f"发证机关：{face.issuer_name}")
    c.drawRightString(width - 30 * mm, 70 * mm, cn_date(face.issue_date))
    _seal(c, font, width - 60 * mm, 88 * mm, options.seal_label)

    _qr(c, options.qr_payload, 28 * mm, 30 * mm, 36 * mm)
    c.setFont(font, 8)
    c.drawCentredString(46 * mm, 26 * mm, "扫码核验")

    c.setFont(font, 8)
    c.setFillColor(colors.Color(0.35, 0.35, 0.35))
    for i, line in enumerate(_wrap(options.watermark, font, 8, width - 90 * mm)):
        c.drawString(70 * mm, 40 * mm - i * 4 * mm, line)
    c.showPage()
    c.save()
    return buf.getvalue()
