"""Private keys at rest: scrypt-derived key, AES-256-GCM envelope, parameters in the file.

PKCS#8 ``BestAvailableEncryption`` derives its key with PBKDF2 at 2,048 iterations — cheap to
brute-force. Here the key-encryption key comes from scrypt (memory-hard), and the parameters
travel in the file's headers so that a key saved at one cost still opens after the default
changes::

    -----BEGIN LICLEDGER ENCRYPTED PRIVATE KEY-----
    KDF: scrypt
    KDF-N: 131072
    KDF-R: 8
    KDF-P: 1
    KDF-Salt: <32 hex>
    Cipher: AES-256-GCM
    Nonce: <24 hex>

    <base64 of the encrypted PKCS#8 DER and its 16-byte tag>
    -----END LICLEDGER ENCRYPTED PRIVATE KEY-----

The header block is the AEAD's associated data: changing any parameter makes decryption fail.
The default cost is N = 2^17, r = 8, p = 1 (128 MiB, ~0.5-1 s); ``LICLEDGER_KEY_SCRYPT_N``
lowers or raises N (a power of two, 2^10 .. 2^20), e.g. to keep a test suite fast.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from signing.errors import KeystoreError

BEGIN = "-----BEGIN LICLEDGER ENCRYPTED PRIVATE KEY-----"
END = "-----END LICLEDGER ENCRYPTED PRIVATE KEY-----"
DEFAULT_N = 2**17
MIN_LOG2_N, MAX_LOG2_N = 10, 20
ENV_N = "LICLEDGER_KEY_SCRYPT_N"


@dataclass(frozen=True)
class KdfParams:
    """scrypt parameters of one stored key."""

    n: int
    r: int = 8
    p: int = 1
    salt: bytes = b""

    def check(self, where: str) -> None:
        log2 = self.n.bit_length() - 1
        if self.n != 1 << log2 or not MIN_LOG2_N <= log2 <= MAX_LOG2_N:
            raise KeystoreError(
                f"{where}: scrypt N={self.n} must be a power of two from 2^{MIN_LOG2_N} to "
                f"2^{MAX_LOG2_N}"
            )
        if not (1 <= self.r <= 32 and 1 <= self.p <= 16 and len(self.salt) >= 16):
            raise KeystoreError(f"{where}: scrypt r={self.r}, p={self.p} or salt out of range")


def configured_n() -> int:
    """N for keys saved now: ``LICLEDGER_KEY_SCRYPT_N`` or the strong default."""
    raw = os.environ.get(ENV_N, str(DEFAULT_N))
    try:
        n = int(raw)
    except ValueError:
        raise KeystoreError(f"{ENV_N}={raw!r} is not a whole number") from None
    KdfParams(n, salt=bytes(16)).check(ENV_N)
    return n


def _kek(params: KdfParams, passphrase: bytes) -> bytes:
    return Scrypt(salt=params.salt, length=32, n=params.n, r=params.r, p=params.p).derive(
        passphrase
    )


def _header(params: KdfParams, nonce: bytes) -> str:
    return (
        f"KDF: scrypt\nKDF-N: {params.n}\nKDF-R: {params.r}\nKDF-P: {params.p}\n"
        f"KDF-Salt: {params.salt.hex()}\nCipher: AES-256-GCM\nNonce: {nonce.hex()}\n"
    )


def seal(key: PrivateKeyTypes, passphrase: bytes, n: int | None = None) -> bytes:
    """The envelope (PEM-like text) of ``key`` under ``passphrase``."""
    params = KdfParams(configured_n() if n is None else n, salt=os.urandom(16))
    params.check("scrypt cost")
    nonce = os.urandom(12)
    header = _header(params, nonce)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    sealed = AESGCM(_kek(params, passphrase)).encrypt(nonce, der, header.encode())
    body = base64.encodebytes(sealed).decode()
    return f"{BEGIN}\n{header}\n{body}{END}\n".encode()


def is_sealed(data: bytes) -> bool:
    return data.lstrip().startswith(BEGIN.encode())


def read_params(data: bytes, where: str = "key file") -> tuple[KdfParams, bytes, str, bytes]:
    """(KDF parameters, nonce, header text, ciphertext) of an envelope; errors name ``where``."""
    try:
        text = data.decode("ascii").strip()
        inner = text.removeprefix(BEGIN).removesuffix(END).strip("\n")
        head, body = inner.split("\n\n", 1)
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        if fields.get("KDF") != "scrypt" or fields.get("Cipher") != "AES-256-GCM":
            raise ValueError("unknown KDF or cipher")
        params = KdfParams(
            int(fields["KDF-N"]),
            int(fields["KDF-R"]),
            int(fields["KDF-P"]),
            bytes.fromhex(fields["KDF-Salt"]),
        )
        nonce = bytes.fromhex(fields["Nonce"])
        sealed = base64.decodebytes(body.encode())
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise KeystoreError(f"{where} is not a readable encrypted key ({exc}); restore it") from exc
    params.check(where)
    return params, nonce, head + "\n", sealed


def open_sealed(data: bytes, passphrase: bytes, where: str = "key file") -> PrivateKeyTypes:
    """Decrypt an envelope; a wrong passphrase (or any change to the file) is a clear error."""
    params, nonce, header, sealed = read_params(data, where)
    try:
        der = AESGCM(_kek(params, passphrase)).decrypt(nonce, sealed, header.encode())
    except InvalidTag:
        raise KeystoreError(
            f"cannot decrypt {where}: wrong passphrase (or a corrupted key file); use the "
            "passphrase the credentials were saved with (LICLEDGER_KEY_PASSPHRASE or "
            "LICLEDGER_KEY_PASSPHRASE_FILE)."
        ) from None
    return serialization.load_der_private_key(der, password=None)
