"""The signed-in pages' shell: one HTML frame (language, title, navigation, the person with
sign-out, this browser's CSRF token) and the small HTML helpers every desk, audit and
administration page uses (escaped tables, labelled inputs with their per-field error). Pages
build their body from these; nothing else writes ``<html>``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from licence_service.api.pages.texts import LANG_COOKIE, language, texts
from licence_service.api.security import csrf_field, csrf_token, with_csrf_cookie
from licence_service.people.identity import PersonInfo

__all__ = ["CSRF", "FIELD_PREFIX", "Raw", "error_of", "field_input", "frame", "page", "table"]

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
    person: PersonInfo | None = None,
) -> HTMLResponse:
    """The whole page around ``body``; ``scripts`` are names under ``/static/``; the links
    to issuing pages are shown to issuers only (the pages check the role all the same);
    ``person``, when given, is named in the header with a sign-out button."""
    lang = language(request)
    t = texts(lang)
    token = csrf_token(request)
    links = ""
    if nav:
        issuing = (
            f"<a href='/desk/issue'>{escape(t['desk_issue'])}</a> "
            f"<a href='/desk/import'>{escape(t['desk_import'])}</a> "
        )
        links = f"<a href='/desk'>{escape(t['desk'])}</a> {issuing if issuer else ''}"
    links = (
        f"<nav>{links}<a href='?lang={t['switch_lang']}' id='lang-switch'>"
        f"{escape(t['switch_to'])}</a></nav>"
    )
    tags = "".join(f"<script src='/static/{name}' defer></script>" for name in scripts)
    who = ""
    if person is not None:
        who = (
            f"<span id='who'>{escape(person.display_name or person.username)}</span>"
            f"<form method='post' action='/signout' class='inline'>{CSRF}"
            f"<button type='submit' id='signout'>{escape(t['sign_out'])}</button></form>"
        )
    html = (
        f"<!doctype html><html lang='{t['lang']}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel='stylesheet' href='/static/counter.css'>"
        f"<link rel='stylesheet' href='/static/desk.css'>{tags}</head>"
        f"<body><header class='bar'><h1>{escape(title)}</h1>{links}{who}</header>"
        f"<main class='wide'>{body}</main></body></html>"
    ).replace(CSRF, csrf_field(token))
    response = with_csrf_cookie(HTMLResponse(html, status_code=status), token)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", path="/", max_age=31536000)
    return response


def frame(
    request: Request, person: PersonInfo, title: str, body: str, status: int = 200
) -> HTMLResponse:
    """The audit room's and the administration's page: the frame with the person named and
    the language switch, without the desk's links."""
    return page(request, title, body, status, person=person, nav=False)


class Raw(str):
    """A table cell that is already HTML (a link or a one-button form built from escaped
    parts)."""


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    id_: str = "",
    empty: str = "—",
    raw: int = -1,
) -> str:
    """An escaped table in a horizontally scrolling box (wide data on a phone); a cell is
    trusted HTML when it is :class:`Raw` or in the column at index ``raw``."""

    def cell(i: int, v: object) -> str:
        if isinstance(v, Raw) or i == raw:
            return f"<td>{v}</td>"
        return f"<td>{escape('' if v is None else str(v))}</td>"

    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    if not body:  # say so, rather than a bare header
        body = f"<tr class='empty'><td colspan='{len(headers)}'>{escape(empty)}</td></tr>"
    ident = f" id='{escape(id_)}'" if id_ else ""
    return f"<div class='scroll'><table{ident}><tr>{head}</tr>{body}</table></div>"


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
