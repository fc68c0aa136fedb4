"""`Idempotency-Key` on the state-changing API requests that can keep it: a retry creates
nothing twice.

A client that timed out cannot know whether its issuance or status change happened. Sending
the same ``Idempotency-Key`` again returns the first answer (same status, same body) instead of
doing the work again. The key is scoped to the caller's credentials; reusing it for a different
request is refused (422). A key is taken only where it can be kept (:data:`KEYED_ROUTES`: the
route binds its answer in its work's commit, or its work is exactly-once by itself); a
verification or search ignores it (:data:`READ_ROUTES`); anywhere else it is refused (422,
saying why and what to do) — a replay there would be a promise the route cannot keep, and on
sign-in, people and token routes it would store a secret shown once.

The first request's row is written before the work starts, naming the process that runs it;
that process's heartbeat (``store.idempotency.Heartbeat``) keeps the row's ``alive_at`` fresh.
A retry while the first request runs waits for its answer for as long as its owner is alive —
never a 409 merely because the first attempt is slow — bounded by :data:`IN_FLIGHT_WAIT`, far
longer than any issuance takes. Once the owner is dead (its heartbeat older than
``DEAD_AFTER``, or on the same host its process gone), a retry takes the request over and does
it: nothing was recorded, or the answer would be there. The takeover is a compare-and-set on
what was seen dead, and a first attempt taken over while it still ran (its heartbeat late)
answers the retry's answer, not an error (its own work rolled back at the refused bind).

An issuance, an amendment, a status change, an approval and a consent bind the key to their
answer in the commit that records the work (``store.idempotency``): from then on a retry gets
that answer, whatever becomes of the first request — an anchoring error, a killed worker, a
dropped connection — and an error after that commit is answered with the work too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import anyio
from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from licence_service.region.runtime import Runtime
from licence_service.store.idempotency import (
    Binding,
    Heartbeat,
    binding,
    owner_dead,
    owner_name,
    take_over,
)
from licence_service.store.models import IdempotentRequest, utcnow

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200
BINDING_PATHS = "/api/v1/licences"
IN_FLIGHT_WAIT = 600.0
"""Seconds at most a retry waits for a first request with its key whose owner is alive. An
issuance gives up anchoring in the request after 60 s and answers it queued; ten times that
means only a hung (alive but stuck) owner ever gets its retry a 409."""
KEYED_ROUTES = re.compile(
    r"^/api/v1/(licences(/[^/]+/(amend|revoke|status|copies|copies/[^/]+/revoke|inspections))?"
    r"|reviews/[^/]+/approve|consents(/[^/]+/withdraw)?|imports)$"
)
"""Routes that take an ``Idempotency-Key``: each binds its answer in its work's own commit
(issuance, amendment, status change, copy, inspection, approval, consent), or its work is
exactly-once by itself (an import skips the rows it issued before), so a dead owner's request
is taken over and done — never twice."""
READ_ROUTES = re.compile(
    r"^(/api/v1/(verify/(pdf|qr|field-proof)|licences/[^/]+/check|federation/holders/licences)"
    r"|/verify(/qr\.json|/pdf\.json|/holder)?)$"
)
"""POSTs that change nothing (verifications, checks, searches): a key is accepted and ignored
— asking again is safe."""
SECRET_ROUTES = re.compile(
    r"^(/api/v1/(auth/token|people|people/[^/]+/tokens|wallet/(activations|register|sign-in.*))"
    r"|/signin|/admin/(people|tokens)|/wallet/sign-in.*)$"
)
"""Routes whose answer holds a secret shown once (a password, a token, a sign-in code)."""
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


def _renderer(scope: Scope) -> Callable[[object], tuple[int, bytes]]:
    """The route's answer for a use case's result, as FastAPI would serialise it (the route is
    known only once the router has matched: it writes it into this same ``scope``)."""

    def render(result: object) -> tuple[int, bytes]:
        route = scope.get("route")
        model = getattr(route, "response_model", None)
        status = getattr(route, "status_code", None) or 200
        if model is None:
            return status, json.dumps(jsonable_encoder(result), ensure_ascii=False).encode()
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        try:
            value = adapter.validate_python(result, from_attributes=True)
        except ValueError:  # a route answering ``asdict(result)`` (its model: a dict)
            if not dataclasses.is_dataclass(result) or isinstance(result, type):
                raise
            value = adapter.validate_python(dataclasses.asdict(result))
        return status, adapter.dump_json(value)

    return render


class Idempotency:
    """ASGI middleware: replays the stored answer of a request made again with its key."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self._limiter: anyio.CapacityLimiter | None = None
        self._heartbeat = Heartbeat(runtime.sessions)

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
        path = scope["path"]
        if READ_ROUTES.match(path):  # nothing to do twice: the key changes nothing
            await self.app(scope, receive, send)
            return
        if not KEYED_ROUTES.match(path):
            await _plain(send, 422, _unsupported(scope["method"], path))
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
        while True:
            row_id, replay = await self._settle(caller, key, digest)
            if replay is not None:
                await replay(send)
                return
            try:  # ``_claim`` holds the row in this process's heartbeat already
                lost = await self._run(scope, bytes(body), send, row_id)
            finally:
                self._heartbeat.release(row_id)
            if not lost:
                return
            # a retry took the request over while this attempt still ran (its heartbeat was
            # late): this attempt's work rolled back, and the retry's answer is the answer
            log.warning("request %s was taken over by a retry: answering its answer", row_id)

    async def _settle(self, caller: str, key: str, digest: bytes) -> tuple[int, Replay | None]:
        """The key's row to run (claimed or taken over), or what answers the request: waits
        while another attempt's owner lives, bounded by :data:`IN_FLIGHT_WAIT`. Database work
        off the event loop: a thousand requests arriving at once must not hold up the answers
        of those already done."""
        waited_until, pause = time.monotonic() + IN_FLIGHT_WAIT, 0.05
        while True:
            claimed = await self._in_thread(self._claim, caller, key, digest)
            row_id, replay = cast(tuple[int, Replay | None], claimed)
            if replay is not _IN_FLIGHT:
                return row_id, replay
            if time.monotonic() > waited_until:
                return 0, _answer(409, f"the first request with this key is still running "
                                  f"after {IN_FLIGHT_WAIT:.0f} s; retry later")  # fmt: skip
            # a retry of a request still running (its client's connection dropped): wait for
            # its answer (or for its work to be bound to the key) while its owner is alive
            await anyio.sleep(pause)
            pause = min(pause * 1.5, 1.0)

    def _claim(self, caller: str, key: str, digest: bytes) -> tuple[int, Replay | None]:
        """Record the request as in flight (owned by this process, held by its heartbeat
        before the row is committed), or find what answers it already, or take over the
        request of a dead owner."""
        held = 0  # a row held by the heartbeat before its commit: let go if the commit fails
        try:
            try:
                with self.rt.sessions.begin() as s:
                    row = IdempotentRequest(caller=caller, key=key, request_sha256=digest,
                                            owner=owner_name(), alive_at=utcnow())  # fmt: skip
                    s.add(row)
                    s.flush()
                    held = row.id
                    self._heartbeat.hold(held)
                return held, None
            except IntegrityError:
                self._heartbeat.release(held)
                held = 0
            with self.rt.sessions.begin() as s:
                found = s.scalar(
                    select(IdempotentRequest).where(
                        IdempotentRequest.caller == caller, IdempotentRequest.key == key
                    )
                )
                if found is None:  # the first attempt failed (5xx) and let go of the key
                    return 0, _IN_FLIGHT  # (the next round claims it)
                if found.request_sha256 != digest:
                    return 0, _answer(422, "was used before for a different request; "
                                      "use a new key")  # fmt: skip
                if found.status_code is None:
                    if not owner_dead(found, self._heartbeat):
                        return 0, _IN_FLIGHT
                    held = found.id
                    self._heartbeat.hold(held)
                    if take_over(s, found):  # committed with ``s``, held from before
                        return held, None
                    self._heartbeat.release(held)
                    held = 0
                    return 0, _IN_FLIGHT  # it lives after all, or another retry took it over
                stored, status = found.response or b"", found.status_code
                media = found.media_type
        except BaseException:
            self._heartbeat.release(held)
            raise

        async def replay(send: Send) -> None:
            for message in _replay_messages(status, stored, media):
                await send(message)

        return 0, replay

    async def _run(self, scope: Scope, body: bytes, send: Send, row_id: int) -> bool:
        """Run the request and record its answer; True if a retry took the request over
        before this attempt could bind its work (nothing was sent: the retry answers)."""
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, media, chunks = 500, "application/json", bytearray()
        held: list[Message] = []
        recorded, lost = False, False

        async def capture(message: Message) -> None:
            # The answer is stored before the client gets it: a client retrying the moment it
            # has its answer (or lost it) must find it, never "still being processed".
            nonlocal status, media, recorded, lost
            if lost:
                return
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
                if kept is _LOST:
                    lost = True
                    held.clear()
                    return
                if kept is not None:  # an error after the work was done: answer the work
                    held[:] = _replay_messages(*cast(tuple[int, bytes, str], kept))
            for pending in held:
                await send(pending)
            held.clear()

        # issuances bind only on the API's licence routes (their answer is ``IssuedOut``);
        # other use cases bind the route's own answer for their result
        bound = Binding(row_id, str(Request(scope).base_url), owner_name(),
                        scope["path"].startswith(BINDING_PATHS), _renderer(scope))  # fmt: skip
        token = binding.set(bound)
        try:
            await self.app(scope, receive, capture)
        except Exception:
            if recorded:  # the answer went out already
                raise
            recorded = True
            kept = await self._in_thread(self._record, row_id, 500, b"", media)
            if kept is _LOST:
                return True
            if kept is None:  # nothing was recorded: the error is the answer
                raise
            # the work was recorded and the key bound to it before the failure: answer it
            log.exception("request failed after its work was recorded; answering the work")
            for message in _replay_messages(*cast(tuple[int, bytes, str], kept)):
                await send(message)
        finally:
            binding.reset(token)
            if not recorded:
                await self._in_thread(self._record, row_id, status, bytes(chunks), media)
        return lost

    def _record(
        self, row_id: int, status: int, response: bytes, media: str
    ) -> tuple[int, bytes, str] | object | None:
        """Store the answer; when the request failed after its work was recorded (the key is
        bound: ``store.idempotency``), keep the bound answer and return it to be sent. A row
        a retry took over (this process was thought dead) is that retry's to answer: an error
        of this attempt then returns :data:`_LOST` (its work rolled back at the refused bind),
        and the caller waits for the retry's answer instead of answering the error."""
        with self.rt.sessions.begin() as s:
            row = s.get(IdempotentRequest, row_id)
            if row is None:
                return None
            if row.status_code is not None and status >= 400:
                return row.status_code, row.response or b"", row.media_type
            if row.owner != owner_name() and status >= 400:
                return _LOST
            mine = (IdempotentRequest.id == row_id, IdempotentRequest.owner == owner_name())
            if status >= 500:  # nothing was promised: a retry may try again
                s.execute(delete(IdempotentRequest).where(*mine,
                          IdempotentRequest.status_code.is_(None)))  # fmt: skip
            else:
                done = {"status_code": status, "response": response, "media_type": media}
                s.execute(update(IdempotentRequest).where(*mine).values(**done))
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


def _unsupported(method: str, path: str) -> str:
    why = (
        "its answer holds a secret shown once (a password, token or code), never stored for a "
        "replay" if SECRET_ROUTES.match(path) else "its answer is not bound to its work in "
        "one commit, so a replay could not be trusted"
    )  # fmt: skip
    return (
        f"is not supported on {method} {path}: {why}; send the request without it, and check "
        f"its result with a GET before sending it again"
    )


_LOST = object()  # ``_record``: a retry took the request over; its answer is the answer
_IN_FLIGHT = _answer(409, "in flight")  # a marker: ``__call__`` waits while the owner lives
