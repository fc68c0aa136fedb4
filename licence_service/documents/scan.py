"""A copy submitted as a picture of the original (grades B-D), as a printable PDF."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageOps
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from licence_service.documents.fonts import cjk_font_name
from licence_service.documents.layout import (
    _INK,
    _INNER,
    _LEFT,
    _MUTED,
    _RIGHT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RenderOptions,
    draw_annotation,
    draw_qr,
    draw_text,
    draw_watermark,
    text_width,
    wrap_text,
)

__all__ = ["render_scan_pdf"]


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
    while text_width(title, font, title_size) > _RIGHT - _LEFT and title_size > 10:
        title_size -= 1
    c.setFont(font, title_size)
    draw_text(c, PAGE_WIDTH / 2, PAGE_HEIGHT - 30 * mm, title, centred=True)
    size = 10.0
    y = PAGE_HEIGHT - 42 * mm
    for label, value in lines:
        for i, line in enumerate(wrap_text(f"{label}:{value}", font, size, _RIGHT - _LEFT)):
            c.setFillColor(_MUTED if i == 0 else _INK)
            c.setFont(font, size)
            draw_text(c, _LEFT, y, line)
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

    draw_annotation(c, options.annotation, font)
    draw_qr(c, options.qr_payload, font)
    draw_watermark(c, options.watermark, font)
    c.showPage()
    c.save()
    return buffer.getvalue()
