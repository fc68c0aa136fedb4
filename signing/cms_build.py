"""The CMS SignedData of a PAdES B-B signature, built directly from a prepared template.

pyHanko's general signer assembles the same structure through several layers of attribute
providers and an event loop per document; for one fixed kind of signature (ECDSA or RSA
with SHA-256, signed attributes contentType, messageDigest and signingCertificateV2, the
issuer chain embedded, no unsigned attributes) everything but the digest and the signature
value is the same for every document of an agency. :class:`CmsTemplate` prepares those parts
once per credentials; :meth:`CmsTemplate.sign` then costs one hash and one signature.
"""

from __future__ import annotations

import hashlib

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from signing.certificates import KeyAndCert
from signing.errors import PdfSigningError

__all__ = ["CmsTemplate"]


def _asn1(cert_der: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert_der)


class CmsTemplate:
    """The per-credentials constant parts of the signature container."""

    def __init__(self, credentials: KeyAndCert) -> None:
        if credentials.cert.public_key() != credentials.key.public_key():
            raise PdfSigningError(
                "the signing key does not match the certificate in the credentials; "
                "load the key and certificate that were issued together."
            )
        self.key = credentials.key
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            self.sig_algo = "sha256_ecdsa"
        elif isinstance(self.key, rsa.RSAPrivateKey):
            self.sig_algo = "sha256_rsa"
        else:
            raise PdfSigningError("only ECDSA and RSA signing keys are supported")
        cert_der = credentials.cert.public_bytes(Encoding.DER)
        signer = _asn1(cert_der)
        self.certificates = [
            signer,
            *(_asn1(c.public_bytes(Encoding.DER)) for c in credentials.chain),
        ]
        self.sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber(
                {"issuer": signer.issuer, "serial_number": signer.serial_number}
            ),
        )
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    tsp.ESSCertIDv2(
                        {
                            "hash_algorithm": {"algorithm": "sha256"},
                            "cert_hash": hashlib.sha256(cert_der).digest(),
                            "issuer_serial": {
                                "issuer": [
                                    asn1_x509.GeneralName(
                                        name="directory_name", value=signer.issuer
                                    )
                                ],
                                "serial_number": signer.serial_number,
                            },
                        }
                    )
                ]
            }
        )
        ess_attr = cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]})
        content_type_attr = cms.CMSAttribute({"type": "content_type", "values": ["data"]})
        digest_algo = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        sig_algo = algos.SignedDigestAlgorithm({"algorithm": self.sig_algo}).dump()
        # DER pieces that never change; sign() only adds the digest and the signature
        self._attrs_head = content_type_attr.dump()
        self._attrs_tail = ess_attr.dump()
        self._md_oid = core.ObjectIdentifier("1.2.840.113549.1.9.4").dump()  # messageDigest
        self._si_head = _tlv(0x02, b"\x01") + self.sid.dump() + digest_algo
        self._si_tail = sig_algo
        self._sd_head = (
            _tlv(0x02, b"\x01")
            + _tlv(0x31, digest_algo)
            + cms.EncapsulatedContentInfo({"content_type": "data"}).dump()
            + _tlv(0xA0, b"".join(c.dump() for c in self.certificates))
        )
        self._ci_oid = core.ObjectIdentifier("1.2.840.113549.1.7.2").dump()  # signedData
        # PAdES reserves room for the container; measure a real one once, with headroom
        self.reserved = 2 * (len(self.sign(bytes(32))) + 512)

    def sign(self, document_digest: bytes) -> bytes:
        """The DER ContentInfo of a detached signature over a document with this digest."""
        message_digest = _tlv(0x30, self._md_oid + _tlv(0x31, _tlv(0x04, document_digest)))
        # SET OF in DER order: contentType, messageDigest, signingCertificateV2 (ascending
        # encodings, as pyHanko writes them)
        attrs = self._attrs_head + message_digest + self._attrs_tail
        to_sign = _tlv(0x31, attrs)  # signed as a SET, as RFC 5652 5.4 requires
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            signature = self.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
        else:
            assert isinstance(self.key, rsa.RSAPrivateKey)
            signature = self.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
        signer_info = _tlv(
            0x30, self._si_head + _tlv(0xA0, attrs) + self._si_tail + _tlv(0x04, signature)
        )
        signed_data = _tlv(0x30, self._sd_head + _tlv(0x31, signer_info))
        return _tlv(0x30, self._ci_oid + _tlv(0xA0, signed_data))


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element (definite, minimal length)."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content
