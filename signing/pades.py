"""PAdES signing of PDFs with local credentials.

The signature is PAdES baseline B-B (``/SubFilter /ETSI.CAdES.detached``, SHA-256, ECDSA),
with the whole issuer chain embedded so a validator needs only the trust root. No timestamp
authority is contacted: issuing must work offline, and the trustworthy time of a document is
its anchor on the ledger, not a TSA token.

By default the signature is a *certification* signature with DocMDP "no changes allowed",
so PDF viewers themselves (Acrobat, pyHanko) flag any later modification as breaking the
document, not just as an extra revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.certificates import KeyAndCert
from signing.errors import PdfSigningError

__all__ = ["SignerConfig", "sign_pdf"]


@dataclass(frozen=True)
class SignerConfig:
    """What to sign with and how the signature is labelled.

    ``reason``/``location``/``contact`` end up in the signature dictionary and are shown by
    PDF viewers. ``certify`` makes the signature a DocMDP certification signature that
    forbids any further change; turn it off only if others must countersign later.
    """

    credentials: KeyAndCert
    field_name: str = "IssuerSeal"
    reason: str | None = None
    location: str | None = None
    contact: str | None = None
    certify: bool = True


def _signer(credentials: KeyAndCert) -> signers.SimpleSigner:
    """The pyHanko signer of ``credentials``, built once per credentials object."""
    cached = _signers.get(id(credentials))
    if cached is not None and cached[0] is credentials:
        return cached[1]
    signer = _make_signer(credentials)
    _signers.clear()  # one agency's credentials at a time in practice; keep memory flat
    _signers[id(credentials)] = (credentials, signer)
    return signer


_signers: dict[int, tuple[KeyAndCert, signers.SimpleSigner]] = {}


def _reserved(credentials: KeyAndCert) -> int:
    """Bytes reserved for the CMS container: the certificates it embeds plus room for the
    signed attributes and the signature. Giving pyHanko this number spares it a dry-run
    signature to measure the container (half of its signing time)."""
    der = sum(len(c.public_bytes(Encoding.DER)) for c in (credentials.cert, *credentials.chain))
    return 2 * (der + 2048)  # hex digits in the file


def _make_signer(credentials: KeyAndCert) -> signers.SimpleSigner:
    if credentials.cert.public_key() != credentials.key.public_key():
        raise PdfSigningError(
            "the signing key does not match the certificate in the credentials; "
            "load the key and certificate that were issued together."
        )
    registry = SimpleCertificateStore()
    registry.register_multiple(
        translate_pyca_cryptography_cert_to_asn1(c) for c in credentials.chain
    )
    return signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(credentials.cert),
        signing_key=translate_pyca_cryptography_key_to_asn1(credentials.key),
        cert_registry=registry,
    )


def sign_pdf(pdf_bytes: bytes, config: SignerConfig) -> bytes:
    """Return the complete signed file: ``pdf_bytes`` plus an incremental signature revision."""
    if not config.field_name or "." in config.field_name:
        raise PdfSigningError(
            f"signature field name {config.field_name!r} is invalid; use a non-empty name "
            "without dots."
        )
    signer = _signer(config.credentials)
    meta = signers.PdfSignatureMetadata(
        field_name=config.field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=config.reason,
        location=config.location,
        contact_info=config.contact,
        certify=config.certify,
        docmdp_permissions=MDPPerm.NO_CHANGES,
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise PdfSigningError(
            f"the input is not a readable PDF ({exc}); pass the bytes of a complete PDF file."
        ) from exc
    try:
        output = signers.PdfSigner(meta, signer=signer).sign_pdf(
            writer, bytes_reserved=_reserved(config.credentials)
        )
    except PyHankoSigningError as exc:
        raise PdfSigningError(
            f"pyHanko refused to sign: {exc}; if field {config.field_name!r} is already signed, "
            "sign the unsigned original or use another field name."
        ) from exc
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise PdfSigningError(
            f"the PDF could not be signed ({type(exc).__name__}: {exc}); check the input file."
        ) from exc
    return bytes(output.getvalue())
