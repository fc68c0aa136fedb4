"""A detached CMS SignedData (RFC 5652) with SM3 digests and an SM2 signer: the building block of
an ``sm`` region's PDF signature (GM/T 0010 names the same structure).

The SignerInfo carries signed attributes (contentType, messageDigest = SM3 of the content,
signingCertificateV2 with the SM3 hash of the signer's certificate) and the SM2 signature over
their DER ``SET OF`` encoding, as a PAdES signer does; the agency certificate and its chain
travel in ``certificates``. Built with asn1crypto directly, like :mod:`signing.cms_build` for
the ``intl`` suite (pyHanko's own signers would need SM2 registered throughout its stack);
:func:`signing.pades.sign_pdf` embeds it for SM2 credentials. As there, every DER piece but the
digest and the signature is encoded once per credentials and :meth:`SmCmsTemplate.sign` only
splices: building the whole structure with asn1crypto for each licence cost ~8 ms, six times
the SM2 signature itself, and held an ``sm`` region's bulk import far under ``intl``'s rate.

The signature uses the standard default signer ID. OpenSSL 3.0's ``cms -verify`` cannot check
it: it offers no way to pass ``distid`` and computes ``Z`` without an ID, so it rejects any SM2
signer made with the default ID (its ``pkeyutl -pkeyopt distid:...`` does verify the same signed
attributes; see tests/test_sm_cms.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing import sm2
from signing.cms_build import _tlv
from signing.errors import PdfSigningError, SigningError
from signing.sm2_certificates import SmKeyAndCert, is_sm_certificate, sm_public_key
from signing.suites import SM

__all__ = [
    "SignerInfoParts",
    "SmCmsTemplate",
    "sign_detached_sm2",
    "signer_info_parts",
    "verify_detached_sm2",
]


@dataclass(frozen=True)
class SignerInfoParts:
    """What a verifier checks: the signed attributes as signed, the signature, the signer."""

    signed_attributes: bytes
    signature: bytes
    message_digest: bytes
    signer: x509.Certificate


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _signing_certificate(leaf: asn1_x509.Certificate) -> cms.CMSAttribute:
    """ESS signingCertificateV2 (RFC 5035), required by PAdES; the certificate hash is SM3."""
    cert_id = tsp.ESSCertIDv2(
        {
            "hash_algorithm": {"algorithm": SM.digest_oid},
            "cert_hash": sm2.sm3(leaf.dump()),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName(name="directory_name", value=leaf.issuer)],
                "serial_number": leaf.serial_number,
            },
        }
    )
    return cms.CMSAttribute(
        {
            "type": "signing_certificate_v2",
            "values": [tsp.SigningCertificateV2({"certs": [cert_id]})],
        }
    )


class SmCmsTemplate:
    """The SM2 counterpart of :class:`signing.cms_build.CmsTemplate`: per-credentials parts
    prepared once, :meth:`sign` adds the document's SM3 digest and the SM2 signature. The
    signed attributes are those of the ``intl`` PAdES signer (contentType, messageDigest,
    signingCertificateV2; no signingTime, which PAdES keeps in the signature dictionary)."""

    def __init__(self, credentials: SmKeyAndCert) -> None:
        if sm2.public_key_der(sm_public_key(credentials.cert)) != sm2.public_key_der(
            credentials.key.public_key()
        ):
            raise PdfSigningError(
                "the signing key does not match the certificate in the credentials; "
                "load the key and certificate that were issued together."
            )
        self.key = credentials.key
        self.leaf = _asn1_cert(credentials.cert)
        self.certificates = [self.leaf, *(_asn1_cert(c) for c in credentials.chain)]
        sid = cms.SignerIdentifier(
            {
                "issuer_and_serial_number": {
                    "issuer": self.leaf.issuer,
                    "serial_number": self.leaf.serial_number,
                }
            }
        )
        digest_algo = algos.DigestAlgorithm({"algorithm": SM.digest_oid}).dump()
        version = _tlv(0x02, b"\x01")  # v1
        # DER pieces that never change; sign() only adds the digest and the signature
        self._attrs_head = cms.CMSAttribute({"type": "content_type", "values": ["data"]}).dump()
        self._attrs_tail = _signing_certificate(self.leaf).dump()
        self._md_oid = core.ObjectIdentifier("1.2.840.113549.1.9.4").dump()  # messageDigest
        self._si_head = version + sid.dump() + digest_algo
        self._si_tail = algos.SignedDigestAlgorithm({"algorithm": SM.signature_oid}).dump()
        self._sd_head = (
            version
            + _tlv(0x31, digest_algo)
            + cms.EncapsulatedContentInfo({"content_type": "data"}).dump()
            # in DER SET OF order, as asn1crypto wrote them before (shortest, the CA, first)
            + _tlv(0xA0, b"".join(sorted(c.dump() for c in self.certificates)))
        )
        self._ci_oid = core.ObjectIdentifier("1.2.840.113549.1.7.2").dump()  # signedData
        self.reserved = 2 * (len(self.sign(bytes(32))) + 512)

    def sign(self, document_digest: bytes) -> bytes:
        """DER ``ContentInfo`` of a detached SignedData over a document with this SM3 digest."""
        message_digest = _tlv(0x30, self._md_oid + _tlv(0x31, _tlv(0x04, bytes(document_digest))))
        # SET OF in DER order: contentType, messageDigest, signingCertificateV2
        attrs = self._attrs_head + message_digest + self._attrs_tail
        # signed as the SET OF (universal tag), as RFC 5652 5.4 requires
        signature = sm2.sign(self.key, _tlv(0x31, attrs))
        signer_info = _tlv(
            0x30, self._si_head + _tlv(0xA0, attrs) + self._si_tail + _tlv(0x04, signature)
        )
        signed_data = _tlv(0x30, self._sd_head + _tlv(0x31, signer_info))
        return _tlv(0x30, self._ci_oid + _tlv(0xA0, signed_data))


def sign_detached_sm2(content: bytes, creds: SmKeyAndCert) -> bytes:
    """DER ``ContentInfo`` of a detached SignedData over ``content`` signed by ``creds``."""
    return SmCmsTemplate(creds).sign(sm2.sm3(content))


def signer_info_parts(cms_der: bytes) -> SignerInfoParts:
    """The single SM2 signer's signed attributes (re-tagged as the ``SET OF`` that was signed),
    signature, messageDigest and certificate; anything else is a clear error. asn1crypto parses
    lazily, so every access sits inside the guard; a certificate that ``cryptography`` only
    warns about (e.g. a non-positive serial) is refused, not loaded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return _parts(cms_der)
    except (ValueError, KeyError, TypeError, StopIteration, x509.InvalidVersion, Warning) as exc:
        reason = str(exc) or "no signer certificate"
        raise SigningError(
            f"not a CMS SignedData with one SM2/SM3 signer and its certificate ({reason}); "
            "sign it with sign_detached_sm2."
        ) from exc


