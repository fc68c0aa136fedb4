"""PAdES signing of PDFs with local credentials.

The signature is PAdES baseline B-B (``/SubFilter /ETSI.CAdES.detached``, SHA-256, ECDSA; or SM3
and SM2 for the credentials of an ``sm`` region, :mod:`signing.sm2_cms`), with the whole issuer
chain embedded so a validator needs only the trust root. No timestamp authority is contacted:
issuing must work offline, and the trustworthy time of a document is its anchor on the ledger,
not a TSA token.

By default the signature is a *certification* signature with DocMDP "no changes allowed", so PDF
viewers themselves (Acrobat, pyHanko) flag any later modification as breaking the document, not
just as an extra revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.cms_embedder import (
    PdfCMSEmbedder,
    SigIOSetup,
    SigMDPSetup,
    SigObjSetup,
)
from pyhanko.sign.signers.pdf_byterange import SignatureObject

from signing.certificates import KeyAndCert
from signing.cms_build import CmsTemplate
from signing.errors import PdfSigningError
from signing.pdf_metadata import attach_metadata
from signing.sm2_certificates import SmKeyAndCert
from signing.sm2_cms import SmCmsTemplate

__all__ = ["SignerConfig", "sign_pdf"]


@dataclass(frozen=True)
class SignerConfig:
    """What to sign with and how the signature is labelled.

    ``reason``/``location``/``contact`` end up in the signature dictionary and are shown by
    PDF viewers. ``certify`` makes the signature a DocMDP certification signature that
    forbids any further change; turn it off only if others must countersign later.
    """

    credentials: KeyAndCert | SmKeyAndCert
    field_name: str = "IssuerSeal"
    reason: str | None = None
    location: str | None = None
    contact: str | None = None
    certify: bool = True


_templates: dict[int, tuple[KeyAndCert | SmKeyAndCert, CmsTemplate | SmCmsTemplate]] = {}


def _template(credentials: KeyAndCert | SmKeyAndCert) -> CmsTemplate | SmCmsTemplate:
    """The signature container template of ``credentials``, prepared once per credentials
    object (only the current agency's are kept, so memory stays flat)."""
    cached = _templates.get(id(credentials))
    if cached is not None and cached[0] is credentials:
        return cached[1]
    template = (
        SmCmsTemplate(credentials)
        if isinstance(credentials, SmKeyAndCert)
        else CmsTemplate(credentials)
    )
    _templates.clear()
    _templates[id(credentials)] = (credentials, template)
    return template


def sign_pdf(
    pdf_bytes: bytes,
    config: SignerConfig,
    metadata: Mapping[str, Any] | None = None,
    metadata_file: str = "metadata.json",
) -> bytes:
    """Return the complete signed file: ``pdf_bytes`` plus an incremental signature revision.

    With ``metadata``, the signature revision also attaches it as JSON file
    ``metadata_file`` (see :func:`signing.pdf_metadata.attach_metadata`): one revision,
    parsed and written once, instead of an attachment revision and then a signature one.

    pyHanko writes the signature revision (field, signature dictionary with DocMDP, byte
    range); the CMS container is built by :class:`signing.cms_build.CmsTemplate`, which is
    several times faster than pyHanko's general signer for this one kind of signature.
    """
    if not config.field_name or "." in config.field_name:
        raise PdfSigningError(
            f"signature field name {config.field_name!r} is invalid; use a non-empty name "
            "without dots."
        )
    template = _template(config.credentials)
    digest = "sm3" if isinstance(template, SmCmsTemplate) else "sha256"
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise PdfSigningError(
            f"the input is not a readable PDF ({exc}); pass the bytes of a complete PDF file."
        ) from exc
    if metadata is not None:
        attach_metadata(writer, metadata, metadata_file)
    try:
        embedder = PdfCMSEmbedder().write_cms(field_name=config.field_name, writer=writer)
        next(embedder)
        placeholder = SignatureObject(
            timestamp=datetime.now(UTC),
            subfilter=SigSeedSubFilter.PADES,
            location=config.location,
            reason=config.reason,
            contact_info=config.contact,
            bytes_reserved=template.reserved,
        )
        mdp = (
            SigMDPSetup(md_algorithm=digest, certify=True, docmdp_perms=MDPPerm.NO_CHANGES)
            if config.certify
            else None
        )
        embedder.send(SigObjSetup(sig_placeholder=placeholder, mdp_setup=mdp))
        prepared, output = embedder.send(SigIOSetup(md_algorithm=digest, in_place=False))
        embedder.send(template.sign(prepared.document_digest))
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
