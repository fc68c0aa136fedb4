"""What both printed pages share: page geometry and colours, line breaking for Chinese text,
and the parts drawn on every copy (QR code, 加注 stamp, trust-grade watermark)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from licence_service.documents.fonts import font_runs, in_main_font
from licence_service.documents.qr_encode import qr_matrix
from licence_service.domain.errors import FaceTextError

__all__ = [
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "RenderOptions",
    "draw_annotation",
    "draw_qr",
    "draw_text",
    "draw_watermark",
    "text_width",
    "wrap_text",
]


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


def text_width(text: str, font: str, size: float) -> float:
    """The width of ``text`` as :func:`draw_text` draws it: each run in its own font."""
    if in_main_font(text):
        return float(stringWidth(text, font, size))
    return float(sum(stringWidth(run, name, size) for name, run in font_runs(text)))


def draw_text(c: Canvas, x: float, y: float, text: str, centred: bool = False) -> None:
    """``drawString`` (or ``drawCentredString``) in the canvas's current font and size, with
    each character the main font lacks drawn in the first fallback font that has it."""
    if in_main_font(text):
        (c.drawCentredString if centred else c.drawString)(x, y, text)
        return
    font, size = c._fontname, c._fontsize
    runs = font_runs(text)
    if centred:
        x -= sum(stringWidth(run, name, size) for name, run in runs) / 2
    for name, run in runs:
        c.setFont(name, size)
        c.drawString(x, y, run)
        x += stringWidth(run, name, size)
    c.setFont(font, size)


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line wrapping that works for mixed Chinese/Latin text.

    Chinese has no spaces, so every CJK character is a break opportunity; Latin words and
    long identifiers are kept whole unless they are wider than a line on their own. A text
    with characters of the fallback fonts is measured run by run (:func:`text_width`).
    """
    measure = stringWidth if in_main_font(text) else text_width
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if measure(candidate, font, size) <= width or (
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
            while measure(line, font, size) > width and len(line) > 1:
                cut = len(line)
                while cut > 1 and measure(line[:cut], font, size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines


_RUN = re.compile(rb"\x01+")


def qr_path_operators(matrix: list[bytearray], x0: float, y0: float, size: float) -> str:
    """The QR modules filled as merged horizontal runs, in PDF operators written directly:
    a few hundred runs through reportlab's path objects cost more than the rest of the page.
    The grid is mapped onto the page by one ``cm`` (one unit a module, rows downwards), so
    each run is four small integers instead of four formatted coordinates."""
    cell = size / len(matrix)
    ops = [f"q {cell:.5f} 0 0 {-cell:.5f} {x0:.3f} {y0 + size:.3f} cm"]
    for row_index, row in enumerate(matrix):
        for run in _RUN.finditer(row):
            start, end = run.span()
            ops.append(f"{start} {row_index} {end - start} 1 re")
    ops.append("f Q")
    return "\n".join(ops)


def draw_qr(c: Canvas, payload: str, font: str) -> None:
    """Draw the QR code as merged module runs (fast, crisp at any zoom) with a caption."""
    matrix = qr_matrix(payload.encode("utf-8"))
    quiet = 2 * mm
    c.setFillColor(white)
    c.rect(_QR_X - quiet, _QR_Y - quiet, _QR_SIZE + 2 * quiet, _QR_SIZE + 2 * quiet, 0, 1)
    c.setFillColor(HexColor("#000000"))
    # raw operators into the page stream (what Canvas.drawPath emits, without the overhead)
    c._code.append(qr_path_operators(matrix, _QR_X, _QR_Y, _QR_SIZE))
    c.setFillColor(_INK)
    c.setFont(font, 9)
    c.drawCentredString(_QR_X + _QR_SIZE / 2, _QR_Y - quiet - 4 * mm, "扫码核验")


def draw_watermark(c: Canvas, text: str, font: str) -> None:
    """Repeat the sentence diagonally over the whole page, then once as a plain footer line."""
    c.saveState()
    c.setFillColor(_WATERMARK)
    size = 13.0
    c.setFont(font, size)
    gap = "    "
    band = (text + gap) * 3
    band_width = text_width(band, font, size)
    c.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    c.rotate(35)
    diagonal = math.hypot(PAGE_WIDTH, PAGE_HEIGHT)
    row = -diagonal / 2
    offset = 0.0
    while row <= diagonal / 2:
        draw_text(c, -band_width / 2 + offset, row, band)
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
        draw_text(c, PAGE_WIDTH / 2, y, line, centred=True)
        y -= size * 1.3


_ANNOTATION_BOX = (_LEFT, 24 * mm, 84 * mm, 46 * mm)
"""x, y, width, height of the 加注 stamp: bottom left, clear of the issuer block, seal and QR."""


def draw_annotation(c: Canvas, rows: tuple[tuple[str, str], ...], font: str) -> None:
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
        raise FaceTextError(
            f"the annotation has too much text ({len(rows)} entries) for its box; "
            "shorten the purpose or recipient.",
            field="purpose",
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
        draw_text(c, x + 3 * mm, y, line)
    c.restoreState()
