"""The field key: sensitive licence data encrypted at rest, with a key outside the database.

Sensitive fields (a licence type's ``sensitive`` class and every holder ID) are stored as
``fk1.<suite>.<base64(nonce || ciphertext)>``: AES-256-GCM in an ``intl`` region, SM4-GCM
(GB/T 32907, RFC 8998) in an ``sm`` region, with the column's name as associated data (a value
moved into another column does not open). Holder IDs are found by a keyed hash instead
(``holder_hash``: HMAC-SHA256 of the normalised ID under a key derived from the same file),
so a lookup by holder ID works without the plaintext in the database.

The key file holds a ``Suite:`` line (the region's suite when the file was made; from then on
the file, not the configuration, says how its values are sealed) and 32 random bytes in hex.
It is ``LICLEDGER_FIELD_KEY_FILE``, or in development ``keys/field.key`` in the data
directory, made once when the schema is created or migrated. In production it must be set
and lie outside the data directory, like the key passphrase: a database (or its backup)
alone then reveals no sensitive value. Without the file nothing sensitive can be read or
written, and the error says which file and variable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tongsuopy.crypto.ciphers.aead import SM4GCM
from tongsuopy.crypto.exceptions import InvalidTag as SM4InvalidTag

from licence_service.domain.errors import ServiceError

__all__ = [
    "ENV_FIELD_KEY_FILE",
    "FieldKey",
    "FieldKeyError",
    "FieldKeyMissingError",
    "is_sealed",
    "normalise_holder_id",
]

ENV_FIELD_KEY_FILE = "LICLEDGER_FIELD_KEY_FILE"
PREFIX = "fk1."
SUITES = ("intl", "sm")


class FieldKeyError(ServiceError):
    """The field key cannot be used (unreadable, malformed, or a value does not open)."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message, field="field_key")


class FieldKeyMissingError(FieldKeyError):
    """Sensitive data was asked for and the field key file is not there."""


def is_sealed(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith(PREFIX)


def normalise_holder_id(holder_id: str) -> str:
    """The form a holder ID is hashed in: NFKC, no spaces, upper case (``x`` check digit)."""
    return "".join(unicodedata.normalize("NFKC", holder_id).split()).upper()


@dataclass(frozen=True)
class _Keys:
    suite: str
    enc: bytes
    mac: bytes


class FieldKey:
    """One region's field key file; read on first use, made only by :meth:`create`."""

    def __init__(self, path: Path, suite: str = "intl", production: bool = False,
                 home: Path | None = None) -> None:  # fmt: skip
        self.path = path
        self.suite = suite if suite in SUITES else "intl"
        self.production = production
        self.home = home
        self._keys: _Keys | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_home(cls, home: Path, production: bool = False, suite: str | None = None) -> FieldKey:
        """The region's key: ``LICLEDGER_FIELD_KEY_FILE`` or ``<home>/keys/field.key``."""
        env = os.environ.get(ENV_FIELD_KEY_FILE)
        path = Path(env) if env else home / "keys" / "field.key"
        chosen = suite or os.environ.get("LICLEDGER_CRYPTO_SUITE", "intl")
        return cls(path, chosen, production, home)

    # ------------------------------------------------------------------ the file
    def _where(self) -> str:
        return f"the field key {self.path} ({ENV_FIELD_KEY_FILE})"

    def check_placement(self) -> None:
        """Production: the file must be configured and lie outside the data directory."""
        if not self.production:
            return
        if not os.environ.get(ENV_FIELD_KEY_FILE):
            raise FieldKeyError(
                f"production mode needs {ENV_FIELD_KEY_FILE}: the file of the key sensitive "
                "fields are encrypted with, kept outside the data directory (a secrets mount)"
            )
        if self.home is not None and self.path.resolve().is_relative_to(self.home.resolve()):
            raise FieldKeyError(
                f"{ENV_FIELD_KEY_FILE}={self.path} lies inside the data directory {self.home}: "
                "a key stored next to the database protects nothing; move it outside"
            )

    def create(self) -> bool:
        """Make the key file if it is missing (a new or migrated database); in production
        only where configured. Returns whether a file was made."""
        self.check_placement()
        if self.path.exists():
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = f"Suite: {self.suite}\nKey: {os.urandom(32).hex()}\n".encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return True

    def _load(self) -> _Keys:
        if self._keys is not None:
            return self._keys
        with self._lock:
            if self._keys is None:
                self._keys = self._read()
        return self._keys

    def _read(self) -> _Keys:
        self.check_placement()
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise FieldKeyMissingError(
                f"{self._where()} is missing: this region's sensitive fields (holder IDs, the "
                "licence types' sensitive fields) are encrypted with it and cannot be read or "
                f"written without it. Restore the file from the region's backup, or set "
                f"{ENV_FIELD_KEY_FILE} to where it is kept"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FieldKeyError(f"{self._where()} cannot be read: {exc}") from exc
        lines = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        try:
            suite, raw = lines["Suite"].strip(), bytes.fromhex(lines["Key"].strip())
        except (KeyError, ValueError):
            raise FieldKeyError(f"{self._where()} is malformed (Suite: and Key: lines)") from None
        if suite not in SUITES or len(raw) != 32:
            raise FieldKeyError(f"{self._where()}: unknown suite {suite!r} or key not 32 bytes")
        derive = lambda label: hmac.new(raw, label, hashlib.sha256).digest()  # noqa: E731
        enc = derive(b"licledger field encryption")
        return _Keys(suite, enc if suite == "intl" else enc[:16], derive(b"licledger holder id"))

    # ------------------------------------------------------------------ values
    def seal(self, value: str, column: str) -> str:
        """``value`` encrypted for ``column`` (the associated data)."""
        keys = self._load()
        nonce = os.urandom(12)
        aead = AESGCM(keys.enc) if keys.suite == "intl" else SM4GCM(keys.enc)
        body = aead.encrypt(nonce, value.encode("utf-8"), column.encode())
        return f"{PREFIX}{keys.suite}.{base64.b64encode(nonce + body).decode()}"

    def open(self, token: str, column: str) -> str:
        """The plaintext of a sealed ``token`` of ``column``."""
        keys = self._load()
        try:
            _, suite, data = token.split(".", 2)
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise FieldKeyError(f"a sealed value of {column} is malformed") from None
        if suite != keys.suite:
            raise FieldKeyError(
                f"a value of {column} is sealed with {suite}, the key is {keys.suite}"
            )
        aead = AESGCM(keys.enc) if suite == "intl" else SM4GCM(keys.enc)
        try:
            return aead.decrypt(raw[:12], raw[12:], column.encode()).decode("utf-8")
        except (InvalidTag, SM4InvalidTag):
            raise FieldKeyError(
                f"a sealed value of {column} does not open with {self._where()}: the file is "
                "not the one the database was written with (or the value was altered)"
            ) from None

    def holder_hash(self, holder_id: str) -> bytes:
        """The keyed hash a holder ID is looked up by (32 bytes)."""
        mac = self._load().mac
        return hmac.new(mac, normalise_holder_id(holder_id).encode(), hashlib.sha256).digest()
