"""Which characters a value printed on a licence face may hold.

What is signed must be what the paper shows. An invisible character (a control, a format
character such as U+202E RIGHT-TO-LEFT OVERRIDE or a zero-width joiner, a private-use or
unassigned code point) would be signed and anchored but not seen, or would reorder what is
seen; a right-to-left script would be drawn left to right and unjoined by the PDF renderer.
Both are refused before anything is signed, naming the character and its code point.
Whether a font can draw the remaining characters is the document layer's question
(``documents.fonts.undrawable``).
"""

from __future__ import annotations

import unicodedata

__all__ = ["describe", "is_printable", "unprintable"]

_INVISIBLE = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "not an assigned Unicode character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
_RIGHT_TO_LEFT = ("R", "AL")


def describe(ch: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``; a visible character is shown itself first."""
    name = unicodedata.name(ch, "")
    code = f"U+{ord(ch):04X}"
    label = f"{code} ({name})" if name else code
    category = unicodedata.category(ch)
    if category in _INVISIBLE or category.startswith("Z"):
        return label
    return f"{ch!r} {label}"


def is_printable(ch: str) -> bool:
    """True when ``ch`` may be printed on a face (what :func:`unprintable` lets through)."""
    return (
        unicodedata.category(ch) not in _INVISIBLE
        and unicodedata.bidirectional(ch) not in _RIGHT_TO_LEFT
    )


def unprintable(field: str, text: str) -> str | None:
    """The message for the first character of ``text`` a licence face must not carry, or None."""
    for ch in text:
        category = unicodedata.category(ch)
        kind = _INVISIBLE.get(category)
        if kind is not None:
            return (
                f"{field} contains {describe(ch)}, {kind}: it would be signed but not "
                "printed as seen; remove it"
            )
        if unicodedata.bidirectional(ch) in _RIGHT_TO_LEFT:
            return (
                f"{field} contains {describe(ch)}, a right-to-left script the licence face "
                "cannot print yet; give the value as registered in Chinese or Latin letters"
            )
    return None
