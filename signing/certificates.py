"""X.509 credentials for a private two-level PKI: one CA per region, one signing cert per agency.

Why a private PKI: the consortium's trust root is the on-chain region directory, which lists
certificate fingerprints, so no public CA is involved. Keys are ECDSA P-256 because it is
supported by every PDF validator (pyHanko, poppler/NSS, Adobe) and gives small signatures.

Subject layout (both levels), read back with :func:`subject_attributes`:

========================  ==========================  ==========================
attribute                 region CA                   agency certificate
========================  ==========================  ==========================
``C``                     ``CN``                      ``CN``
``O``                     region name                 agency name
``OU``                    region code                 region code
``serialNumber``          region code                 agency code
``CN``                    region name                 agency name
========================  ==========================  ==========================
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from signing.errors import CertificateError

__all__ = [
    "DOCUMENT_SIGNING_EKU",
    "KeyAndCert",
    "certificate_fingerprint",
    "create_region_ca",
    "issue_agency_certificate",
    "subject_attributes",
]

DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
"""id-kp-documentSigning (RFC 9336); emailProtection is added too for older validators."""

_CLOCK_SKEW = timedelta(minutes=5)
"""Back-date ``notBefore`` a little so a cert is usable at once on a host with a slow clock."""


@dataclass(frozen=True)
class KeyAndCert:
    """A private key with its certificate and the issuer chain (leaf excluded)."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Lowercase hex SHA-256 of the certificate DER, the form stored on-chain."""
        return certificate_fingerprint(self.cert)


@functools.lru_cache(maxsize=4096)
def certificate_fingerprint(cert: x509.Certificate) -> str:
    """Return the lowercase hex SHA-256 of ``cert``'s DER encoding (remembered per certificate:
    a verifier asks it for the same few agency certificates on every answer)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


_ATTRIBUTE_KEYS: dict[ObjectIdentifier, str] = {
    NameOID.COUNTRY_NAME: "country",
    NameOID.ORGANIZATION_NAME: "organization",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "organizational_unit",
    NameOID.SERIAL_NUMBER: "serial_number",
    NameOID.COMMON_NAME: "common_name",
}


def subject_attributes(cert: x509.Certificate) -> dict[str, str]:
    """Read a certificate subject back as a flat dict (a copy of what is remembered per
    certificate, so a caller may change it).

    Keys: ``common_name``, ``organization``, ``organizational_unit``, ``serial_number``,
    ``country`` (those present), plus the aliases a verifier actually wants: ``name``
    (= CN), ``code`` (= serialNumber: region code for a CA, agency code for an agency)
    and ``region_code`` (= OU). Unknown attributes are ignored.
    """
    return dict(_subject_attributes(cert))


@functools.lru_cache(maxsize=4096)
def _subject_attributes(cert: x509.Certificate) -> dict[str, str]:
    result: dict[str, str] = {}
    for attribute in cert.subject:
        key = _ATTRIBUTE_KEYS.get(attribute.oid)
        if key is not None and key not in result:
            value = attribute.value
            result[key] = value if isinstance(value, str) else value.decode("utf-8", "replace")
    aliases = {"name": "common_name", "code": "serial_number", "region_code": "organizational_unit"}
    for alias, source in aliases.items():
        if source in result:
            result[alias] = result[source]
    return result


def _require_text(value: str, argument: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise CertificateError(f"{argument} is empty; pass a non-empty string for {argument}.")
    if any(ord(ch) < 0x20 for ch in text):
        raise CertificateError(
            f"{argument} contains control characters; remove them from {argument}."
        )
    return text


def _name(*, common_name: str, organization: str, unit: str, serial: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _check_days(valid_days: int) -> None:
    if valid_days <= 0:
        raise CertificateError(f"valid_days must be positive, got {valid_days}.")


def _check_aware(not_before: datetime | None) -> None:
    if not_before is not None and not_before.utcoffset() is None:
        raise CertificateError("not_before is a naive datetime; pass a timezone-aware datetime.")


def create_region_ca(
    region_code: str,
    region_name: str,
    valid_days: int = 3650,
    not_before: datetime | None = None,
) -> KeyAndCert:
    """Create a self-signed region CA that may only issue end-entity certificates.

    ``pathLen=0`` because agencies never run CAs of their own; this keeps a stolen agency key
    from minting further signing certificates that would chain to the region.
    ``not_before`` (timezone-aware) lets tests build a CA that started in the past.
    """
    code = _require_text(region_code, "region_code")
    name_text = _require_text(region_name, "region_name")
    _check_days(valid_days)
    _check_aware(not_before)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name=name_text, organization=name_text, unit=code, serial=code)
    start = not_before if not_before is not None else datetime.now(UTC) - _CLOCK_SKEW
    public_key = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return KeyAndCert(key=key, cert=cert, chain=())


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _agency_request(
    ca_cert: x509.Certificate,
    agency_code: str,
    agency_name: str,
    region_code: str,
    valid_days: int,
    not_before: datetime | None,
) -> tuple[x509.Name, datetime, datetime]:
    """An agency certificate's checked subject and validity window, clipped to the CA's so the
    chain never outlives its root: one rule for every suite's agency certificates."""
    code = _require_text(agency_code, "agency_code")
    name_text = _require_text(agency_name, "agency_name")
    region = _require_text(region_code, "region_code")
    _check_days(valid_days)
    _check_aware(not_before)
    start = not_before if not_before is not None else datetime.now(UTC) - _CLOCK_SKEW
    end = min(start + timedelta(days=valid_days), ca_cert.not_valid_after_utc)
    start = max(start, ca_cert.not_valid_before_utc)
    if end <= start:
        raise CertificateError(
            "the requested validity lies outside the CA's validity period; "
            "choose a not_before within the CA's lifetime."
        )
    subject = _name(common_name=name_text, organization=name_text, unit=region, serial=code)
    return subject, start, end


def issue_agency_certificate(
    ca: KeyAndCert,
    agency_code: str,
    agency_name: str,
    region_code: str,
    valid_days: int = 1825,
    not_before: datetime | None = None,
) -> KeyAndCert:
    """Issue an end-entity document-signing certificate for an agency under ``ca``.

    KeyUsage is digitalSignature + nonRepudiation (critical): pyHanko's PDF validator
    requires nonRepudiation by default, and a signing key must not be usable for key
    exchange. The validity is clipped to the CA's so the chain never outlives its root.
    ``not_before`` (timezone-aware) lets tests build certificates valid in the past or future.
    """
    if not _is_ca(ca.cert):
        raise CertificateError(
            "the issuing credentials are not a CA certificate (BasicConstraints ca=False); "
            "issue agency certificates with the region CA from create_region_ca()."
        )
    subject, start, end = _agency_request(
        ca.cert, agency_code, agency_name, region_code, valid_days, not_before
    )
    key = ec.generate_private_key(ec.SECP256R1())
    public_key = key.public_key()
    try:
        ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return KeyAndCert(key=key, cert=cert, chain=(ca.cert, *ca.chain))
