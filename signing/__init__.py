"""Generic signing toolkit: X.509 credentials, encrypted key storage, PAdES signing and
validation of PDFs, embedded JSON metadata and compact signatures for QR codes, in two crypto
suites (``intl``: ECDSA P-256 / SHA-256 / AES-GCM; ``sm``: SM2 / SM3 / SM4, see
:mod:`signing.suites`).

Nothing here knows about licences. Names are re-exported lazily so that importing
``signing`` for certificates alone does not pay pyHanko's ~0.5 s import time.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

# pyHanko imports cryptography's DSA types (it can validate DSA signatures of others); since
# cryptography 47 that import warns that DSA is deprecated. This package never makes or accepts a
# DSA key of its own, so the one known warning is silenced where it arises, in pyHanko's modules
# only: any other warning, ours or another dependency's, still shows.
warnings.filterwarnings(
    "ignore", message=r"DSA is deprecated", category=Warning, module=r"pyhanko(\.|$)"
)

if TYPE_CHECKING:
    from signing.certificates import (
        KeyAndCert,
        certificate_fingerprint,
        create_region_ca,
        issue_agency_certificate,
        subject_attributes,
    )
    from signing.compact import sign_compact, verify_compact
    from signing.errors import (
        CertificateError,
        KeystoreError,
        MetadataError,
        PdfSigningError,
        SigningError,
    )
    from signing.keystore import (
        credentials_exist,
        load_credentials,
        load_sm_credentials,
        save_credentials,
    )
    from signing.pades import SignerConfig, sign_pdf
    from signing.pdf_metadata import embed_metadata, read_metadata
    from signing.sm2_certificates import (
        SmKeyAndCert,
        create_sm_region_ca,
        issue_sm_agency_certificate,
    )
    from signing.suites import CryptoSuite, CryptoSuiteError, get_suite
    from signing.validation import SignatureReport, validate_pdf_signature

_EXPORTS: dict[str, str] = {
    "KeyAndCert": "signing.certificates",
    "certificate_fingerprint": "signing.certificates",
    "create_region_ca": "signing.certificates",
    "issue_agency_certificate": "signing.certificates",
    "subject_attributes": "signing.certificates",
    "sign_compact": "signing.compact",
    "verify_compact": "signing.compact",
    "CertificateError": "signing.errors",
    "KeystoreError": "signing.errors",
    "MetadataError": "signing.errors",
    "PdfSigningError": "signing.errors",
    "SigningError": "signing.errors",
    "credentials_exist": "signing.keystore",
    "load_credentials": "signing.keystore",
    "load_sm_credentials": "signing.keystore",
    "save_credentials": "signing.keystore",
    "SignerConfig": "signing.pades",
    "sign_pdf": "signing.pades",
    "embed_metadata": "signing.pdf_metadata",
    "read_metadata": "signing.pdf_metadata",
    "SmKeyAndCert": "signing.sm2_certificates",
    "create_sm_region_ca": "signing.sm2_certificates",
    "issue_sm_agency_certificate": "signing.sm2_certificates",
    "CryptoSuite": "signing.suites",
    "CryptoSuiteError": "signing.suites",
    "get_suite": "signing.suites",
    "SignatureReport": "signing.validation",
    "validate_pdf_signature": "signing.validation",
}

__all__ = [
    "CertificateError",
    "CryptoSuite",
    "CryptoSuiteError",
    "KeyAndCert",
    "KeystoreError",
    "MetadataError",
    "PdfSigningError",
    "SignatureReport",
    "SignerConfig",
    "SigningError",
    "SmKeyAndCert",
    "certificate_fingerprint",
    "create_region_ca",
    "create_sm_region_ca",
    "credentials_exist",
    "embed_metadata",
    "get_suite",
    "issue_agency_certificate",
    "issue_sm_agency_certificate",
    "load_credentials",
    "load_sm_credentials",
    "read_metadata",
    "save_credentials",
    "sign_compact",
    "sign_pdf",
    "subject_attributes",
    "validate_pdf_signature",
    "verify_compact",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