def _parts(cms_der: bytes) -> SignerInfoParts:
    signed_data = cms.ContentInfo.load(bytes(cms_der))["content"]
    (info,) = signed_data["signer_infos"]
    if info["digest_algorithm"]["algorithm"].dotted != SM.digest_oid:
        raise ValueError("the digest algorithm is not SM3")
    attributes = info["signed_attrs"]
    digests = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
    sid = info["sid"].chosen
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed_data["certificates"]]
    signer = next(
        c
        for c in certs
        if c.serial_number == sid["serial_number"].native
        and c.issuer.public_bytes() == sid["issuer"].dump()
    )
    if len(digests) != 1 or not isinstance(digests[0], bytes) or not is_sm_certificate(signer):
        raise ValueError("the SM2 signer needs one messageDigest and an SM3-with-SM2 certificate")
    return SignerInfoParts(
        signed_attributes=cms.CMSAttributes(list(attributes)).dump(force=True),
        signature=bytes(info["signature"].native),
        message_digest=digests[0],
        signer=signer,
    )


def verify_detached_sm2(
    cms_der: bytes, content: bytes | None = None, digest: bytes | None = None
) -> x509.Certificate | None:
    """The signer's certificate when ``content`` (or its SM3 ``digest``) matches the
    messageDigest and the SM2 signature over the signed attributes holds; ``None`` otherwise."""
    parts = signer_info_parts(cms_der)
    expected = digest if digest is not None else sm2.sm3(content or b"")
    if parts.message_digest != expected:
        return None
    if not sm2.verify(sm_public_key(parts.signer), parts.signed_attributes, parts.signature):
        return None
    return parts.signer
