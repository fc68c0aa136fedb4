"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from licence_service.domain.errors import InvalidInputError

# argon2id, t=3, m=64 MiB, p=4: RFC 9106's second recommended option, ~50-100 ms here.
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
MIN_LENGTH = 10


@cache
def _dummy() -> str:
    """Verified against when the username is unknown, so both cases take the same time; made
    on first use, not at import (a 64 MiB argon2 hash cost every CLI command its start-up)."""
    return _HASHER.hash("licledger-no-such-user")


def hash_password(password: str) -> str:
    """The PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(
            f"a password needs at least {MIN_LENGTH} characters", field="password"
        )
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a missing hash still costs one verify."""
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for a new account (shown once)."""
    return secrets.token_urlsafe(15)
