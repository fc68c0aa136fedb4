"""Compact signatures for QR payloads: ECDSA P-256 (``intl``) or SM2 (``sm``).

A QR code has little room, so the signature is the raw 64-byte ``r || s`` form (IEEE P1363)
instead of ~72 bytes of DER. A counter with the issuer's certificate can check it offline.
ECDSA signatures are produced in low-S form so that each message/key has one canonical
encoding. The suite follows the key (signing) or the certificate (verifying): an SM2 key signs
SM2 over SM3 with the default signer ID (:mod:`signing.sm2`), also 64 raw bytes ``r || s``, so a
token has the same shape in both suites and a verifier holding both regions' certificates
checks either.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from signing import sm2
from signing.errors import CertificateError
from signing.sm2_certificates import is_sm_certificate, sm_public_key

__all__ = ["COMPACT_SIGNATURE_LENGTH", "sign_compact", "verify_compact"]

COMPACT_SIGNATURE_LENGTH = 64
_COORD = 32
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def sign_compact(key: ec.EllipticCurvePrivateKey | sm2.PrivateKey, message: bytes) -> bytes:
    """Sign ``message`` with ECDSA P-256 / SHA-256, or SM2 / SM3 for an SM2 key; return raw
    ``r || s`` (64 bytes)."""
    if sm2.is_sm2_key(key):
        return sm2.sign_compact(key, message)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"compact signatures need a P-256 key, got curve {key.curve.name}.")
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    if s > _P256_ORDER // 2:
        s = _P256_ORDER - s
    return r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")


def verify_compact(
    cert_or_public_key: x509.Certificate | ec.EllipticCurvePublicKey | sm2.PublicKey,
    message: bytes,
    signature: bytes,
) -> bool:
    """Check a compact signature with the suite of the certificate or key; any mismatch, wrong
    key type, high-S twin (ECDSA) or garbage gives ``False``."""
    if isinstance(cert_or_public_key, x509.Certificate) and is_sm_certificate(cert_or_public_key):
        try:
            return sm2.verify_compact(sm_public_key(cert_or_public_key), message, signature)
        except CertificateError:
            return False
    if sm2.is_sm2_key(cert_or_public_key):
        return sm2.verify_compact(cert_or_public_key, message, signature)
    try:
        public_key = (
            cert_or_public_key.public_key()
            if isinstance(cert_or_public_key, x509.Certificate)
            else cert_or_public_key
        )
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            return False
        if not isinstance(signature, bytes | bytearray | memoryview):
            return False
        raw = bytes(signature)
        if len(raw) != COMPACT_SIGNATURE_LENGTH:
            return False
        r = int.from_bytes(raw[:_COORD], "big")
        s = int.from_bytes(raw[_COORD:], "big")
        # Low-S only: (r, n - s) verifies too, and accepting both would give one message two
        # valid encodings (a malleable token).
        if not (0 < r < _P256_ORDER and 0 < s <= _P256_ORDER // 2):
            return False
        public_key.verify(encode_dss_signature(r, s), bytes(message), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
