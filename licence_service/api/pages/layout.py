"""The signed-in pages' shell: one HTML frame (language, title, navigation, this browser's CSRF
token) and the small HTML helpers every desk page uses (escaped tables, labelled inputs with
their per-field error). Pages build their body from these; nothing else writes ``<html>``."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from licence_service.api.pages.texts import LANG_COOKIE, language, texts
from licence_service.api.security import csrf_field, csrf_token, with_csrf_cookie

__all__ = ["CSRF", "FIELD_PREFIX", "error_of", "field_input", "page", "table"]

CSRF = "{csrf}"
"""Placeholder in a body for the hidden CSRF field (filled in by :func:`page`)."""
FIELD_PREFIX = "field:"
"""Form inputs of a licence type's own face fields are named ``field:<key>``."""


def page(
    request: Request,
    title: str,
    body: str,
    status: int = 200,
    scripts: Iterable[str] = (),
    nav: bool = True,
    issuer: bool = False,
) -> HTMLResponse:
    """The whole page around ``body``; ``scripts`` are names under ``/static/``; the links
    to issuing pages are shown to issuers only (the pages check the role all the same)."""
    lang = language(request)
    t = texts(lang)
    token = csrf_token(request)
    links = ""
    if nav:
        issuing = (
            f"<a href='/desk/issue'>{escape(t['desk_issue'])}</a> "
            f"<a href='/desk/import'>{escape(t['desk_import'])}</a> "
        )
        links = (
            f"<nav><a href='/desk'>{escape(t['desk'])}</a> {issuing if issuer else ''}"
            f"<a href='?lang={t['switch_lang']}' id='switch-lang'>{escape(t['switch_to'])}</a>"
            "</nav>"
        )
    tags = "".join(f"<script src='/static/{name}' defer></script>" for name in scripts)
    html = (
        f"<!doctype html><html lang='{t['lang']}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel='stylesheet' href='/static/counter.css'>"
        f"<link rel='stylesheet' href='/static/desk.css'>{tags}</head>"
        f"<body><header class='bar'><h1>{escape(title)}</h1>{links}</header><main>"
        f"{body.replace(CSRF, csrf_field(token))}</main></body></html>"
    )
    response = with_csrf_cookie(HTMLResponse(html, status_code=status), token)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", path="/", max_age=31536000)
    return response


def table(headers: Iterable[str], rows: Iterable[Iterable[object]], id_: str, raw: int = -1) -> str:
    """An escaped table; the column at index ``raw`` is trusted HTML (a link or a form)."""
    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{v if i == raw else escape('' if v is None else str(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    if not body:  # say so, rather than a bare header
        width = head.count("<th")
        body = f"<tr class='empty'><td colspan='{width}'>—</td></tr>"
    return f"<div class='scroll'><table id='{id_}'><tr>{head}</tr>{body}</table></div>"


def error_of(errors: dict[str, str], key: str, dom_id: str) -> str:
    """The per-field error paragraph (empty but present, so the script can fill it)."""
    message = errors.get(key, "")
    return (
        f"<p class='field-error' id='{dom_id}-error' role='alert' data-field='{escape(key)}'>"
        f"{escape(message)}</p>"
    )


def field_input(
    dom_id: str,
    name: str,
    label: str,
    value: str = "",
    errors: dict[str, str] | None = None,
    key: str = "",
    kind: str = "text",
    required: bool = False,
    check: str = "",
    hint: str = "",
) -> str:
    """A labelled input with its error paragraph; ``check`` tells the page script what to
    check while the user types (``date``, ``citizen_id``, ``uscc``)."""
    errors = errors or {}
    key = key or name
    bad = " aria-invalid='true'" if key in errors else ""
    flags = (" required" if required else "") + (f" data-check='{check}'" if check else "")
    star = " <span aria-hidden='true'>*</span>" if required else ""
    hint_html = f"<small>{escape(hint)}</small>" if hint else ""
    kind_attr = "date" if kind == "date" else "text"
    return (
        f"<div class='field'><label for='{dom_id}'>{escape(label)}{star}</label>{hint_html}"
        f"<input type='{kind_attr}' id='{dom_id}' name='{escape(name)}' value='{escape(value)}'"
        f" aria-describedby='{dom_id}-error'{flags}{bad}>{error_of(errors, key, dom_id)}</div>"
    )
