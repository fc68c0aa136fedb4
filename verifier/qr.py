"""QR payloads: compact claims signed by the issuing agency, checkable offline at a counter.

A printed QR code cannot carry the digest of the PDF it is printed on, so it carries the
licence identifier (hence its lookup key on-chain), a prefix of the data root, the validity
end and the issuer, signed with the agency's document-signing key. The whole is a URL of the
issuing region's status page, so any phone camera opens it, and a counter application reads
the token out of the URL.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric import ec

from signing.compact import sign_compact
from verifier.errors import VerificationError

PREFIX = "LL1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class QrClaims:
    identifier: str
    data_root_prefix: str
    valid_until: date
    issuer_code: str
    region: int

    def message(self) -> bytes:
        body = {
            "i": self.identifier,
            "d": self.data_root_prefix,
            "x": self.valid_until.strftime("%Y%m%d"),
            "a": self.issuer_code,
            "r": self.region,
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class QrToken:
    claims: QrClaims
    signature: bytes

    @property
    def message(self) -> bytes:
        return self.claims.message()


def encode_token(claims: QrClaims, key: ec.EllipticCurvePrivateKey) -> str:
    message = claims.message()
    return f"{PREFIX}.{_b64(message)}.{_b64(sign_compact(key, message))}"


def token_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/v/{token}"


def parse_token(text: str) -> QrToken:
    """Read a token, or a URL ending in one; raises ``VerificationError`` when malformed."""
    token = text.strip().rsplit("/", 1)[-1]
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise VerificationError(
            "not a Licence Ledger QR payload: expected LL1.<claims>.<signature> or a URL "
            "ending in one"
        )
    try:
        body = json.loads(_unb64(parts[1]))
        claims = QrClaims(
            identifier=str(body["i"]),
            data_root_prefix=str(body["d"]),
            valid_until=date(int(body["x"][:4]), int(body["x"][4:6]), int(body["x"][6:8])),
            issuer_code=str(body["a"]),
            region=int(body["r"]),
        )
        signature = _unb64(parts[2])
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"QR payload is damaged and cannot be read ({exc})") from exc
    return QrToken(claims, signature)
