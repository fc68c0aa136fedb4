"""Adapters: how a claimed message leaves the service. Each carries the message's
idempotency key, the same on every attempt, so a receiver can drop a repeat (see
ARCHITECTURE.md, "Notifications").

- ``SmtpAdapter``: standard-library ``smtplib`` to a relay; the key is the ``Message-ID``.
- ``WebhookAdapter``: a JSON POST in an SMS gateway's shape, the key in ``Idempotency-Key``.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message as an adapter sees it."""

    key: str  # the idempotency key (``outbox.idempotency_key``)
    recipient: str
    subject: str
    body: str


class DeliveryError(Exception):
    """Sending failed. ``permanent``: retrying cannot help (the receiver refused the message
    or the address); otherwise the worker tries again later."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Adapter(Protocol):
    def send(self, message: Outgoing) -> None:
        """Deliver ``message`` or raise ``DeliveryError``; must give up within ``timeout``."""

    @property
    def timeout(self) -> float: ...


@dataclass(frozen=True)
class SmtpAdapter:
    """E-mail through an SMTP relay (``smtplib``; no authentication or TLS: a relay on the
    region's own network, as the operator's guide describes)."""

    host: str
    port: int
    sender: str
    timeout: float = 10.0

    def message(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "licledger.invalid"
        mail["Message-ID"] = f"<{message.key}@{domain}>"
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                refused = smtp.send_message(self.message(message))
        except smtplib.SMTPRecipientsRefused as exc:
            why = f"the SMTP server refused {message.recipient}: {exc}"
            raise DeliveryError(why, permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise DeliveryError(f"the SMTP server refused {sorted(refused)}", permanent=True)


@dataclass(frozen=True)
class WebhookAdapter:
    """A text message through an SMS gateway's HTTP API: ``POST url`` with
    ``{"to", "text", "subject", "id"}`` as JSON, ``Idempotency-Key: <key>`` and, when set,
    ``Authorization: Bearer <token>``. 2xx is delivered; 408, 425, 429 and 5xx are retried;
    any other 4xx is permanent."""

    url: str
    token: str = ""
    timeout: float = 10.0

    def send(self, message: Outgoing) -> None:
        payload = {
            "to": message.recipient,
            "text": message.body,
            "subject": message.subject,
            "id": message.key,
        }
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        post(self.url, json.dumps(payload).encode(), headers, self.timeout, "the gateway")


def post(url: str, data: bytes, headers: dict[str, str], timeout: float, who: str) -> None:
    """POST ``data`` to ``url``: 2xx is delivered; 408, 425, 429, 5xx and an unreachable
    receiver are retried (``DeliveryError``); any other 4xx is a permanent refusal."""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(4096)
    except urllib.error.HTTPError as exc:
        retry = exc.code in (408, 425, 429) or exc.code >= 500
        raise DeliveryError(f"{who} answered {exc.code} {exc.reason}", not retry) from exc
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{who} at {url} is unreachable: {exc}") from exc
