"""SM2 certificates for an ``sm`` region: the same two-level profile as
:mod:`signing.certificates`, with SM2 keys and SM3-with-SM2 signatures (GM/T 0015).

Why built here: tongsuopy signs with SM2 but has no X.509 builder, and ``cryptography`` cannot
sign with a curve it does not know. So the TBSCertificate is assembled with asn1crypto (already
present through pyHanko), signed with SM2 through Tongsuo, and the result is handed back as a
``cryptography`` certificate, so that fingerprints, subject attributes and PEM/DER handling are
shared with the ``intl`` suite. Subject layout, extensions and validity rules are those of
:mod:`signing.certificates` (the subject :class:`~cryptography.x509.Name` is built by the same
function, so both suites encode it byte for byte alike).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from signing import sm2
from signing.certificates import (
    _CLOCK_SKEW,
    DOCUMENT_SIGNING_EKU,
    _agency_request,
    _check_aware,
    _check_days,
    _is_ca,
    _name,
    _require_text,
    certificate_fingerprint,
)
from signing.errors import CertificateError
from signing.suites import INTL, SM, CryptoSuite, CryptoSuiteError

__all__ = [
    "SmKeyAndCert",
    "create_sm_region_ca",
    "is_sm_certificate",
    "issue_sm_agency_certificate",
    "sm_public_key",
    "suite_of_certificate",
    "verify_sm_certificate_signature",
]

asn1_keys.NamedCurve.register("sm2p256v1", SM.key_curve_oid, 32)


@dataclass(frozen=True)
class SmKeyAndCert:
    """An SM2 private key with its certificate and the issuer chain (leaf excluded)."""

    key: sm2.PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Lowercase hex SHA-256 of the certificate DER, the form the directory stores for
        either suite."""
        return certificate_fingerprint(self.cert)


def is_sm_certificate(cert: x509.Certificate) -> bool:
    """True when ``cert`` is signed SM3-with-SM2 (the mark of an ``sm`` region)."""
    return cert.signature_algorithm_oid.dotted_string == SM.signature_oid


@functools.lru_cache(maxsize=4096)
def sm_public_key(cert: x509.Certificate) -> sm2.PublicKey:
    """The SM2 public key of ``cert`` (``cryptography`` cannot load this curve itself);
    remembered per certificate, as a verifier asks for the same few on every QR code."""
    tbs = asn1_x509.TbsCertificate.load(cert.tbs_certificate_bytes)
    try:
        return sm2.load_public_key_der(tbs["subject_public_key_info"].dump())
    except ValueError as exc:
        raise CertificateError(
            f"the certificate {certificate_fingerprint(cert)} carries no SM2 public key ({exc}); "
            "an sm region needs SM2 certificates."
        ) from exc


