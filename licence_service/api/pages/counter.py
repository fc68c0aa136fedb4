"""The counter page (``/verify``, and what a licence's QR URL opens): camera scanning, a pasted
payload or a dropped PDF, and the verdict. The page works without JavaScript (the form posts
to ``/verify``); with it, ``static/counter.js`` scans and posts to the public verification API
and renders the verdict JSON."""

from __future__ import annotations

import json
from html import escape
from string import Template
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from licence_service.api.pages.holder_search import holder_box
from licence_service.api.pages.texts import LANG_COOKIE, TEMPLATES, language, texts
from licence_service.api.security import csrf_field, csrf_token, with_csrf_cookie

_TEMPLATE = Template((TEMPLATES / "counter.html").read_text("utf-8"))


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>`` or comment openers)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def counter_page(
    request: Request,
    verdict_html: str = "",
    initial: dict[str, Any] | None = None,
    status: int = 200,
    holder_html: str = "",
) -> HTMLResponse:
    """The page with this browser's CSRF token; ``verdict_html`` is the server-rendered verdict
    and ``initial`` the same verdict as the API's JSON for the script (both optional);
    ``holder_html`` the answer of the holder search box (``pages.holder_search``)."""
    lang = language(request)
    t = texts(lang)
    token = csrf_token(request)
    html = _TEMPLATE.substitute(
        html_lang=t["lang"],
        title=escape(t["title"]),
        switch_lang=t["switch_lang"],
        switch_to=escape(t["switch_to"]),
        verdict=verdict_html,
        camera_start=escape(t["camera_start"]),
        camera_stop=escape(t["camera_stop"]),
        continuous=escape(t["continuous"]),
        csrf=csrf_field(token),
        holder=holder_box(t, csrf_field(token), holder_html),
        drop=escape(t["drop"]),
        paste=escape(t["paste"]),
        verify=escape(t["verify"]),
        history=escape(t["history"]),
        texts_json=_script_json(t),
        initial_json=_script_json(initial),
    )
    response = with_csrf_cookie(HTMLResponse(html, status_code=status), token)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", path="/", max_age=31536000)
    return response
