"""Personal API tokens: ``llt_<prefix>_<secret>``; the prefix is public, the rest is not.

Tokens carry 256 random bits, so a plain SHA-256 is the right stored form (a slow hash
protects guessable passwords, not random secrets) and lets every request check its token
in microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "llt_"
PREFIX_LEN = 10


def new_token() -> tuple[str, str]:
    """A fresh token and its prefix."""
    prefix = secrets.token_hex(PREFIX_LEN // 2)
    return f"{SCHEME}{prefix}_{secrets.token_urlsafe(32)}", prefix


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def prefix_of(token: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    body = token.removeprefix(SCHEME)
    if body == token or len(body) < PREFIX_LEN + 2 or body[PREFIX_LEN] != "_":
        return None
    return body[:PREFIX_LEN]


def matches(token: str, stored: bytes) -> bool:
    return hmac.compare_digest(token_hash(token), stored)
