"""A detached CMS SignedData (RFC 5652) with SM3 digests and an SM2 signer: the building block of
an ``sm`` region's PDF signature (GM/T 0010 names the same structure).

The SignerInfo carries signed attributes (contentType, signingTime, messageDigest = SM3 of the
content) and the SM2 signature over their DER ``SET OF`` encoding, as a PAdES signer does; the
agency certificate and its chain travel in ``certificates``. Built with asn1crypto directly:
pyHanko's signers would need SM2 registered throughout its validation stack, which is the next
step of issue 19, not this module's.

The signature uses the standard default signer ID. OpenSSL 3.0's ``cms -verify`` cannot check
it: it offers no way to pass ``distid`` and computes ``Z`` without an ID, so it rejects any
SM2 signer made with the default ID (its ``pkeyutl -pkeyopt distid:...`` does verify the same
signed attributes; see tests/test_sm_cms.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing import sm2
from signing.errors import SigningError
from signing.sm2_certificates import SmKeyAndCert, is_sm_certificate, sm_public_key
from signing.suites import SM

__all__ = ["SignerInfoParts", "sign_detached_sm2", "signer_info_parts", "verify_detached_sm2"]


@dataclass(frozen=True)
class SignerInfoParts:
    """What a verifier checks: the signed attributes as signed, the signature, the signer."""

    signed_attributes: bytes
    signature: bytes
    message_digest: bytes
    signer: x509.Certificate


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def sign_detached_sm2(
    content: bytes, creds: SmKeyAndCert, signing_time: datetime | None = None
) -> bytes:
    """DER ``ContentInfo`` of a detached SignedData over ``content`` signed by ``creds``."""
    moment = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    leaf = _asn1_cert(creds.cert)
    attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["data"]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": moment})]},
            {"type": "message_digest", "values": [sm2.sm3(content)]},
        ]
    )
    signature = sm2.sign(creds.key, attributes.dump())
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": leaf.issuer,
                        "serial_number": leaf.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": SM.digest_oid},
            "signed_attrs": attributes,
            "signature_algorithm": {"algorithm": SM.signature_oid},
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": SM.digest_oid}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [leaf, *(_asn1_cert(c) for c in creds.chain)],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def signer_info_parts(cms_der: bytes) -> SignerInfoParts:
    """The single SM2 signer's signed attributes (re-tagged as the ``SET OF`` that was signed),
    signature, messageDigest and certificate; anything else is a clear error."""
    try:
        signed_data = cms.ContentInfo.load(bytes(cms_der))["content"]
        (info,) = signed_data["signer_infos"]
        if info["digest_algorithm"]["algorithm"].dotted != SM.digest_oid:
            raise ValueError("the digest algorithm is not SM3")
        attributes = info["signed_attrs"]
        digests = [
            a["values"][0].native for a in attributes if a["type"].native == "message_digest"
        ]
        sid = info["sid"].chosen
        certs = [
            x509.load_der_x509_certificate(c.chosen.dump()) for c in signed_data["certificates"]
        ]
        signer = next(
            c
            for c in certs
            if c.serial_number == sid["serial_number"].native
            and c.issuer.public_bytes() == sid["issuer"].dump()
        )
    except (ValueError, KeyError, TypeError, StopIteration) as exc:
        reason = str(exc) or "no signer certificate"
        raise SigningError(
            f"not a CMS SignedData with one SM2/SM3 signer and its certificate ({reason}); "
            "sign it with sign_detached_sm2."
        ) from exc
    if len(digests) != 1 or not is_sm_certificate(signer):
        raise SigningError(
            "the SM2 signer needs one messageDigest and an SM3-with-SM2 certificate."
        )
    return SignerInfoParts(
        signed_attributes=cms.CMSAttributes(list(attributes)).dump(),
        signature=bytes(info["signature"].native),
        message_digest=bytes(digests[0]),
        signer=signer,
    )


def verify_detached_sm2(cms_der: bytes, content: bytes) -> x509.Certificate | None:
    """The signer's certificate when ``content`` matches the messageDigest and the SM2
    signature over the signed attributes holds; ``None`` otherwise."""
    parts = signer_info_parts(cms_der)
    if parts.message_digest != sm2.sm3(content):
        return None
    if not sm2.verify(sm_public_key(parts.signer), parts.signed_attributes, parts.signature):
        return None
    return parts.signer
