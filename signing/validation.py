"""Validation of a single PAdES signature, offline, against explicit trust roots.

The result is a flat :class:`SignatureReport` instead of pyHanko's status objects so that
callers (the verifier, the HTTP API) need no pyHanko knowledge, and so that *every* input,
including garbage, yields a report rather than an exception.

On top of pyHanko's checks this module insists that the unsigned gap of the byte range
(the hex-encoded ``/Contents``) is byte-for-byte the canonical encoding of the CMS object
followed by zero padding. pyHanko tolerates extra bytes in that padding and hex digits in
either case, which means some single-byte edits of the file would otherwise go unnoticed.

Time: without a timestamp authority the only signing time is the one the signer put in the
signed data (``/M`` or the signing-time attribute), so by default the certificate chain is
checked at that time. Pass ``validation_time`` (e.g. the ledger anchor's block time) to check
at a time you trust more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature as _pyhanko_validate
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

__all__ = ["SignatureReport", "validate_pdf_signature"]

# pyHanko logs every failed path build (an untrusted signer) with a traceback at WARNING/ERROR.
# The outcome is already in the report; a NullHandler stops Python's last-resort handler from
# printing those tracebacks to stderr when the application has not configured logging, while
# an application that does configure logging still receives the records.
for _logger_name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_logger_name).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class SignatureReport:
    """Outcome of checking one PDF signature; ``detail`` explains the worst problem."""

    signed: bool
    intact: bool
    valid: bool
    covers_whole_file: bool
    trusted: bool
    signer: x509.Certificate | None
    signer_fingerprint: str | None
    signing_time: datetime | None
    detail: str

    @property
    def ok(self) -> bool:
        """True only if the file is exactly what a trusted signer signed."""
        return (
            self.signed and self.intact and self.valid and self.covers_whole_file and self.trusted
        )


def _unsigned(detail: str) -> SignatureReport:
    return SignatureReport(
        signed=False,
        intact=False,
        valid=False,
        covers_whole_file=False,
        trusted=False,
        signer=None,
        signer_fingerprint=None,
        signing_time=None,
        detail=detail,
    )


def _broken(detail: str, signer: x509.Certificate | None = None) -> SignatureReport:
    return SignatureReport(
        signed=True,
        intact=False,
        valid=False,
        covers_whole_file=False,
        trusted=False,
        signer=signer,
        signer_fingerprint=_fingerprint(signer),
        signing_time=None,
        detail=detail,
    )


def _fingerprint(cert: x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call pyHanko's sync API, which uses ``asyncio.run``, even inside a running loop.

    ``asyncio.run`` refuses to start in a thread that already runs a loop (e.g. a FastAPI
    ``async def`` handler), so in that case the call runs in a short-lived worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args, **kwargs).result()


def _gap_problem(
    pdf_bytes: bytes, emb: EmbeddedPdfSignature, trust_roots: Sequence[x509.Certificate]
) -> str | None:
    """Check the bytes outside the signed range: ``<`` hex of a strict CMS, zero padding ``>``.

    The signature cannot cover its own container, so every part of the container that the
    signature does not protect indirectly is checked here; a one-byte edit anywhere in the
    file must not leave a signature that reports as fine.
    """
    try:
        start1, len1, start2, len2 = (int(v) for v in emb.byte_range)
    except (TypeError, ValueError):
        return "the signature's /ByteRange is not four integers, so its coverage is unknown"
    if start1 != 0 or start2 < len1 or start2 + len2 > len(pdf_bytes):
        return "the signature's /ByteRange does not describe this file"
    gap = pdf_bytes[len1:start2]
    contents = bytes(emb.pkcs7_content)
    canonical = b"<" + contents.hex().encode("ascii") + b">"
    if gap not in (canonical, canonical.upper()):
        return "the signature container bytes in the file were altered (non-canonical encoding)"
    try:
        der = _first_tlv(contents)
        if not _is_strict_der(der):
            return "the signature container is not DER-encoded (it was altered)"
        content_info = cms.ContentInfo.load(der, strict=True)
    except Exception:  # asn1crypto raises ValueError, IndexError, TypeError, ... on bad input
        return "the signature container is not a well-formed CMS structure"
    if any(contents[len(der) :]):
        return "the signature container has non-zero bytes after the CMS structure"
    try:
        return _unprotected_fields_problem(content_info["content"], trust_roots)
    except Exception as exc:  # malformed ASN.1 surfaces as many exception types
        return f"the signature container cannot be checked ({type(exc).__name__}: {exc})"


def _read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int] | None:
    """Parse one DER tag+length at ``pos``; return (tag, content start, content end)."""
    if pos + 2 > end:
        return None
    tag = data[pos]
    if tag == 0x00 or tag & 0x1F == 0x1F:  # no end-of-contents in DER; no high tag numbers
        return None
    first = data[pos + 1]
    if first < 0x80:
        start, length = pos + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + 2 + count > end:
            return None
        raw_length = data[pos + 2 : pos + 2 + count]
        length = int.from_bytes(raw_length, "big")
        if raw_length[0] == 0 or length < 0x80:  # DER: minimal length encoding
            return None
        start = pos + 2 + count
    if start + length > end:
        return None
    return tag, start, start + length


def _is_strict_der(data: bytes, pos: int = 0, end: int | None = None, depth: int = 0) -> bool:
    """Walk the TLV tree and insist on DER: minimal lengths, exact nesting, canonical values.

    Only the container's own structure is walked (primitive values such as OCTET STRINGs are
    not descended into); every BIT STRING at that level is a key or a signature, hence
    octet-aligned.

    Much cheaper than re-encoding with asn1crypto (``dump(force=True)`` costs ~150 ms).
    """
    end = len(data) if end is None else end
    if depth > 64:
        return False
    while pos < end:
        header = _read_header(data, pos, end)
        if header is None:
            return False
        tag, start, stop = header
        if tag & 0x20:  # constructed: its content must be exactly a sequence of TLVs
            if not _is_strict_der(data, start, stop, depth + 1):
                return False
        elif tag == 0x01 and (stop - start != 1 or data[start] not in (0x00, 0xFF)):
            return False  # BOOLEAN
        elif tag == 0x02 and (
            stop == start
            or (
                stop - start > 1
                and (
                    (data[start] == 0x00 and data[start + 1] < 0x80)
                    or (data[start] == 0xFF and data[start + 1] >= 0x80)
                )
            )
        ):
            return False  # INTEGER not minimally encoded
        elif tag == 0x03 and (stop == start or data[start] != 0):
            # Keys and signatures are octet-aligned; a non-zero "unused bits" count would let a
            # flipped byte slip past verifiers that ignore it (cryptography does).
            return False
        pos = stop
    return pos == end


def _first_tlv(contents: bytes) -> bytes:
    """Return the DER TLV at the start of ``contents`` (the CMS ContentInfo)."""
    if len(contents) < 2 or contents[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    first = contents[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(contents) < 2 + count:
            raise ValueError("bad DER length")
        header = 2 + count
        length = int.from_bytes(contents[2:header], "big")
    if header + length > len(contents):
        raise ValueError("DER length runs past the container")
    return contents[: header + length]


def _unprotected_fields_problem(
    signed_data: cms.SignedData, trust_roots: Sequence[x509.Certificate]
) -> str | None:
    """Check the SignedData fields that neither the signature nor the digest protect."""
    signer_infos = list(signed_data["signer_infos"])
    if len(signer_infos) != 1:
        return "the signature container must hold exactly one signer"
    signer_info = signer_infos[0]
    sid = signer_info["sid"]
    certificates = [
        c.chosen for c in signed_data["certificates"] if isinstance(c.chosen, asn1_x509.Certificate)
    ]
    if len(certificates) != len(signed_data["certificates"]):
        return "the signature container holds certificates of an unexpected kind"
    # RFC 5652 5.1/5.3: versions follow from the structure; anything else was edited.
    uses_ski = sid.name == "subject_key_identifier"
    expected_si_version = "v3" if uses_ski else "v1"
    if signer_info["version"].native != expected_si_version:
        return "the signer's version number in the signature container was altered"
    data_content = signed_data["encap_content_info"]["content_type"].native == "data"
    expected_sd_version = "v1" if data_content and not uses_ski else "v3"
    if signed_data["version"].native != expected_sd_version:
        return "the version number of the signature container was altered"
    digest_algorithms = [a.dump() for a in signed_data["digest_algorithms"]]
    if digest_algorithms != [signer_info["digest_algorithm"].dump()]:
        return "the digest algorithm list of the signature container was altered"
    if not uses_ski:
        issuer_serial = sid.chosen
        if not any(
            c.issuer.dump() == issuer_serial["issuer"].dump()
            and c.serial_number == issuer_serial["serial_number"].native
            for c in certificates
        ):
            return "the signer identifier in the signature container matches no certificate"
    return _certificate_bag_problem(certificates, trust_roots)


def _certificate_bag_problem(
    certificates: list[asn1_x509.Certificate], trust_roots: Sequence[x509.Certificate]
) -> str | None:
    """Every embedded certificate must carry a valid signature of an issuer we can see.

    Chain certificates are not covered by the document signature, so an edited copy of the
    CA certificate would otherwise pass unnoticed whenever the trusted root is supplied.
    """
    bag = [_from_asn1(c) for c in certificates]
    issuers = [*bag, *trust_roots]
    root_ders = {r.public_bytes(serialization.Encoding.DER) for r in trust_roots}
    for cert in bag:
        if cert.public_bytes(serialization.Encoding.DER) in root_ders:
            continue
        issuer_name = cert.issuer.public_bytes()
        if not any(
            i.subject.public_bytes() == issuer_name and _issued_by(cert, i) for i in issuers
        ):
            return (
                f"the embedded certificate {cert.subject.rfc4514_string()} does not verify "
                "against any issuer in the signature or the trust roots (the signature "
                "container was altered or is incomplete)"
            )
    return None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


_TRUST_PROBLEMS: dict[AdESSubIndic, str] = {
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND: (
        "the signer's certificate does not chain to any of the trusted roots"
    ),
    AdESIndeterminate.EXPIRED: "the signer's certificate (or its CA) had expired at signing time",
    AdESIndeterminate.NOT_YET_VALID: (
        "the signer's certificate (or its CA) was not yet valid at signing time"
    ),
    AdESFailure.NOT_YET_VALID: (
        "the signer's certificate (or its CA) was not yet valid at signing time"
    ),
    AdESFailure.REVOKED: "the signer's certificate has been revoked",
    AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE: (
        "the signer's certificate chain violates its constraints (key usage, CA flags)"
    ),
    AdESIndeterminate.SIG_CONSTRAINTS_FAILURE: (
        "the signer's certificate is not allowed for signing (key usage)"
    ),
    AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE: (
        "the signature uses an algorithm that is not allowed"
    ),
}


_OUT_OF_BOUNDS = frozenset(
    {AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED}
)


def _trust_detail(status: PdfSignatureStatus, signer: x509.Certificate | None) -> str:
    indic = status.trust_problem_indic
    moment = status.validation_time
    if indic in _OUT_OF_BOUNDS and signer is not None and moment is not None:
        if moment > signer.not_valid_after_utc:
            return _TRUST_PROBLEMS[AdESIndeterminate.EXPIRED]
        if moment < signer.not_valid_before_utc:
            return _TRUST_PROBLEMS[AdESIndeterminate.NOT_YET_VALID]
        return "a certificate in the signer's chain was not valid at signing time"
    if indic is None:
        return "the signer's certificate does not chain to any of the trusted roots"
    known = _TRUST_PROBLEMS.get(indic)
    return (
        known
        if known is not None
        else f"the signer's certificate is not trusted ({getattr(indic, 'name', indic)})"
    )


def _pick_signature(reader: PdfFileReader) -> tuple[EmbeddedPdfSignature | None, str | None]:
    """Return the latest signature, or ``(None, reason)`` when one exists but is unreadable."""
    signatures: list[EmbeddedPdfSignature] = []
    for fq_name, _sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
        try:
            signatures.append(EmbeddedPdfSignature(reader, sig_field, fq_name))
        except Exception as exc:  # any parse failure means a broken signature container
            return None, f"signature {fq_name!r} cannot be read ({type(exc).__name__}: {exc})"
    if not signatures:
        return None, None
    return max(signatures, key=lambda emb: emb.signed_revision), None


def validate_pdf_signature(
    pdf_bytes: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    validation_time: datetime | None = None,
) -> SignatureReport:
    """Check the (last) signature of ``pdf_bytes`` against ``trust_roots``; never raises.

    Revocation is not checked (the consortium revokes on the ledger, not via CRL/OCSP), and
    nothing is fetched from the network.
    """
    try:
        return _validate(pdf_bytes, trust_roots, validation_time)
    except Exception as exc:  # last resort: the contract is "never raises"
        return _unsigned(f"the file could not be checked ({type(exc).__name__}: {exc})")


def _validate(
    pdf_bytes: bytes,
    trust_roots: Sequence[x509.Certificate],
    validation_time: datetime | None,
) -> SignatureReport:
    data = bytes(pdf_bytes) if isinstance(pdf_bytes, bytes | bytearray | memoryview) else b""
    if b"%PDF-" not in data[:1024]:
        return _unsigned("the file is not a readable PDF (no %PDF header)")
    try:
        reader = PdfFileReader(BytesIO(data))
        emb, broken = _pick_signature(reader)
    except Exception as exc:  # pyHanko raises many types on malformed input
        return _unsigned(f"the file is not a readable PDF ({type(exc).__name__}: {exc})")
    if emb is None:
        if broken is not None:
            return _broken(f"the file was altered: {broken}")
        return _unsigned("the PDF carries no signature")

    try:
        signer: x509.Certificate | None = _from_asn1(emb.signer_cert)
    except Exception:
        signer = None
    try:
        signing_time = emb.self_reported_timestamp
    except Exception:
        signing_time = None
    gap_problem = _gap_problem(data, emb, trust_roots)

    try:
        moment = validation_time or signing_time or datetime.now(UTC)
        if moment.utcoffset() is None:
            moment = moment.replace(tzinfo=UTC)
        context = ValidationContext(
            trust_roots=[_to_asn1(c) for c in trust_roots],
            allow_fetching=False,
            revocation_mode="soft-fail",
            moment=moment,
        )
        status: PdfSignatureStatus = _run_sync(_pyhanko_validate, emb, context)
    except Exception as exc:
        return _broken(
            f"the signature cannot be validated ({type(exc).__name__}: {exc})", signer=signer
        )

    covers_whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    trusted = bool(
        status.valid and status.trust_problem_indic is None and status.validation_path is not None
    )
    valid = bool(status.valid) and gap_problem is None
    if not status.intact:
        detail = "the signed bytes were changed after signing (the document digest does not match)"
    elif gap_problem is not None:
        detail = gap_problem
    elif not status.valid:
        detail = "the signature value does not verify against the signer's certificate"
    elif not covers_whole_file:
        detail = (
            "data was added to the file after it was signed (incremental update or appended "
            "bytes); the file is not the one that was signed"
            if status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            else "the signature does not cover the file in the standard way"
        )
    elif not trusted:
        detail = _trust_detail(status, signer)
    else:
        name = signer.subject.rfc4514_string() if signer is not None else "unknown signer"
        when = f" at {signing_time.isoformat()}" if signing_time is not None else ""
        detail = f"signature valid: signed by {name}{when}, covering the whole file"
    return SignatureReport(
        signed=True,
        intact=bool(status.intact),
        valid=valid,
        covers_whole_file=covers_whole_file,
        trusted=trusted,
        signer=signer,
        signer_fingerprint=_fingerprint(signer),
        signing_time=signing_time,
        detail=detail,
    )
