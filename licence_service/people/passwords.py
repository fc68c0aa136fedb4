"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile), and the choice
of password as NIST SP 800-63B asks: at least :data:`MIN_LENGTH` characters, no composition
rules, and none that an attacker would try early.

"Tried early" is decided by ``zxcvbn`` (Dropbox's estimator: common passwords, English words,
names, keyboard walks, repeats, sequences, dates, l33t), which is also given the words of this
context (the username, the display name, the product's name) so that ``li-si2026!`` or
``licence-ledger`` count as guessable. A password it scores below :data:`MIN_SCORE` is refused
with the reason it found and what to do instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from zxcvbn import zxcvbn

from licence_service.domain.errors import InvalidInputError

# argon2id, t=3, m=64 MiB, p=4: RFC 9106's second recommended option, ~50-100 ms here.
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
MIN_LENGTH = 10
MAX_LENGTH = 1000  # NIST: accept at least 64; more than this is no password but a paste error
# zxcvbn's score 3: "safely unguessable" (about 10^8 guesses or more); 0-2 are what a
# password list, a dictionary or a pattern finds first.
MIN_SCORE = 3
_CHECKED_CHARS = 72  # zxcvbn refuses longer input (its matching is superlinear)
PRODUCT_WORDS = ("licledger", "licence", "license", "ledger", "licenceledger", "licence ledger")


@cache
def _dummy() -> str:
    """Verified against when the username is unknown, so both cases take the same time; made
    on first use, not at import (a 64 MiB argon2 hash cost every CLI command its start-up)."""
    return _HASHER.hash("licledger-no-such-user")


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Why ``password`` may not be chosen, or None. ``context``: the username, the display
    name and other words of this person, which an attacker would try first."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters; a few words make a good one"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    words = [w for w in (*context, *PRODUCT_WORDS) if w]
    words += [part for w in words for part in w.replace("_", "-").replace(".", "-").split("-")]
    result = zxcvbn(password[:_CHECKED_CHARS], user_inputs=[w.lower() for w in words if w])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    why = feedback.get("warning") or "this password is among the first an attacker would try"
    advice = " ".join(feedback.get("suggestions") or ())
    return (
        f"this password is too easy to guess: {why.rstrip('.')}. Choose another: "
        f"{advice or 'a few unrelated words'} (no special characters are required)"
    )


def check_password(password: str, context: Iterable[str] = ()) -> None:
    """Refuse a guessable password (see :func:`password_problem`) with the reason."""
    problem = password_problem(password, context)
    if problem is not None:
        raise InvalidInputError(problem, field="password")


def hash_password(password: str, context: Iterable[str] = ()) -> str:
    """The PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash`` of an acceptable password."""
    check_password(password, context)
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a missing hash still costs one verify."""
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for a new account (shown once): 120 random bits, always accepted."""
    return secrets.token_urlsafe(15)
