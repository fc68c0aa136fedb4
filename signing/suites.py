"""Crypto suites: which algorithms a region signs, hashes and encrypts with.

A region picks one suite at set-up and every certificate, signature and encrypted key of that
region uses it; a verifier reads the suite from the certificate (or a key file's header) and
checks with the matching algorithms, so an ``intl`` region and an ``sm`` region verify each
other. ``intl`` is the original suite (ECDSA P-256 / SHA-256 / AES-256-GCM) and its code paths
are unchanged; ``sm`` is the Chinese national commercial suite (SM2 / SM3 / SM4, GB/T 32918,
GB/T 32905, GB/T 32907) required of a government deployment in China.
"""

from __future__ import annotations

from dataclasses import dataclass

from signing.errors import SigningError

__all__ = [
    "INTL",
    "SM",
    "SUITES",
    "CryptoSuite",
    "CryptoSuiteError",
    "get_suite",
    "suite_of_key",
]


class CryptoSuiteError(SigningError):
    """An unknown suite name, or a key/certificate of a suite the caller did not expect."""


@dataclass(frozen=True)
class CryptoSuite:
    """The algorithms of one suite, named as the standards and X.509 name them."""

    name: str
    signature: str
    digest: str
    cipher: str
    key_curve_oid: str
    digest_oid: str
    signature_oid: str


INTL = CryptoSuite(
    name="intl",
    signature="ECDSA P-256",
    digest="SHA-256",
    cipher="AES-256-GCM",
    key_curve_oid="1.2.840.10045.3.1.7",
    digest_oid="2.16.840.1.101.3.4.2.1",
    signature_oid="1.2.840.10045.4.3.2",
)
SM = CryptoSuite(
    name="sm",
    signature="SM2",
    digest="SM3",
    cipher="SM4-GCM",
    key_curve_oid="1.2.156.10197.1.301",
    digest_oid="1.2.156.10197.1.401",
    signature_oid="1.2.156.10197.1.501",
)
SUITES: dict[str, CryptoSuite] = {suite.name: suite for suite in (INTL, SM)}


def get_suite(name: str) -> CryptoSuite:
    """The suite called ``name`` (``intl`` or ``sm``); anything else is a clear error."""
    suite = SUITES.get(name.strip().lower()) if isinstance(name, str) else None
    if suite is None:
        raise CryptoSuiteError(
            f"unknown crypto suite {name!r}; choose one of {', '.join(sorted(SUITES))}."
        )
    return suite


def suite_of_key(key: object) -> CryptoSuite:
    """The suite a private or public key belongs to (SM2 keys come from tongsuopy, P-256 keys
    from cryptography); a key of neither is refused with its type named."""
    from signing import sm2  # imported here: tongsuopy is only needed by an sm region

    if sm2.is_sm2_key(key):
        return SM
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return INTL
    raise CryptoSuiteError(
        f"a {type(key).__name__} belongs to no crypto suite; use an ECDSA P-256 key (intl) or "
        "an SM2 key (sm)."
    )
