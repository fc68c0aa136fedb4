"""The notifier as the region's settings configure it."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from licence_service.notify.adapters import Adapter, SmtpAdapter, WebhookAdapter
from licence_service.notify.worker import DeliveryWorker, RetryPolicy
from licence_service.region.settings import NotifySettings
from licence_service.store.messages import Channel


def adapters_for(settings: NotifySettings) -> dict[str, Adapter]:
    """The adapters of the channels that are configured (an unconfigured channel's messages
    stay pending until it is)."""
    found: dict[str, Adapter] = {}
    if settings.smtp_host:
        found[Channel.EMAIL] = SmtpAdapter(
            settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.timeout
        )
    if settings.webhook_url:
        found[Channel.SMS] = WebhookAdapter(
            settings.webhook_url, settings.webhook_token, settings.timeout
        )
    return found


def delivery_worker(sessions: sessionmaker[Session], settings: NotifySettings) -> DeliveryWorker:
    policy = RetryPolicy(settings.max_attempts, settings.retry_base, settings.retry_cap)
    return DeliveryWorker(sessions, adapters_for(settings), policy)


def holder_channels(
    settings: NotifySettings, email: str | None, phone: str | None
) -> list[tuple[Channel, str]]:
    """How to reach a holder, best first: the configured holder channel, then the other one,
    each only if the holder gave that contact."""
    both = [(Channel.EMAIL, email), (Channel.SMS, phone)]
    if settings.holder_channel == Channel.SMS:
        both.reverse()
    return [(channel, to) for channel, to in both if to]
