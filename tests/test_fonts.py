"""The registered CJK font subsets exactly as reportlab's own subsetter does.

:mod:`licence_service.documents.fonts` lets reportlab read the glyph table through a view
instead of a copy of the whole table; a licence's embedded font must not change by a byte.
"""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFontFace

from licence_service.documents.fonts import cjk_font_name


def test_subsets_are_byte_identical_to_reportlab_s_own() -> None:
    face = pdfmetrics.getFont(cjk_font_name()).face
    viewing = type(face)
    assert viewing is not TTFontFace  # the view is in use
    # ASCII, the labels of a licence, rare and common hanzi, full-width punctuation
    text = "营业执照统一社会信用代码名称类型住所法定代表人经营范围登记机关龘齉靐（）·，。"
    glyphs = sorted({ord(ch) for ch in text} | set(range(32, 127)) | set(range(0x4E00, 0x9FA5, 97)))
    ours = face.makeSubset(glyphs)
    face.__class__ = TTFontFace
    try:
        theirs = face.makeSubset(glyphs)
    finally:
        face.__class__ = viewing
    assert ours == theirs
    assert len(ours) > 10_000  # a real font with those glyphs, not an empty table