def verify_sm_certificate_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s SM2 key signed ``cert`` with SM3-with-SM2."""
    return is_sm_certificate(cert) and sm2.verify(
        sm_public_key(issuer), cert.tbs_certificate_bytes, cert.signature
    )


def _time(moment: datetime) -> asn1_x509.Time:
    # RFC 5280: UTCTime up to 2049, GeneralizedTime from 2050.
    choice = "utc_time" if moment.year < 2050 else "general_time"
    return asn1_x509.Time({choice: moment.astimezone(UTC).replace(microsecond=0)})


def _key_id(public_key: sm2.PublicKey) -> bytes:
    """RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (what ``cryptography`` uses)."""
    spki = asn1_keys.PublicKeyInfo.load(sm2.public_key_der(public_key))
    return hashlib.sha1(spki["public_key"].native).digest()


def _extension(name: str, value: object, critical: bool) -> dict[str, object]:
    return {"extn_id": name, "critical": critical, "extn_value": value}


def _build(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: sm2.PublicKey,
    signer: sm2.PrivateKey,
    start: datetime,
    end: datetime,
    extensions: list[dict[str, object]],
) -> x509.Certificate:
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": int.from_bytes(os.urandom(20), "big") >> 1,
            "signature": {"algorithm": SM.signature_oid},
            "issuer": asn1_x509.Name.load(issuer.public_bytes()),
            "validity": {"not_before": _time(start), "not_after": _time(end)},
            "subject": asn1_x509.Name.load(subject.public_bytes()),
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(sm2.public_key_der(public_key)),
            "extensions": extensions,
        }
    )
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": SM.signature_oid},
            "signature_value": sm2.sign(signer, tbs.dump()),
        }
    )
    return x509.load_der_x509_certificate(cert.dump())


def create_sm_region_ca(
    region_code: str,
    region_name: str,
    valid_days: int = 3650,
    not_before: datetime | None = None,
) -> SmKeyAndCert:
    """A self-signed SM2 region CA (``pathLen=0``, keyCertSign + cRLSign), as
    :func:`signing.certificates.create_region_ca` for the ``intl`` suite."""
    code = _require_text(region_code, "region_code")
    name_text = _require_text(region_name, "region_name")
    _check_days(valid_days)
    _check_aware(not_before)
    key = sm2.generate_private_key()
    subject = _name(common_name=name_text, organization=name_text, unit=code, serial=code)
    start = not_before if not_before is not None else datetime.now(UTC) - _CLOCK_SKEW
    ski = _key_id(key.public_key())
    cert = _build(
        subject=subject,
        issuer=subject,
        public_key=key.public_key(),
        signer=key,
        start=start,
        end=start + timedelta(days=valid_days),
        extensions=[
            _extension("basic_constraints", {"ca": True, "path_len_constraint": 0}, True),
            _extension("key_usage", {"key_cert_sign", "crl_sign"}, True),
            _extension("key_identifier", ski, False),
            _extension("authority_key_identifier", {"key_identifier": ski}, False),
        ],
    )
    return SmKeyAndCert(key=key, cert=cert, chain=())


def issue_sm_agency_certificate(
    ca: SmKeyAndCert,
    agency_code: str,
    agency_name: str,
    region_code: str,
    valid_days: int = 1825,
    not_before: datetime | None = None,
) -> SmKeyAndCert:
    """An SM2 document-signing certificate for an agency under the SM2 region ``ca``
    (digitalSignature + nonRepudiation, documentSigning EKU, validity clipped to the CA's)."""
    if not _is_ca(ca.cert) or not is_sm_certificate(ca.cert):
        raise CertificateError(
            "the issuing credentials are not an SM2 region CA; issue sm agency certificates "
            "with the CA from create_sm_region_ca()."
        )
    subject, start, end = _agency_request(
        ca.cert, agency_code, agency_name, region_code, valid_days, not_before
    )
    key = sm2.generate_private_key()
    cert = _build(
        subject=subject,
        issuer=ca.cert.subject,
        public_key=key.public_key(),
        signer=ca.key,
        start=start,
        end=end,
        extensions=[
            _extension("basic_constraints", {"ca": False}, True),
            _extension("key_usage", {"digital_signature", "non_repudiation"}, True),
            _extension(
                "extended_key_usage",
                [DOCUMENT_SIGNING_EKU.dotted_string, "email_protection"],
                False,
            ),
            _extension("key_identifier", _key_id(key.public_key()), False),
            _extension(
                "authority_key_identifier", {"key_identifier": _key_id(ca.key.public_key())}, False
            ),
        ],
    )
    return SmKeyAndCert(key=key, cert=cert, chain=(ca.cert, *ca.chain))


@functools.lru_cache(maxsize=4096)
def suite_of_certificate(cert: x509.Certificate) -> CryptoSuite:
    """The suite ``cert`` belongs to: ``sm`` for an SM2 key signed SM3-with-SM2, ``intl`` for a
    P-256 key signed ECDSA-with-SHA256. A certificate mixing the two (an SM2 key under an ECDSA
    signature, or the reverse) or of any other algorithm belongs to none and is refused, with
    its fingerprint and subject named. Remembered per certificate (a signer asks it per
    document)."""
    algorithm = cert.signature_algorithm_oid.dotted_string
    if algorithm == SM.signature_oid:
        try:
            sm_public_key(cert)
            return SM
        except CertificateError:
            pass
    elif algorithm == INTL.signature_oid:
        try:
            key = cert.public_key()
        except ValueError:  # a curve cryptography does not know (SM2 among them)
            key = None
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            return INTL
    raise CryptoSuiteError(
        f"the certificate {certificate_fingerprint(cert)} ({cert.subject.rfc4514_string()}) "
        f"is signed with {algorithm} and its key belongs to no crypto suite; use a P-256 "
        "certificate signed ECDSA-with-SHA256 (intl) or an SM2 certificate signed "
        "SM3-with-SM2 (sm)."
    )
