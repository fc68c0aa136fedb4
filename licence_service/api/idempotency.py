"""`Idempotency-Key` on every state-changing API request: a retry creates nothing twice.

A client that timed out cannot know whether its issuance or status change happened. Sending
the same ``Idempotency-Key`` again returns the first answer (same status, same body) instead of
doing the work again. The key is scoped to the caller's credentials; reusing it for a different
request is refused (422), and a retry while the first request is still running waits for its
answer (up to ``IN_FLIGHT_WAIT``), then gets 409.

The first request's row is written before the work starts. An issuance binds it to its licence
in the commit that records the licence (``store.idempotency``): from then on a retry gets that
licence (201), whatever becomes of the first request — an anchoring error, a killed worker, a
dropped connection — and an error after that commit is answered with the licence too. If the
service dies before the work is recorded, the row stays "in flight": after ``STALE_AFTER`` a
retry is told so (409) instead of repeating work that may have happened — the client checks
with a GET and then uses a new key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import anyio
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from licence_service.region.runtime import Runtime
from licence_service.store.idempotency import Binding, binding
from licence_service.store.models import IdempotentRequest

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200
STALE_AFTER = timedelta(minutes=10)
BINDING_PATHS = "/api/v1/licences"
IN_FLIGHT_WAIT = 15.0
"""Seconds a retry waits for the first request with its key to answer (or to record its
licence) before it is told 409 "still being processed"."""
_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
Replay = Callable[[Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def _plain(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "field": "Idempotency-Key"}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Idempotency:
    """ASGI middleware: replays the stored answer of a request made again with its key."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self._limiter: anyio.CapacityLimiter | None = None

    async def _in_thread(self, func: Callable[..., object], *args: object) -> object:
        """Database work off the event loop, in threads of its own: in the shared pool a
        burst's thousand issuances queued ahead of it, and no answer went out until the burst
        was done (answers are recorded before they are sent)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(4)
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key_raw = _header(scope, HEADER) if scope["type"] == "http" else None
        if key_raw is None or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        key = key_raw.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _plain(send, 422, f"must be 1 to {MAX_KEY_LENGTH} characters")
            return
        body, more = bytearray(), True
        while more:  # the body limit middleware outside this one caps what arrives here
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        caller = hashlib.sha256(_header(scope, b"authorization") or b"").hexdigest()
        digest = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + bytes(body)
        ).digest()
        # database work off the event loop: a thousand requests arriving at once must not hold
        # up the answers of those already done
        waited_until = time.monotonic() + IN_FLIGHT_WAIT
        while True:
            claimed = await self._in_thread(self._claim, caller, key, digest)
            row_id, replay = cast(tuple[int, Replay | None], claimed)
            if replay is not _IN_FLIGHT or time.monotonic() > waited_until:
                break
            # a retry of a request still running (its client's connection dropped): wait
            # for its answer, or for its licence to be bound to the key, instead of a 409
            await anyio.sleep(0.1)
        if replay is _IN_FLIGHT:
            replay = _answer(409, "the first request with this key is still being processed; "
                             "retry shortly")  # fmt: skip
        if replay is not None:
            await replay(send)
            return
        await self._run(scope, bytes(body), send, row_id)

    def _claim(self, caller: str, key: str, digest: bytes) -> tuple[int, Replay | None]:
        """Record the request as in flight, or find what answers it already."""
        try:
            with self.rt.sessions.begin() as s:
                row = IdempotentRequest(caller=caller, key=key, request_sha256=digest)
                s.add(row)
                s.flush()
                return row.id, None
        except IntegrityError:
            pass
        with self.rt.sessions() as s:
            found = s.scalar(
                select(IdempotentRequest).where(
                    IdempotentRequest.caller == caller, IdempotentRequest.key == key
                )
            )
        assert found is not None
        if found.request_sha256 != digest:
            return 0, _answer(422, "was used before for a different request; use a new key")
        if found.status_code is None:
            created = found.created_at.replace(tzinfo=found.created_at.tzinfo or UTC)
            if datetime.now(UTC) - created > STALE_AFTER:
                why = ("the first request with this key did not finish (the service stopped); "
                       "check its result with a GET, then retry with a new key")  # fmt: skip
                return 0, _answer(409, why)
            return 0, _IN_FLIGHT
        stored, status, media = found.response or b"", found.status_code, found.media_type

        async def replay(send: Send) -> None:
            for message in _replay_messages(status, stored, media):
                await send(message)

        return 0, replay

    async def _run(self, scope: Scope, body: bytes, send: Send, row_id: int) -> None:
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, media, chunks = 500, "application/json", bytearray()
        held: list[Message] = []
        recorded = False

        async def capture(message: Message) -> None:
            # The answer is stored before the client gets it: a client retrying the moment it
            # has its answer (or lost it) must find it, never "still being processed".
            nonlocal status, media, recorded
            held.append(message)
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        media = v.decode("latin-1")
                return
            if message["type"] == "http.response.body":
                chunks.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                kept = await self._in_thread(self._record, row_id, status, bytes(chunks), media)
                recorded = True
                if kept is not None:  # an error after the work was done: answer the work
                    held[:] = _replay_messages(*cast(tuple[int, bytes, str], kept))
            for pending in held:
                await send(pending)
            held.clear()

        # the API's licence routes answer with the licence (``IssuedOut``): only they bind
        bound = Binding(row_id, str(Request(scope).base_url))
        token = binding.set(bound if scope["path"].startswith(BINDING_PATHS) else None)
        try:
            await self.app(scope, receive, capture)
        except Exception:
            if recorded:  # the answer went out already
                raise
            recorded = True
            kept = await self._in_thread(self._record, row_id, 500, b"", media)
            if kept is None:  # nothing was recorded: the error is the answer
                raise
            # the licence was recorded and the key bound to it before the failure: answer it
            log.exception("request failed after its work was recorded; answering the work")
            for message in _replay_messages(*cast(tuple[int, bytes, str], kept)):
                await send(message)
        finally:
            binding.reset(token)
            if not recorded:
                await self._in_thread(self._record, row_id, status, bytes(chunks), media)

    def _record(
        self, row_id: int, status: int, response: bytes, media: str
    ) -> tuple[int, bytes, str] | None:
        """Store the answer; when the request failed after its work was recorded (the key is
        bound: ``store.idempotency``), keep the bound answer and return it to be sent."""
        with self.rt.sessions.begin() as s:
            row = s.get(IdempotentRequest, row_id)
            assert row is not None
            if row.status_code is not None and status >= 400:
                return row.status_code, row.response or b"", row.media_type
            if status >= 500:  # nothing was promised: a retry may try again
                s.delete(row)
            else:
                row.status_code, row.response, row.media_type = status, response, media
        return None


def _replay_messages(status: int, body: bytes, media: str) -> list[Message]:
    headers = [(b"content-type", media.encode()), (b"idempotent-replay", b"true")]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def _answer(status: int, detail: str) -> Replay:
    async def send_it(send: Send) -> None:
        await _plain(send, status, detail)

    return send_it


_IN_FLIGHT = _answer(409, "in flight")  # a marker: ``__call__`` waits, then answers 409
