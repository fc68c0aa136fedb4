"""Request heads bounded while they arrive: size, header count and time (``licledger serve``).

uvicorn's httptools protocol (the one ``serve`` runs; ``h11_max_incomplete_event_size``
applies only to h11) puts no limit on a request's head: llhttp hands every header to Python
whole, so a 200 MB header was buffered (and answered 200), and a client sending one byte now
and then held its connection for ever. :class:`LimitedHttpTools` is that protocol with three
limits, enforced in the protocol itself, before any ASGI app or middleware runs:

- ``LICLEDGER_MAX_HEADER_BYTES``: the request line and headers together. Bytes are counted
  as they are read while the head is incomplete, so the connection is answered 431 and closed
  as soon as the head passes the limit (no more than one socket read beyond it is held), and
  the head's parsed size is checked again when it completes in a single read;
- ``LICLEDGER_MAX_HEADERS``: header fields of one request, 431 beyond;
- ``LICLEDGER_HEADER_TIMEOUT_SECONDS``: from the connection's start (and from the first byte
  of each later request on it) the whole head must arrive within this time, else 408 and the
  connection is closed: slowloris connections end instead of piling up.

uvicorn builds the protocol per connection from an import path (``serve`` passes
:data:`PROTOCOL`), in every worker process; the limits are read once per process from the
settings (the environment ``serve`` hands its workers).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from licence_service.region.settings import Settings, load_settings

PROTOCOL = "licence_service.api.http_limits:LimitedHttpTools"


@dataclass(frozen=True)
class HeadLimits:
    max_bytes: int
    max_count: int
    timeout: float

    @classmethod
    def of(cls, settings: Settings) -> HeadLimits:
        return cls(settings.max_header_bytes, settings.max_headers, settings.header_timeout)


@cache
def process_limits() -> HeadLimits:
    """This process's limits, from the environment (validated by ``serve`` before it started)."""
    return HeadLimits.of(load_settings())


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the refusal is already recorded."""


class LimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = process_limits()
        self._head_bytes: int | None = 0  # bytes of the head being read; None: not in a head
        self._head_count = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None

    # ------------------------------------------------------------------ timing
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a response is under way: close after it
            return
        self._refuse(
            408,
            f"the request head did not arrive within {self.limits.timeout:g} s "
            "(LICLEDGER_HEADER_TIMEOUT_SECONDS)",
        )

    # ------------------------------------------------------------------ size and count
    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)  # parser errors (ours included) end in send_400_response
        if (
            self._refusal is None
            and self._head_bytes is not None
            and self._head_bytes > self.limits.max_bytes
        ):
            self._refuse(431, self._too_large())  # still in the head after this whole read

    def _too_large(self) -> str:
        return (
            f"the request line and headers are larger than {self.limits.max_bytes} bytes "
            "(LICLEDGER_MAX_HEADER_BYTES)"
        )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_bytes is None:
            self._head_bytes = 0
        self._head_count = 0
        self._arm_head_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        if self._head_count > self.limits.max_count:
            self._refusal = (
                431,
                f"the request has more than {self.limits.max_count} header fields "
                "(LICLEDGER_MAX_HEADERS)",
            )
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.limits.max_bytes:  # the whole head came in one read
            self._refusal = (431, self._too_large())
            raise _Refused
        self._head_bytes = None
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_bytes = 0  # what follows on this connection is the next request's head

    # ------------------------------------------------------------------ answering
    def send_400_response(self, msg: str) -> None:
        """The parser stopped: with one of our refusals, answer it instead of a plain 400."""
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._write_refusal(*self._refusal)

    def _refuse(self, status: int, detail: str) -> None:
        self._refusal = (status, detail)
        self._write_refusal(status, detail)

    def _write_refusal(self, status: int, detail: str) -> None:
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        body = json.dumps({"detail": detail, "field": None}).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
