"""Pushed changes: signed by the sending region, checked by the receiving one.

A delivery is a JSON body (the subscription, the changes, the cursor range and a delivery
id) POSTed to the subscriber's webhook with these headers:

- ``X-LL-Delivery``: the delivery id (also ``Idempotency-Key``), the same on every attempt:
  the receiver drops a repeat (at-least-once delivery: a sender killed after the receiver
  accepted sends again);
- ``X-LL-Region``: the sending region's code;
- ``X-LL-Certificate``: the SHA-256 fingerprint of the signing certificate, registered for
  that region in the on-chain directory;
- ``X-LL-Signature``: the compact signature (64 bytes ``r || s``, hex) of
  ``licledger-push/1 \\n delivery \\n from \\n to \\n sha256(body)`` with that certificate's key,
  ECDSA P-256 or SM2 as the region's suite is (``signing.compact``).

The receiver (:func:`verify_push`) needs nothing exchanged in advance: the certificate, its
region, revocation and compromise come from the directory's events on the chain.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from licence_service.domain.errors import ServiceError
from licence_service.notify.adapters import Outgoing, post
from signing.compact import sign_compact, verify_compact
from signing.credentials import Credentials
from verifier.trust import RegisteredCertificate

__all__ = [
    "MemorySeen",
    "PushAdapter",
    "PushRefused",
    "PushSigner",
    "SeenDeliveries",
    "VerifiedPush",
    "push_headers",
    "signed_message",
    "verify_push",
]

CONTEXT = b"licledger-push/1"


class PushRefused(ServiceError):
    """A push the receiver must refuse: unsigned, altered, or signed by a key the directory
    does not give the region it claims (answer 401)."""

    status_code = 401


def signed_message(delivery: str, from_region: int, to_region: int, body: bytes) -> bytes:
    """What the signature covers: the delivery id, both regions and the body's hash."""
    digest = hashlib.sha256(body).hexdigest()
    return b"\n".join([CONTEXT, delivery.encode(), str(from_region).encode(),
                       str(to_region).encode(), digest.encode()])  # fmt: skip


@dataclass(frozen=True)
class PushSigner:
    """The sending region and the agency credentials it signs with (its directory key)."""

    region: int
    credentials: Credentials


def push_headers(signer: PushSigner, delivery: str, to_region: int, body: bytes) -> dict[str, str]:
    signature = sign_compact(
        signer.credentials.key, signed_message(delivery, signer.region, to_region, body)
    )
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery,
        "X-LL-Delivery": delivery,
        "X-LL-Region": str(signer.region),
        "X-LL-Certificate": signer.credentials.fingerprint,
        "X-LL-Signature": signature.hex(),
    }


@dataclass(frozen=True)
class PushAdapter:
    """The outbox adapter of the ``push`` channel: ``recipient`` is the webhook URL, ``body``
    the delivery's JSON (its ``to_region`` is the audience signed). ``signer`` is asked at
    every attempt, so a push after a certificate rotation is signed with the new key."""

    signer: Callable[[], PushSigner]
    timeout: float = 10.0

    def send(self, message: Outgoing) -> None:
        body = message.body.encode("utf-8")
        to_region = int(json.loads(body)["to_region"])
        headers = push_headers(self.signer(), message.key, to_region, body)
        post(message.recipient, body, headers, self.timeout, "the subscriber's webhook")


class CertificateSource(Protocol):
    """Where the receiver finds registered certificates (``ChainCertificates``)."""

    def by_fingerprint(self, fingerprint: str) -> RegisteredCertificate | None: ...


class SeenDeliveries(Protocol):
    """The receiver's record of delivery ids; ``add`` is False for one seen before."""

    def add(self, delivery: str) -> bool: ...


class MemorySeen:
    """Delivery ids kept in memory, lost on a restart: for tests and one-off receivers. A
    receiver that runs as a service keeps them on disk (``push_seen.SqliteSeen``) or in its
    own database, or it applies a repeat sent after its restart twice."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def add(self, delivery: str) -> bool:
        if delivery in self.ids:
            return False
        self.ids.add(delivery)
        return True


@dataclass(frozen=True)
class VerifiedPush:
    delivery: str
    region: int
    payload: dict[str, Any]
    duplicate: bool  # this delivery id was seen before: acknowledge, apply nothing


def _certificate(directory: CertificateSource, fingerprint: str, region: int, now: int) -> Any:
    found = directory.by_fingerprint(fingerprint.lower())
    if found is None or found.cert is None:
        raise PushRefused(f"certificate {fingerprint} is not registered in the directory")
    if found.region != region:
        raise PushRefused(
            f"certificate {fingerprint} belongs to region {found.region}, not to region "
            f"{region} that the push claims to come from"
        )
    if found.suite_problem:
        raise PushRefused(f"certificate {fingerprint} counts for nothing: {found.suite_problem}")
    if found.revoked_at and found.revoked_at <= now:
        raise PushRefused(f"certificate {fingerprint} was revoked")
    if found.compromised_at and found.compromised_at <= now:
        raise PushRefused(f"certificate {fingerprint} was reported compromised")
    return found.cert


def verify_push(
    directory: CertificateSource,
    headers: Mapping[str, str],
    body: bytes,
    *,
    audience: int,
    seen: SeenDeliveries | None = None,
) -> VerifiedPush:
    """Check a received push; the verified delivery, or ``PushRefused`` saying why.

    Checks, in order: the headers are there; the certificate is in the directory for the
    region claimed, neither revoked nor compromised; the signature over delivery id, both
    regions and the body holds with it (any altered byte fails); the body names this region
    (``audience``) and the same delivery and region. ``seen`` (the receiver's delivery ids)
    marks a repeat as ``duplicate``."""
    lower = {k.lower(): v for k, v in headers.items()}
    names = ("x-ll-delivery", "x-ll-region", "x-ll-certificate", "x-ll-signature")
    missing = [h for h in names if not lower.get(h)]
    if missing:
        raise PushRefused(f"unsigned push: missing headers {', '.join(missing)}")
    delivery = lower["x-ll-delivery"]
    try:
        region = int(lower["x-ll-region"])
        signature = bytes.fromhex(lower["x-ll-signature"])
    except ValueError as exc:
        raise PushRefused(f"malformed push headers ({exc})") from exc
    cert = _certificate(directory, lower["x-ll-certificate"], region, int(time.time()))
    if not verify_compact(cert, signed_message(delivery, region, audience, body), signature):
        raise PushRefused(
            f"the push's signature does not hold for region {region}'s certificate and this "
            f"region {audience}: altered in transit, addressed elsewhere or forged"
        )
    payload = json.loads(body)
    if payload.get("delivery") != delivery or payload.get("from_region") != region:
        raise PushRefused("the push's body names another delivery or region than its headers")
    duplicate = seen is not None and not seen.add(delivery)
    return VerifiedPush(delivery, region, payload, duplicate)
