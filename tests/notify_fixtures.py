"""Real receivers for the notifier's tests, on 127.0.0.1: an SMTP server (aiosmtpd) and an
SMS gateway's webhook (http.server) that keeps each Idempotency-Key once, as a gateway must."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.chain_fixtures import free_port
from tests.loopback_http import loopback_http, send_json


class MailBox:
    """aiosmtpd handler: every message received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()  # recipients answered 550

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@dataclass
class Gateway:
    """The receiving side of an SMS gateway. ``fail_first`` requests get 503; a request whose
    number is in ``hold_at`` is accepted, then held until ``release`` is set (a crash test
    kills the sender meanwhile). ``delivered`` keeps one entry per Idempotency-Key."""

    fail_first: int = 0
    status: int = 503
    hold_at: set[int] = field(default_factory=set)
    requests: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # the path of each request, in order
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, key: str, body: dict[str, Any], path: str = "") -> tuple[int, bool]:
        with self.lock:
            self.requests.append((time.monotonic(), key, body))
            self.paths.append(path)
            number = len(self.requests)
            if number <= self.fail_first:
                return self.status, False
            if key not in self.delivered:
                self.delivered[key] = body
        return 200, number in self.hold_at

    def reply(self, handler: BaseHTTPRequestHandler, key: str, body: dict[str, Any]) -> None:
        """Answer the request ``handler`` serves as this gateway does, holding it when told."""
        status, hold = self.answer(key, body, handler.path)
        if hold:
            self.held.set()
            self.release.wait(30)
        send_json(handler, status, b'{"ok": true}' if status == 200 else b'{"error": "busy"}')


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            gateway.reply(self, self.headers.get("Idempotency-Key", ""), body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    gw = Gateway()
    with loopback_http(_handler(gw)) as base:
        try:
            yield gw, f"{base}/sms/send"
        finally:
            gw.release.set()  # a held answer ends before the server is shut down
