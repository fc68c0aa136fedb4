"""The pages' texts: one JSON file per language in ``templates/`` (Chinese by default).

The language is the ``lang`` query parameter when given (remembered in a cookie), else the
cookie, else Chinese. Both files must have the same keys, checked at import so a missing
translation fails at start-up, not in front of a citizen.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import Request

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"
LANG_COOKIE = "ll_lang"


@cache
def texts(lang: str) -> dict[str, str]:
    """The texts of ``lang`` (one of :data:`LANGUAGES`)."""
    data: dict[str, str] = json.loads((TEMPLATES / f"texts.{lang}.json").read_text("utf-8"))
    return data


def _check_same_keys() -> None:
    keys = {lang: set(texts(lang)) for lang in LANGUAGES}
    base = keys[DEFAULT]
    for lang, found in keys.items():
        if found != base:
            raise RuntimeError(f"templates/texts.{lang}.json differs in keys: {found ^ base}")


_check_same_keys()


def language(request: Request) -> str:
    """The language this request asked for, or the default."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGUAGES else DEFAULT
