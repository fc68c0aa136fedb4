"""The frame of the signed-in pages of the audit room and the administration: header with the
person, language switch and sign-out, the CSRF field filled in, every value escaped by the
callers (:func:`table` escapes what it is given)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from licence_service.api.pages.texts import language, texts
from licence_service.api.security import csrf_field, csrf_token, with_csrf_cookie
from licence_service.people.identity import PersonInfo

__all__ = ["CSRF", "Raw", "frame", "table"]

CSRF = "{csrf}"  # where a form's CSRF field goes in a page body


def frame(
    request: Request, person: PersonInfo, title: str, body: str, status: int = 200
) -> HTMLResponse:
    """The page around ``body`` (HTML), with this browser's CSRF token in every form."""
    t = texts(language(request))
    token = csrf_token(request)
    other = "en" if t["lang"] != "en" else "zh"
    who = escape(person.display_name or person.username)
    html = (
        f"<!doctype html><html lang='{t['lang']}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel='stylesheet' href='/static/counter.css'>"
        "</head><body><header class='bar'>"
        f"<h1>{escape(title)}</h1><span id='who'>{who}</span>"
        f"<a id='lang-switch' href='?lang={other}'>{escape(t['switch_to'])}</a>"
        f"<form method='post' action='/signout' class='inline'>{CSRF}"
        f"<button type='submit' id='signout'>{escape(t['sign_out'])}</button></form>"
        f"</header><main class='wide'>{body}</main></body></html>"
    )
    page = HTMLResponse(html.replace(CSRF, csrf_field(token)), status_code=status)
    return with_csrf_cookie(page, token)


class Raw(str):
    """A table cell that is already HTML (a one-button form built from escaped parts)."""


def _cell(value: object) -> str:
    if isinstance(value, Raw):
        return f"<td>{value}</td>"
    return f"<td>{escape(str(value if value is not None else ''))}</td>"


def table(
    head: Sequence[str], rows: Iterable[Sequence[object]], id_: str = "", empty: str = "—"
) -> str:
    """An escaped table (but :class:`Raw` cells) in a horizontally scrolling box (wide data
    on a phone)."""
    cells = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    if not cells:
        return f"<p class='empty'>{escape(empty)}</p>"
    ths = "".join(f"<th>{escape(h)}</th>" for h in head)
    ident = f" id='{escape(id_)}'" if id_ else ""
    return f"<div class='scroll'><table{ident}><tr>{ths}</tr>{cells}</table></div>"
