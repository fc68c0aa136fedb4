"""Region-to-region request authentication with EIP-712 signatures.

A calling region signs each request (method, path, body hash, its region code, the receiving
region's code, a random nonce and an expiry) with its agency's chain account. The receiving
region (the audience) is signed so that a receiver cannot replay a request to a third region
within its lifetime: a region refuses a request addressed to another region. The receiving
region recovers the account, asks the on-chain directory which region that account belongs
to, and refuses a request that is expired, replayed (nonce seen before), or signed by an
account the directory does not list for the claimed region. No shared secrets, nothing
exchanged in advance.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from licence_service.domain.errors import ServiceError
from licence_service.store.models import SeenNonce

MAX_LIFETIME = 300  # seconds a signed request may be valid for
HEADERS = (
    "x-ll-region",
    "x-ll-to-region",
    "x-ll-account",
    "x-ll-nonce",
    "x-ll-expiry",
    "x-ll-signature",
)

TYPES = {
    "Request": [
        {"name": "method", "type": "string"},
        {"name": "path", "type": "string"},
        {"name": "bodyHash", "type": "bytes32"},
        {"name": "fromRegion", "type": "uint32"},
        {"name": "toRegion", "type": "uint32"},
        {"name": "nonce", "type": "bytes32"},
        {"name": "expiry", "type": "uint64"},
    ]
}


class AuthError(ServiceError):
    status_code = 401


class WrongAudience(AuthError):
    """An authentic-looking request addressed to another region (a replay to a third party)."""

    status_code = 403


@dataclass(frozen=True)
class Domain:
    """EIP-712 domain: the consortium's chain and its directory contract."""

    chain_id: int
    directory: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": "LicenceLedger",
            "version": "1",
            "chainId": self.chain_id,
            "verifyingContract": self.directory,
        }


def _message(
    method: str, path: str, body: bytes, region: int, to_region: int, nonce: bytes, expiry: int
) -> dict[str, Any]:
    return {
        "method": method.upper(),
        "path": path,
        "bodyHash": hashlib.sha256(body).digest(),
        "fromRegion": region,
        "toRegion": to_region,
        "nonce": nonce,
        "expiry": expiry,
    }


def sign_request(
    domain: Domain,
    account: LocalAccount,
    region: int,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    to_region: int,
) -> dict[str, str]:
    """Headers that authenticate one request from ``region`` to ``to_region`` (the audience)."""
    nonce, expiry = os.urandom(32), int(time.time()) + 120
    signable = encode_typed_data(
        domain.as_dict(), TYPES, _message(method, path, body, region, to_region, nonce, expiry)
    )
    signature = account.sign_message(signable).signature
    return {
        "X-LL-Region": str(region),
        "X-LL-To-Region": str(to_region),
        "X-LL-Account": account.address,
        "X-LL-Nonce": nonce.hex(),
        "X-LL-Expiry": str(expiry),
        "X-LL-Signature": "0x" + bytes(signature).hex(),
    }


@dataclass(frozen=True)
class Caller:
    region: int
    account: str


def verify_request(
    domain: Domain,
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    region_of: Callable[[str], int],
    sessions: sessionmaker[Session],
    *,
    audience: int,
) -> Caller:
    """Check a signed request addressed to region ``audience`` (the receiver's own code);
    returns the calling region or raises ``AuthError``."""
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in HEADERS if h not in lower]
    if missing:
        raise AuthError(f"unsigned request: missing headers {', '.join(missing)}")
    try:
        region = int(lower["x-ll-region"])
        to_region = int(lower["x-ll-to-region"])
        expiry = int(lower["x-ll-expiry"])
        nonce = bytes.fromhex(lower["x-ll-nonce"])
        signature = bytes.fromhex(lower["x-ll-signature"].removeprefix("0x"))
    except ValueError as exc:
        raise AuthError(f"malformed signature headers ({exc})") from exc
    if to_region != audience:
        raise WrongAudience(
            f"the signed request is addressed to region {to_region}, not to this region "
            f"{audience}: refused (a request is valid only at the region it names)"
        )
    now = int(time.time())
    if expiry < now:
        raise AuthError("the signed request has expired")
    if expiry > now + MAX_LIFETIME:
        raise AuthError(f"the signed request is valid for more than {MAX_LIFETIME} s")
    signable = encode_typed_data(
        domain.as_dict(), TYPES, _message(method, path, body, region, to_region, nonce, expiry)
    )
    try:
        signer = Account.recover_message(signable, signature=signature)
    except Exception as exc:
        raise AuthError("the request signature cannot be recovered") from exc
    if signer.lower() != lower["x-ll-account"].lower():
        raise AuthError("the request was not signed by the account it names")
    member = region_of(signer)
    if member != region:
        raise AuthError(
            f"account {signer} is not an account of region {region} in the on-chain directory"
        )
    with sessions.begin() as s:
        s.execute(delete(SeenNonce).where(SeenNonce.expiry < now))
    try:
        with sessions.begin() as s:
            if s.scalar(select(SeenNonce.nonce).where(SeenNonce.nonce == nonce)) is not None:
                raise AuthError("replayed request: this nonce was used before")
            s.add(SeenNonce(nonce=nonce, expiry=expiry))
    except IntegrityError as exc:
        raise AuthError("replayed request: this nonce was used before") from exc
    return Caller(region, signer)
