"""Locating and registering the CJK font used in licence PDFs.

reportlab's built-in fonts have no Chinese glyphs, and relying on a viewer-side CJK font
would make the rendering depend on the viewer, so a TrueType font is embedded (reportlab
subsets it to the glyphs used). Parsing the font file takes ~0.2 s, hence the cache.

reportlab's subsetter takes a copy of the font's whole glyph table (10 MB for WenQuanYi Zen
Hei) for every document, to slice the few glyphs the document uses out of it: 1.6 ms of the
~23 ms a licence takes to render and sign. The registered font hands it a view instead.

The main font covers the BMP's CJK characters, not the rarer ones of real names (CJK
Extension B and later, four bytes in GB 18030), so a chain of fallback fonts follows it
(:data:`FALLBACK_FONTS`): each character is drawn with the first font of the chain that has
its glyph, and a character none has is refused (:func:`undrawable`), never printed blank.
The fallbacks are parsed only when a text needs one: an all-BMP face costs one set lookup
per character more than before.
"""

from __future__ import annotations

import functools
import os
import threading
import unicodedata
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace

from licence_service.domain.errors import FaceTextError
from licence_service.domain.printable import describe, is_printable, unprintable

__all__ = [
    "CJK_FONT_ENV",
    "FALLBACK_FONTS",
    "KNOWN_CJK_FONTS",
    "FontNotFoundError",
    "cjk_font_name",
    "find_cjk_font",
    "font_runs",
    "in_main_font",
    "undrawable",
]

CJK_FONT_ENV = "LICLEDGER_CJK_FONT"

KNOWN_CJK_FONTS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
)

FALLBACK_FONTS: tuple[Path, ...] = (
    # fonts-hanazono: every character of CJK Extensions B, C, D, E and F
    Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"),
    Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
    # fonts-babelstone-han: Extension G and H (in part), Extension A's remainder
    Path("/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf"),
    # fonts-dejavu-core: Latin, Greek, Cyrillic with their combining marks, symbols
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
"""Fonts tried, in order, for a character the main CJK font lacks (TrueType outlines:
reportlab embeds only ``glyf`` fonts). Those not installed are skipped."""

_FONT_NAME = "LicLedgerCJK"
_lock = threading.Lock()
_registered: str | None = None
_main_cmap: dict[int, int] = {}
_main_chars: frozenset[str] = frozenset()
_fallbacks: list[tuple[str, dict[int, int]]] | None = None


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


_reportlab_to_unicode = ttfonts.makeToUnicodeCMap


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, correct for characters beyond the BMP too.

    reportlab writes each character's code point as ``<%04X>``: five hex digits for U+20000,
    which a PDF reader takes for U+2000 followed by garbage, so the text of a name with a
    CJK Extension B character no longer reads back (copy, search, screen readers). A CMap
    gives the UTF-16BE code units, a surrogate pair there. A subset of BMP characters only
    is reportlab's own text, byte for byte."""
    text = _reportlab_to_unicode(fontname, subset)
    if all(code <= 0xFFFF for code in subset):
        return str(text)
    for i, code in enumerate(subset):
        if code > 0xFFFF:
            utf16 = chr(code).encode("utf-16-be").hex().upper()
            text = text.replace(f"\n<{i:02X}> <{code:04X}>\n", f"\n<{i:02X}> <{utf16}>\n")
    return str(text)


ttfonts.makeToUnicodeCMap = _to_unicode_cmap


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


def _load(name: str, path: Path) -> TTFont:
    """Parse ``path`` (the first face of a collection) and register it as ``name``."""
    font = (
        TTFont(name, str(path), subfontIndex=0)
        if path.suffix.lower() == ".ttc"
        else TTFont(name, str(path))
    )
    font.face.__class__ = _ViewingFace  # same object, parsed once; see _ViewingFace
    pdfmetrics.registerFont(font)
    return font


def cjk_font_name() -> str:
    """Register the CJK font with reportlab once and return its registered name."""
    global _registered, _main_chars
    if _registered is not None:
        return _registered
    with _lock:
        if _registered is None:
            path = find_cjk_font()
            try:
                font = _load(_FONT_NAME, path)
            except Exception as exc:  # reportlab raises TTFError and plain errors alike
                raise FontNotFoundError(
                    f"cannot load the CJK font {path} ({exc}); install fonts-wqy-zenhei "
                    f"(apt-get install fonts-wqy-zenhei) or set {CJK_FONT_ENV} to another font."
                ) from exc
            _main_cmap.update(font.face.charToGlyph)
            _main_chars = frozenset(filter(is_printable, map(chr, _main_cmap)))
            _registered = _FONT_NAME
    return _registered


def _fallback_fonts() -> list[tuple[str, dict[int, int]]]:
    """The installed fallback fonts, registered on first use: (name, character map)."""
    global _fallbacks
    if _fallbacks is not None:
        return _fallbacks
    cjk_font_name()
    with _lock:
        if _fallbacks is None:
            loaded = []
            for i, path in enumerate(FALLBACK_FONTS):
                if path.is_file():
                    font = _load(f"{_FONT_NAME}Fallback{i}", path)
                    loaded.append((font.fontName, dict(font.face.charToGlyph)))
            _fallbacks = loaded
    return _fallbacks


@functools.lru_cache(maxsize=4096)
def in_main_font(text: str) -> bool:
    """True when the main font draws every character of ``text`` (the fast path). Every line
    measured and drawn asks, most of them the same texts (labels, the watermark, a row at
    each trial size), hence the cache: a hit costs less than the set test."""
    if _registered is None:
        cjk_font_name()
    return _main_chars.issuperset(text)


def _font_of(ch: str, previous: str | None) -> str | None:
    if not is_printable(ch):  # a control, bidi or format character: never drawn, whoever has it
        return None
    code = ord(ch)
    if code in _main_cmap:
        return _registered
    fallbacks = _fallback_fonts()
    if previous is not None and unicodedata.combining(ch):
        # a combining mark stays with its base character's font when that font has it
        for name, cmap in fallbacks:
            if name == previous and code in cmap:
                return name
    for name, cmap in fallbacks:
        if code in cmap:
            return name
    return None


def undrawable(text: str) -> list[str]:
    """The characters of ``text`` that no font of the chain can draw, in order, once each."""
    if in_main_font(text):
        return []
    missing: list[str] = []
    for ch in text:
        if ch not in missing and unicodedata.category(ch) != "Zs" and _font_of(ch, None) is None:
            missing.append(ch)
    return missing


def font_runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (font name, run) pieces, each run drawn by the first font of the
    chain that has all its characters; raises ``FaceTextError`` for a character none has."""
    main = cjk_font_name()
    if in_main_font(text):
        return [(main, text)]
    runs: list[tuple[str, str]] = []
    previous: str | None = None
    for ch in text:
        name = _font_of(ch, previous)
        if name is None:
            if unicodedata.category(ch) == "Zs":  # a space the font lacks is still a space
                name = previous or main
            else:
                raise FaceTextError(
                    unprintable("the text", ch)
                    or f"the licence face cannot print {describe(ch)}: no font has it"
                )
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + ch)
        else:
            runs.append((name, ch))
        previous = name
    return runs
