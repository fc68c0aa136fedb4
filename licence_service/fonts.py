"""The CJK font embedded in licence PDFs (reportlab embeds a subset of a TrueType font)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "LicenceCJK"
KNOWN_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
)
_lock = threading.Lock()
_registered = False


class FontNotFoundError(RuntimeError):
    """No embeddable CJK TrueType font is installed."""


def font_path() -> Path:
    env = os.environ.get("LICLEDGER_CJK_FONT")
    candidates = [env] if env else list(KNOWN_PATHS)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontNotFoundError(
        "no CJK TrueType font found; install one with `apt-get install fonts-wqy-zenhei` "
        "or set LICLEDGER_CJK_FONT to a .ttf/.ttc file"
        + (f" (LICLEDGER_CJK_FONT={env} does not exist)" if env else "")
    )


def cjk_font_name() -> str:
    """Register the CJK font with reportlab once and return its name."""
    global _registered
    with _lock:
        if not _registered:
            path = font_path()
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
            _registered = True
    return FONT_NAME
