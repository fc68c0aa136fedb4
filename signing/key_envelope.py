"""Private keys at rest: scrypt-derived key, AES-256-GCM (or SM4-GCM) envelope, parameters in
the file.

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
    Suite: intl

    <base64 of the encrypted PKCS#8 DER and its 16-byte tag>
    -----END LICLEDGER ENCRYPTED PRIVATE KEY-----

The header block is the AEAD's associated data: changing any parameter makes decryption fail.
The cipher follows the key's crypto suite (:mod:`signing.suites`): a P-256 key (``intl``) is
sealed with AES-256-GCM, an SM2 key (``sm``) with SM4-GCM (RFC 8998; SM4 of GB/T 32907) under
the first 16 bytes' worth of the same scrypt derivation, and ``Suite:`` records which. A file
written before suites existed has no ``Suite:`` line; it is an ``intl`` file and still opens.
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
from tongsuopy.crypto.ciphers.aead import SM4GCM
from tongsuopy.crypto.exceptions import InvalidTag as SM4InvalidTag

from signing import sm2
from signing.errors import KeystoreError
from signing.suites import INTL, SM, CryptoSuite, suite_of_key

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


_CIPHERS = {INTL.name: INTL.cipher, SM.name: SM.cipher}
"""Suite name -> the ``Cipher:`` header value of its envelopes."""


def _kek(params: KdfParams, passphrase: bytes, length: int = 32) -> bytes:
    return Scrypt(salt=params.salt, length=length, n=params.n, r=params.r, p=params.p).derive(
        passphrase
    )


def _aead(suite: CryptoSuite, params: KdfParams, passphrase: bytes) -> AESGCM | SM4GCM:
    """The envelope's AEAD keyed from the passphrase: SM4-GCM (128-bit key) for ``sm``."""
    if suite is SM:
        return SM4GCM(_kek(params, passphrase, 16))
    return AESGCM(_kek(params, passphrase))


def _header(params: KdfParams, nonce: bytes, suite: CryptoSuite) -> str:
    return (
        f"KDF: scrypt\nKDF-N: {params.n}\nKDF-R: {params.r}\nKDF-P: {params.p}\n"
        f"KDF-Salt: {params.salt.hex()}\nCipher: {suite.cipher}\nNonce: {nonce.hex()}\n"
        f"Suite: {suite.name}\n"
    )


def seal(key: PrivateKeyTypes | sm2.PrivateKey, passphrase: bytes, n: int | None = None) -> bytes:
    """The envelope (PEM-like text) of ``key`` under ``passphrase``, in the key's suite."""
    suite = suite_of_key(key)
    params = KdfParams(configured_n() if n is None else n, salt=os.urandom(16))
    params.check("scrypt cost")
    nonce = os.urandom(12)
    header = _header(params, nonce, suite)
    if suite is SM:
        der = sm2.private_key_der(key)  # type: ignore[arg-type]  # suite_of_key checked it
    else:
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    sealed = _aead(suite, params, passphrase).encrypt(nonce, der, header.encode())
    body = base64.encodebytes(sealed).decode()
    return f"{BEGIN}\n{header}\n{body}{END}\n".encode()


def is_sealed(data: bytes) -> bool:
    return data.lstrip().startswith(BEGIN.encode())


def read_params(data: bytes, where: str = "key file") -> tuple[KdfParams, bytes, str, bytes]:
    """(KDF parameters, nonce, header text, ciphertext) of an envelope; errors name ``where``."""
    return _parse(data, where)[:4]


def sealed_suite(data: bytes, where: str = "key file") -> CryptoSuite:
    """The crypto suite an envelope records (``intl`` for a file older than suites)."""
    return _parse(data, where)[4]


def _parse(data: bytes, where: str) -> tuple[KdfParams, bytes, str, bytes, CryptoSuite]:
    try:
        text = data.decode("ascii").strip()
        inner = text.removeprefix(BEGIN).removesuffix(END).strip("\n")
        head, body = inner.split("\n\n", 1)
        fields = dict(line.split(": ", 1) for line in head.splitlines())
        suite = SM if fields.get("Suite", INTL.name) == SM.name else INTL
        if fields.get("Suite", INTL.name) not in _CIPHERS:
            raise ValueError(f"unknown crypto suite {fields['Suite']!r}")
        if fields.get("KDF") != "scrypt" or fields.get("Cipher") != suite.cipher:
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
    return params, nonce, head + "\n", sealed, suite


def open_sealed(
    data: bytes, passphrase: bytes, where: str = "key file"
) -> PrivateKeyTypes | sm2.PrivateKey:
    """Decrypt an envelope; a wrong passphrase (or any change to the file) is a clear error."""
    params, nonce, header, sealed, suite = _parse(data, where)
    try:
        der = _aead(suite, params, passphrase).decrypt(nonce, sealed, header.encode())
    except (InvalidTag, SM4InvalidTag):
        raise KeystoreError(
            f"cannot decrypt {where}: wrong passphrase (or a corrupted key file); use the "
            "passphrase the credentials were saved with (LICLEDGER_KEY_PASSPHRASE or "
            "LICLEDGER_KEY_PASSPHRASE_FILE)."
        ) from None
    if suite is SM:
        return sm2.load_private_key_der(der)
    return serialization.load_der_private_key(der, password=None)
