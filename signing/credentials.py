"""Credentials of either crypto suite behind one name, so a region's code (set-up, rotation,
bulk signing workers) is written once and the suite follows the region CA it starts from.

``intl`` credentials are :class:`~signing.certificates.KeyAndCert` (ECDSA P-256), ``sm`` ones
:class:`~signing.sm2_certificates.SmKeyAndCert` (SM2); both carry ``key``, ``cert``, ``chain``
and ``fingerprint``, and :func:`signing.pades.sign_pdf` and :func:`signing.compact.sign_compact`
take either.
"""

from __future__ import annotations

from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing import sm2
from signing.certificates import KeyAndCert, create_region_ca, issue_agency_certificate
from signing.errors import CertificateError
from signing.sm2_certificates import (
    SmKeyAndCert,
    create_sm_region_ca,
    issue_sm_agency_certificate,
    suite_of_certificate,
)
from signing.suites import SM, CryptoSuite

__all__ = [
    "Credentials",
    "create_ca",
    "credentials_from_der",
    "credentials_suite",
    "issue_agency",
    "private_key_der",
]

Credentials: TypeAlias = KeyAndCert | SmKeyAndCert

_DER = serialization.Encoding.DER


def create_ca(suite: CryptoSuite, region_code: str, region_name: str) -> Credentials:
    """A new region CA of ``suite``."""
    if suite is SM:
        return create_sm_region_ca(region_code, region_name)
    return create_region_ca(region_code, region_name)


def issue_agency(
    ca: Credentials, agency_code: str, agency_name: str, region_code: str
) -> Credentials:
    """An agency certificate under ``ca``, in the CA's own suite (a region never mixes)."""
    if isinstance(ca, SmKeyAndCert):
        return issue_sm_agency_certificate(ca, agency_code, agency_name, region_code)
    return issue_agency_certificate(ca, agency_code, agency_name, region_code)


def credentials_suite(creds: Credentials) -> CryptoSuite:
    return suite_of_certificate(creds.cert)


def private_key_der(creds: Credentials) -> bytes:
    """Unencrypted PKCS#8 DER, only for handing the key to a worker process of this host."""
    if isinstance(creds, SmKeyAndCert):
        return sm2.private_key_der(creds.key)
    return creds.key.private_bytes(
        _DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def credentials_from_der(
    key_der: bytes, cert_der: bytes, chain_der: tuple[bytes, ...]
) -> Credentials:
    """The credentials :func:`private_key_der` and the certificates' DER describe."""
    cert = x509.load_der_x509_certificate(cert_der)
    chain = tuple(x509.load_der_x509_certificate(c) for c in chain_der)
    if suite_of_certificate(cert) is SM:
        return SmKeyAndCert(sm2.load_private_key_der(key_der), cert, chain)
    key = serialization.load_der_private_key(key_der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError("the worker's key is not an ECDSA P-256 key")
    return KeyAndCert(key, cert, chain)
