"""Presentation codes (亮证): a holder's wallet shows a QR code that says "this holder shows
licence L, with these fields, now", signed for the region by the licence's issuing agency.

Why not the printed QR code: it never expires, so a photo of someone else's licence would
present it for ever. A presentation code carries a random nonce and the time it was made and
counts for :data:`MAX_AGE_SECONDS` (the wallet shows a fresh one every 30 s), so a screenshot
replayed later is refused as :attr:`~verifier.verdicts.Verdict.PRESENTATION_EXPIRED`.

It is bound to one licence version (``i``) and that version's data root (``d``), and carries
the fields the holder chose to show with their salts (``f``: name → [value, salt]): the same
salted field hashes as the field proofs of :mod:`verifier.fields`, so a counter online checks
each shown value against the anchored data root, and a code whose fields are not that
licence's (moved to another licence) is refused as
:attr:`~verifier.verdicts.Verdict.PRESENTATION_WRONG_LICENCE`.

The signature is the agency's compact QR signature (:mod:`signing.compact`), over the
domain-separated message ``LP1\\0<claims>``: a presentation can never pass for a printed code
(``LL1``) or the other way round, even though one key signs both. Tokens are canonical, as
those of :mod:`verifier.qr`: ``LP1.<claims>.<signature>``, base64url without padding, claims
the exact canonical JSON the service writes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from verifier.errors import VerificationError

PREFIX = "LP1"
DOMAIN = b"LP1\x00"
MAX_AGE_SECONDS = 120
CLOCK_SKEW_SECONDS = 30  # a code made up to this far "in the future" (the phone's clock) counts
REFRESH_SECONDS = 30
MAX_TOKEN_LENGTH = 2_048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class PresentationClaims:
    identifier: str  # the licence version shown
    data_root_prefix: str  # first 16 bytes of its data root, hex
    issuer_code: str
    region: int
    nonce: str
    issued_at: int  # unix seconds
    fields: dict[str, tuple[str, str]]  # name -> (value, salt hex)

    def message(self) -> bytes:
        return _canonical({
            "i": self.identifier, "d": self.data_root_prefix, "a": self.issuer_code,
            "r": self.region, "n": self.nonce, "s": self.issued_at,
            "f": {k: [v, salt] for k, (v, salt) in self.fields.items()},
        })  # fmt: skip

    def signed_message(self) -> bytes:
        return DOMAIN + self.message()

    @property
    def issued(self) -> datetime:
        return datetime.fromtimestamp(self.issued_at, tz=UTC)

    def age(self, now: datetime) -> float:
        return (now - self.issued).total_seconds()

    def fresh(self, now: datetime) -> bool:
        """Within :data:`MAX_AGE_SECONDS` of being made (and not from the far future)."""
        return -CLOCK_SKEW_SECONDS <= self.age(now) <= MAX_AGE_SECONDS


@dataclass(frozen=True)
class PresentationToken:
    claims: PresentationClaims
    signature: bytes


def encode_presentation(claims: PresentationClaims, signature: bytes) -> str:
    return f"{PREFIX}.{_b64(claims.message())}.{_b64(signature)}"


def is_presentation(text: str) -> bool:
    """Whether ``text`` (a token or a URL ending in one) is a presentation code."""
    return text.strip().rsplit("/", 1)[-1].startswith(PREFIX + ".")


def parse_presentation(text: str) -> PresentationToken:
    """Read a presentation token; ``VerificationError`` when malformed or not canonical."""
    token = text.strip().rsplit("/", 1)[-1]
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise VerificationError("not a presentation code: expected LP1.<claims>.<signature>")
    if len(token) > MAX_TOKEN_LENGTH:
        raise VerificationError(f"presentation code is longer than {MAX_TOKEN_LENGTH} characters")
    try:
        raw, signature = _unb64(parts[1]), _unb64(parts[2])
        body = json.loads(raw)
        fields = {str(k): (str(v[0]), str(v[1])) for k, v in dict(body["f"]).items()}
        if any(len(v) != 2 for v in dict(body["f"]).values()):
            raise ValueError("each field is [value, salt]")
        claims = PresentationClaims(
            identifier=str(body["i"]), data_root_prefix=str(body["d"]),
            issuer_code=str(body["a"]), region=int(body["r"]), nonce=str(body["n"]),
            issued_at=int(body["s"]), fields=fields,
        )  # fmt: skip
        canonical = claims.message()
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, IndexError) as exc:
        raise VerificationError(f"presentation code is damaged and cannot be read ({exc})") from exc
    if canonical != raw or _b64(raw) != parts[1] or _b64(signature) != parts[2]:
        raise VerificationError(
            "presentation code is not in canonical form: it was re-encoded, which a genuine "
            "code never is"
        )
    return PresentationToken(claims, signature)
