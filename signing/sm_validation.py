"""Validation of an ``sm`` region's PDF signature (SM2 over SM3 digests), which pyHanko's
validator cannot do: it knows neither SM3 nor SM2, and its certificate path builder cannot
check an SM3-with-SM2 certificate signature.

So for a signature whose SignerInfo names SM3 (or SM3-with-SM2) this module makes the checks
pyHanko makes for the ``intl`` suite, on the same parsed signature object and with the same
outcome fields, so both suites give the same verdicts and the same messages:

- *coverage*: pyHanko's own byte-range coverage evaluation (no cryptography involved), so a
  file with an incremental update or appended bytes is refused exactly as in ``intl``;
- *intact*: the signed attribute messageDigest equals SM3 of the bytes the byte range covers;
- *valid*: the signed attributes are those a PAdES signer writes (contentType ``data``, one
  messageDigest, a signingCertificateV2 whose SM3 hash names the signer's certificate), the
  algorithms are SM3 and SM3-with-SM2, and the SM2 signature over the attributes (as the DER
  ``SET OF``, with the standard default signer ID) verifies against the signer's key;
- *trusted*: the signer's certificate is issued, SM3-with-SM2, by one of the trust roots (the
  two-level profile of :mod:`signing.sm2_certificates`: region CA -> agency), both were valid
  at the validation time, the root is a CA allowed to sign certificates and the agency
  certificate allows non-repudiation (pyHanko's default signer constraint).

DocMDP: the certification signature's ``/Reference`` (DocMDP, no changes) lies inside the
signed bytes, and any later revision makes the coverage less than the entire file, which is
refused as for ``intl`` (pyHanko's difference analysis only ever matters for such files).

The byte-level checks of the container (canonical gap, strict DER, certificate bag) are the
suite-independent ones of :mod:`signing.cms_checks`, run by :mod:`signing.validation` for
both suites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.ades.report import AdESIndeterminate, AdESSubIndic
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from signing import sm2
from signing.errors import CertificateError, SigningError
from signing.sm2_certificates import (
    is_sm_certificate,
    sm_public_key,
    verify_sm_certificate_signature,
)
from signing.sm2_cms import signer_info_parts
from signing.suites import SM

__all__ = ["SignatureOutcome", "is_sm_signature", "sm_signer", "validate_sm_signature"]


@dataclass(frozen=True)
class SignatureOutcome:
    """The outcome of the cryptographic checks of one signature, in either suite (for
    ``intl`` it is read off pyHanko's status)."""

    intact: bool
    valid: bool
    coverage: SignatureCoverageLevel
    trusted: bool
    trust_problem: AdESSubIndic | None  # why not trusted (None when trusted)


def is_sm_signature(emb: EmbeddedPdfSignature) -> bool:
    """True when the signer names an SM algorithm: such a signature is checked here, never
    handed to pyHanko (which would call it invalid without saying why)."""
    info = emb.signer_info
    named = {
        info["digest_algorithm"]["algorithm"].dotted,
        info["signature_algorithm"]["algorithm"].dotted,
    }
    return bool(named & {SM.digest_oid, SM.signature_oid, SM.key_curve_oid})


def sm_signer(emb: EmbeddedPdfSignature) -> x509.Certificate:
    """The certificate the SM2 SignerInfo names (pyHanko's own lookup runs its ESS check,
    which knows no SM3); a container without it raises :class:`SigningError`."""
    return signer_info_parts(bytes(emb.pkcs7_content)).signer


def _covered_bytes(data: bytes, byte_range: Sequence[object]) -> bytes | None:
    try:
        start1, len1, start2, len2 = (int(str(v)) for v in byte_range)
    except (TypeError, ValueError):
        return None
    if start1 != 0 or len1 < 0 or start2 < len1 or len2 < 0 or start2 + len2 > len(data):
        return None
    return data[:len1] + data[start2 : start2 + len2]


def _attributes_problem(info: cms.SignerInfo, signer: x509.Certificate) -> bool:
    """True when the signed attributes are not those of a PAdES signer for ``signer``."""
    if info["signature_algorithm"]["algorithm"].dotted != SM.signature_oid:
        return True
    attributes = {a["type"].native: a["values"] for a in info["signed_attrs"]}
    if len(attributes) != len(info["signed_attrs"]):  # an attribute given twice
        return True
    content_type = attributes.get("content_type")
    if content_type is None or [v.native for v in content_type] != ["data"]:
        return True
    ess = attributes.get("signing_certificate_v2")
    if ess is None or len(ess) != 1:
        return True
    certs = ess[0]["certs"]
    if len(certs) == 0:
        return True
    first = certs[0]
    return first["hash_algorithm"]["algorithm"].dotted != SM.digest_oid or first[
        "cert_hash"
    ].native != sm2.sm3(signer.public_bytes(Encoding.DER))


def _intact(data: bytes, emb: EmbeddedPdfSignature) -> bool:
    """The signed messageDigest is SM3 of the covered bytes (read without the certificates,
    so a damaged certificate is reported as such, not as changed content)."""
    digests = [
        a["values"][0].native
        for a in emb.signer_info["signed_attrs"]
        if a["type"].native == "message_digest"
    ]
    covered = _covered_bytes(data, emb.byte_range)
    return len(digests) == 1 and covered is not None and sm2.sm3(covered) == digests[0]


def _signature_holds(emb: EmbeddedPdfSignature) -> x509.Certificate | None:
    """The signer when its signed attributes are a PAdES signer's and its SM2 signature over
    them holds; None otherwise."""
    parts = signer_info_parts(bytes(emb.pkcs7_content))
    if _attributes_problem(emb.signer_info, parts.signer):
        return None
    if not sm2.verify(sm_public_key(parts.signer), parts.signed_attributes, parts.signature):
        return None
    return parts.signer


def _valid_at(cert: x509.Certificate, moment: datetime) -> AdESSubIndic | None:
    if moment > cert.not_valid_after_utc:
        return AdESIndeterminate.EXPIRED
    if moment < cert.not_valid_before_utc:
        return AdESIndeterminate.NOT_YET_VALID
    return None


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    usage = _key_usage(cert)
    return bool(constraints.ca) and usage is not None and usage.key_cert_sign


def _trust(
    signer: x509.Certificate, roots: Sequence[x509.Certificate], moment: datetime
) -> AdESSubIndic | None:
    """None when ``signer`` chains to one of ``roots`` by SM2, else why not."""
    issuer = signer.issuer.public_bytes()
    root = next(
        (
            r
            for r in roots
            if is_sm_certificate(r)
            and r.subject.public_bytes() == issuer
            and verify_sm_certificate_signature(signer, r)
        ),
        None,
    )
    if root is None:
        return AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND
    for cert in (signer, root):
        if (expired := _valid_at(cert, moment)) is not None:
            return expired
    if not _is_ca(root):
        return AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE
    usage = _key_usage(signer)
    if usage is None or not usage.content_commitment:
        return AdESIndeterminate.SIG_CONSTRAINTS_FAILURE
    return None


def validate_sm_signature(
    data: bytes,
    emb: EmbeddedPdfSignature,
    trust_roots: Sequence[x509.Certificate],
    moment: datetime,
) -> SignatureOutcome:
    """Check an SM2/SM3 signature of ``data`` as pyHanko checks an ECDSA one; never raises
    for a malformed container (it is reported as not intact and not valid)."""
    coverage = emb.evaluate_signature_coverage()
    try:
        intact = _intact(data, emb)
    except (ValueError, KeyError, TypeError):
        intact = False
    try:
        signer = _signature_holds(emb) if intact else None
    except (SigningError, CertificateError, ValueError, KeyError, TypeError):
        signer = None
    if signer is None:
        return SignatureOutcome(
            intact, False, coverage, False, AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND
        )
    problem = _trust(signer, trust_roots, moment)
    return SignatureOutcome(intact, True, coverage, problem is None, problem)
