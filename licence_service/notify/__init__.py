"""The notifier: a transactional outbox of messages and the worker that delivers them.

Callers ``enqueue(session, …)`` inside the transaction of the change the message is about;
the delivery worker (started by ``licledger serve``, one per region by the ``notify`` lease)
sends through the channel's adapter — SMTP for e-mail, an SMS gateway's webhook for text
messages — with retries and back-off. See ARCHITECTURE.md, "Notifications".
"""

from licence_service.notify.adapters import (
    Adapter,
    DeliveryError,
    Outgoing,
    SmtpAdapter,
    WebhookAdapter,
)
from licence_service.notify.outbox import Enqueued, check_recipient, enqueue, idempotency_key
from licence_service.notify.setup import adapters_for, delivery_worker, holder_channels
from licence_service.notify.worker import DeliveryWorker, RetryPolicy, RoundResult, wait_idle
from licence_service.store.messages import Channel, Message, MessageState

__all__ = [
    "Adapter",
    "Channel",
    "DeliveryError",
    "DeliveryWorker",
    "Enqueued",
    "Message",
    "MessageState",
    "Outgoing",
    "RetryPolicy",
    "RoundResult",
    "SmtpAdapter",
    "WebhookAdapter",
    "adapters_for",
    "check_recipient",
    "delivery_worker",
    "enqueue",
    "holder_channels",
    "idempotency_key",
    "wait_idle",
]
