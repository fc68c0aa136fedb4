"""QR payloads: compact claims signed by the issuing agency, checkable offline at a counter.

A printed QR code cannot carry the digest of the PDF it is printed on, so it carries the
licence identifier, a prefix of the data root, the validity end, the licence type, the holder's
name masked (so a counter can compare it with the paper) and the issuer, signed with the
agency's document-signing key. The on-chain lookup key hashes exactly these signed claims, so
every claim is committed by the agency's anchoring: a QR whose claims differ from what was
anchored, even one signed with a stolen key, finds no leaf.

Only canonical tokens are accepted: the claims must be the exact canonical JSON the issuer
writes, base64url without padding, and the signature in low-S form; any other encoding of the
same claims or signature is refused, so one licence has one token.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric import ec

from signing import sm2
from signing.compact import sign_compact
from verifier.errors import VerificationError

PREFIX = "LL1"
MAX_TOKEN_LENGTH = 1_024


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
    type_code: str = ""
    holder_masked: str = ""

    def message(self) -> bytes:
        body = {
            "i": self.identifier,
            "d": self.data_root_prefix,
            "x": self.valid_until.strftime("%Y%m%d"),
            "a": self.issuer_code,
            "r": self.region,
            "t": self.type_code,
            "h": self.holder_masked,
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class QrToken:
    claims: QrClaims
    signature: bytes

    @property
    def message(self) -> bytes:
        return self.claims.message()


def encode_token(claims: QrClaims, key: ec.EllipticCurvePrivateKey | sm2.PrivateKey) -> str:
    """The signed token (ECDSA P-256, or SM2 for an ``sm`` region's key)."""
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
    if len(token) > MAX_TOKEN_LENGTH:
        raise VerificationError(f"QR payload is longer than {MAX_TOKEN_LENGTH} characters")
    try:
        raw, signature = _unb64(parts[1]), _unb64(parts[2])
        body = json.loads(raw)
        x = str(body["x"])
        if len(x) != 8 or not x.isdigit():
            raise ValueError("validity end must be 8 digits YYYYMMDD")
        claims = QrClaims(
            identifier=str(body["i"]),
            data_root_prefix=str(body["d"]),
            valid_until=date(int(x[:4]), int(x[4:6]), int(x[6:8])),
            issuer_code=str(body["a"]),
            region=int(body["r"]),
            type_code=str(body.get("t", "")),
            holder_masked=str(body.get("h", "")),
        )
        canonical = claims.message()  # a lone surrogate (\ud800) cannot be UTF-8: damaged
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise VerificationError(f"QR payload is damaged and cannot be read ({exc})") from exc
    if canonical != raw or _b64(raw) != parts[1] or _b64(signature) != parts[2]:
        raise VerificationError(
            "QR payload is not in canonical form: its claims or signature were re-encoded, "
            "which a genuine code never is"
        )
    return QrToken(claims, signature)
