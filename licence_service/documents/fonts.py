"""Locating and registering the CJK font used in licence PDFs.

reportlab's built-in fonts have no Chinese glyphs, and relying on a viewer-side CJK font
would make the rendering depend on the viewer, so a TrueType font is embedded (reportlab
subsets it to the glyphs used). Parsing the font file takes ~0.2 s, hence the cache.

reportlab's subsetter takes a copy of the font's whole glyph table (10 MB for WenQuanYi Zen
Hei) for every document, to slice the few glyphs the document uses out of it: 1.6 ms of the
~23 ms a licence takes to render and sign. The registered font hands it a view instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace

__all__ = ["CJK_FONT_ENV", "KNOWN_CJK_FONTS", "FontNotFoundError", "cjk_font_name", "find_cjk_font"]

CJK_FONT_ENV = "LICLEDGER_CJK_FONT"

KNOWN_CJK_FONTS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
)

_FONT_NAME = "LicLedgerCJK"
_lock = threading.Lock()
_registered: str | None = None


class _GlyphTable:
    """The ``glyf`` table as reportlab's subsetter uses it (one glyph sliced out at a
    time), without copying the whole table first."""

    def __init__(self, data: memoryview) -> None:
        self._data = data

    def __getitem__(self, index: slice) -> bytes:
        return bytes(self._data[index])


class _ViewingFace(TTFontFace):  # type: ignore[misc]
    """A parsed font face whose glyph table is read through a view (see the module text)."""

    def get_table(self, tag: str) -> bytes | _GlyphTable:
        if tag != "glyf":
            return bytes(super().get_table(tag))
        pos, length = self.get_table_pos(tag)
        return _GlyphTable(memoryview(self._ttf_data)[pos : pos + length])


class FontNotFoundError(RuntimeError):
    """No usable CJK TrueType font was found on this machine."""


def find_cjk_font() -> Path:
    """Return the CJK font to use: ``$LICLEDGER_CJK_FONT`` if set, else a known Debian path."""
    override = os.environ.get(CJK_FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise FontNotFoundError(
                f"{CJK_FONT_ENV}={override} does not point to a font file; set it to a "
                "TrueType font with Chinese glyphs (.ttf/.ttc) or unset it."
            )
        return path
    for path in KNOWN_CJK_FONTS:
        if path.is_file():
            return path
    raise FontNotFoundError(
        "no CJK font found (looked in "
        + ", ".join(str(p) for p in KNOWN_CJK_FONTS)
        + "); install one with `apt-get install fonts-wqy-zenhei` or set "
        f"{CJK_FONT_ENV} to the path of a TrueType font with Chinese glyphs."
    )


def cjk_font_name() -> str:
    """Register the CJK font with reportlab once and return its registered name."""
    global _registered
    if _registered is not None:
        return _registered
    with _lock:
        if _registered is None:
            path = find_cjk_font()
            try:
                font = (
                    TTFont(_FONT_NAME, str(path), subfontIndex=0)
                    if path.suffix.lower() == ".ttc"
                    else TTFont(_FONT_NAME, str(path))
                )
            except Exception as exc:  # reportlab raises TTFError and plain errors alike
                raise FontNotFoundError(
                    f"cannot load the CJK font {path} ({exc}); install fonts-wqy-zenhei "
                    f"(apt-get install fonts-wqy-zenhei) or set {CJK_FONT_ENV} to another font."
                ) from exc
            font.face.__class__ = _ViewingFace  # same object, parsed once; see _ViewingFace
            pdfmetrics.registerFont(font)
            _registered = _FONT_NAME
    return _registered
