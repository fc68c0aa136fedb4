"""A real receiving region's webhook on 127.0.0.1: every push checked with ``verify_push``
against the directory's certificates (the receiver's runtime), refused with 401 when it does
not hold; accepted ones recorded by delivery id once, as the notifier's test gateway does
(a held answer lets a crash test kill the sender mid-delivery)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from licence_service.federation.push import (
    MemorySeen,
    PushRefused,
    SeenDeliveries,
    VerifiedPush,
    verify_push,
)
from licence_service.region.runtime import Runtime
from tests.loopback_http import loopback_http, send_json
from tests.notify_fixtures import Gateway


@dataclass
class Receiver:
    rt: Runtime
    audience: int
    gateway: Gateway = field(default_factory=Gateway)
    seen: SeenDeliveries = field(default_factory=MemorySeen)
    refused: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    # accepted pushes as sent (header names in lower case)
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def check(self, headers: dict[str, str], body: bytes) -> VerifiedPush:
        self.rt.certificates.refresh()
        return verify_push(self.rt.certificates, headers, body, audience=self.audience,
                           seen=self.seen)  # fmt: skip


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                push = receiver.check(headers, body)
            except PushRefused as exc:
                receiver.refused.append(str(exc))
                send_json(self, 401, b'{"error": "refused"}')
                return
            receiver.raw.append((headers, body))
            if push.duplicate:
                receiver.duplicates.append(push.delivery)
            receiver.gateway.reply(self, push.delivery, push.payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiving(
    rt: Runtime, audience: int, seen: SeenDeliveries | None = None
) -> Iterator[tuple[Receiver, str]]:
    """A receiver for region ``audience`` (checking with ``rt``'s directory); its URL.
    ``seen`` keeps its delivery ids (in memory unless given)."""
    receiver = Receiver(rt, audience) if seen is None else Receiver(rt, audience, seen=seen)
    with loopback_http(_handler(receiver)) as base:
        try:
            yield receiver, f"{base}/push"
        finally:
            receiver.gateway.release.set()  # a held answer ends before the server is shut down
