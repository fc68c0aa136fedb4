"""JSON request bodies bounded before any JSON parser sees them.

A JSON document nested 100,000 deep is 200 KB, well under the upload cap, yet the parsers and
validators behind FastAPI recurse once per level: such a body crashed a worker (C stack
overflow). :class:`JsonLimit` (pure ASGI, inside ``security.BodyLimit``, which still refuses
anything over the upload cap with 413 while it streams) collects a body FastAPI would parse as
JSON — no ``Content-Type``, ``application/json`` or ``application/*+json``, FastAPI's own
rule — up to ``LICLEDGER_MAX_JSON_BYTES``, measures its nesting with :func:`json_too_deep`
(regular expressions and one flat loop: no recursion, no objects built) and answers 422 naming
the limit before the application parses anything. Multipart and form bodies never reach a
JSON parser and pass untouched.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from licence_service.api.security import _send_json

# a JSON string literal (the unrolled form: linear, no backtracking); brackets inside it count not
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether ``body``, read as JSON, nests arrays and objects deeper than ``limit``; stops at
    the first level past it. Malformed JSON is left to the parser, which refuses it cheaply."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False  # too few openers to pass the limit at all
    depth = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _parsed_as_json(scope: Scope) -> bool:
    """Whether FastAPI would hand this request's body to ``json.loads`` (see
    ``fastapi.routing``: no content type, or application/json, or application/*+json)."""
    headers = dict(scope["headers"])
    if b"content-length" not in headers and b"transfer-encoding" not in headers:
        return False  # no body
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind in (b"", b"application/json") or (
        kind.startswith(b"application/") and kind.endswith(b"+json")
    )


class JsonLimit:
    """422 for a JSON body over ``max_bytes`` or nested deeper than ``max_depth``, decided on
    the raw bytes; the app then receives the body exactly as it was sent."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_depth

    def _too_large(self) -> str:
        return (
            f"the JSON body is larger than {self.max_bytes} bytes (LICLEDGER_MAX_JSON_BYTES); "
            "send a smaller request"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _parsed_as_json(scope):
            await self.app(scope, receive, send)
            return
        announced = dict(scope["headers"]).get(b"content-length", b"")
        if announced.isdigit() and int(announced) > self.max_bytes:
            await _send_json(send, 422, self._too_large(), [])
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _send_json(send, 422, self._too_large(), [])
                return
            if not message.get("more_body", False):
                break
        if json_too_deep(bytes(body), self.max_depth):
            detail = (
                f"the JSON body is nested deeper than {self.max_depth} levels "
                "(LICLEDGER_MAX_JSON_DEPTH); no request of this API needs more"
            )
            await _send_json(send, 422, detail, [])
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
