"""SM2 signatures and SM3 digests (GB/T 32918, GB/T 32905) through Tongsuo, in C.

Why tongsuopy: it is the Python binding of Tongsuo (the OpenSSL fork maintained for the
Chinese national algorithms) and mirrors ``cryptography``'s key API, so SM2 keys sign,
verify and serialise (PKCS#8 / SubjectPublicKeyInfo) like the P-256 keys of the ``intl`` suite,
at C speed. A pure-Python SM2 (``gmssl``) is ~100x slower and is used only as the independent
second implementation in the interoperability tests.

Signatures are over ``SM3(Z || M)`` with ``Z`` derived from the signer ID; Tongsuo uses the
standard's default ID ``1234567812345678`` (GM/T 0009) and its Python binding offers no way to
set another, so the default is the only ID this module signs or verifies with.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature, UnsupportedAlgorithm

__all__ = [
    "COMPACT_LENGTH",
    "DEFAULT_SIGNER_ID",
    "SM2_ORDER",
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "is_sm2_key",
    "load_private_key_der",
    "load_public_key_der",
    "private_key_der",
    "private_key_from_value",
    "public_key_der",
    "sign",
    "sign_compact",
    "sm3",
    "verify",
    "verify_compact",
]

DEFAULT_SIGNER_ID = b"1234567812345678"
SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
COMPACT_LENGTH = 64
_COORD = 32

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey


def _algorithm() -> Any:
    return ec.ECDSA(hashes.SM3())


def is_sm2_key(key: object) -> bool:
    """True for a tongsuopy SM2 private or public key."""
    return isinstance(key, PrivateKey | PublicKey) and isinstance(key.curve, ec.SM2)


def generate_private_key() -> PrivateKey:
    return ec.generate_private_key(ec.SM2())


def private_key_from_value(value: int) -> PrivateKey:
    """The key with private scalar ``value`` (test vectors of the standard)."""
    return ec.derive_private_key(value, ec.SM2())


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 digest of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(bytes(data))
    return bytes(digest.finalize())


def _check_id(signer_id: bytes) -> None:
    if signer_id != DEFAULT_SIGNER_ID:
        raise ValueError(
            f"signer ID {signer_id!r} is not supported; the SM2 binding signs with the standard "
            f"default ID {DEFAULT_SIGNER_ID.decode()} only."
        )


def sign(key: PrivateKey, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
    """SM2 signature (DER ``SEQUENCE {r, s}``, as in X.509 and CMS) of ``message``."""
    _check_id(signer_id)
    if not is_sm2_key(key):
        raise ValueError(f"an SM2 signature needs an SM2 key, got {type(key).__name__}.")
    return bytes(key.sign(bytes(message), _algorithm()))


def verify(
    public_key: PublicKey,
    message: bytes,
    signature: bytes,
    signer_id: bytes = DEFAULT_SIGNER_ID,
) -> bool:
    """Check a DER SM2 signature; a mismatch, a wrong key type or garbage gives ``False``."""
    _check_id(signer_id)
    if not is_sm2_key(public_key) or not isinstance(signature, bytes | bytearray | memoryview):
        return False
    try:
        public_key.verify(bytes(signature), bytes(message), _algorithm())
    except (InvalidSignature, InternalError, ValueError, TypeError):
        # InternalError: the binding asserts on a signature that is not DER at all.
        return False
    return True


def sign_compact(key: PrivateKey, message: bytes) -> bytes:
    """SM2 signature as raw ``r || s`` (64 bytes) for a QR code. SM2 has no ``(r, n - s)``
    twin (the check uses ``r + s``), so unlike ECDSA no low-S normalisation is needed."""
    r, s = decode_dss_signature(sign(key, message))
    return r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")


def verify_compact(public_key: PublicKey, message: bytes, signature: bytes) -> bool:
    """Check a raw ``r || s`` SM2 signature; anything malformed gives ``False``."""
    if not isinstance(signature, bytes | bytearray | memoryview):
        return False
    raw = bytes(signature)
    if len(raw) != COMPACT_LENGTH:
        return False
    r = int.from_bytes(raw[:_COORD], "big")
    s = int.from_bytes(raw[_COORD:], "big")
    if not (0 < r < SM2_ORDER and 0 < s < SM2_ORDER):
        return False
    return verify(public_key, message, encode_dss_signature(r, s))


def private_key_der(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER (only ever written inside the SM4 envelope)."""
    return bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def load_private_key_der(der: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not is_sm2_key(key):
        raise ValueError("the PKCS#8 key is not an SM2 key")
    return key


def public_key_der(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo DER (id-ecPublicKey with the SM2 curve OID 1.2.156.10197.1.301)."""
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_public_key_der(der: bytes) -> PublicKey:
    """The SM2 key of a SubjectPublicKeyInfo; any other key (a curve Tongsuo does not load
    included) is a ValueError."""
    try:
        key = serialization.load_der_public_key(bytes(der))
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"the SubjectPublicKeyInfo is not an SM2 key ({exc})") from exc
    if not is_sm2_key(key):
        raise ValueError("the SubjectPublicKeyInfo is not an SM2 key")
    return key
