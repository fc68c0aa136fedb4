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

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature as _pyhanko_validate
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing.cms_checks import from_asn1, gap_problem, to_asn1
from signing.pdf_depth import nesting_problem
from signing.sm_validation import (
    SignatureOutcome,
    is_sm_signature,
    sm_signer,
    validate_sm_signature,
)

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


def _trust_detail(
    indic: AdESSubIndic | None, moment: datetime, signer: x509.Certificate | None
) -> str:
    if indic in _OUT_OF_BOUNDS and signer is not None:
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


def _pyhanko_outcome(
    emb: EmbeddedPdfSignature, trust_roots: Sequence[x509.Certificate], moment: datetime
) -> SignatureOutcome:
    """pyHanko's validation of an ``intl`` (ECDSA P-256 / SHA-256) signature."""
    context = ValidationContext(
        trust_roots=[to_asn1(c) for c in trust_roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=moment,
    )
    status: PdfSignatureStatus = _run_sync(_pyhanko_validate, emb, context)
    trusted = bool(
        status.valid and status.trust_problem_indic is None and status.validation_path is not None
    )
    return SignatureOutcome(
        intact=bool(status.intact),
        valid=bool(status.valid),
        coverage=status.coverage or SignatureCoverageLevel.UNCLEAR,
        trusted=trusted,
        trust_problem=status.trust_problem_indic,
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
    if (too_deep := nesting_problem(data)) is not None:
        return _unsigned(too_deep)
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
        sm_suite = is_sm_signature(emb)
    except Exception:  # a SignerInfo without readable algorithms: pyHanko reports it
        sm_suite = False
    try:
        # pyHanko finds the signer through its ESS check, which knows no SM3
        signer: x509.Certificate | None = sm_signer(emb) if sm_suite else from_asn1(emb.signer_cert)
    except Exception:
        signer = None
    try:
        signing_time = emb.self_reported_timestamp
    except Exception:
        signing_time = None
    gap = gap_problem(data, emb, trust_roots)

    moment = validation_time or signing_time or datetime.now(UTC)
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        outcome = (
            validate_sm_signature(data, emb, trust_roots, moment)
            if sm_suite
            else _pyhanko_outcome(emb, trust_roots, moment)
        )
    except Exception as exc:
        return _broken(
            f"the signature cannot be validated ({type(exc).__name__}: {exc})", signer=signer
        )

    covers_whole_file = outcome.coverage == SignatureCoverageLevel.ENTIRE_FILE
    valid = outcome.valid and gap is None
    if not outcome.intact:
        detail = "the signed bytes were changed after signing (the document digest does not match)"
    elif gap is not None:
        detail = gap
    elif not outcome.valid:
        detail = "the signature value does not verify against the signer's certificate"
    elif not covers_whole_file:
        detail = (
            "data was added to the file after it was signed (incremental update or appended "
            "bytes); the file is not the one that was signed"
            if outcome.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            else "the signature does not cover the file in the standard way"
        )
    elif not outcome.trusted:
        detail = _trust_detail(outcome.trust_problem, moment, signer)
    else:
        name = signer.subject.rfc4514_string() if signer is not None else "unknown signer"
        when = f" at {signing_time.isoformat()}" if signing_time is not None else ""
        detail = f"signature valid: signed by {name}{when}, covering the whole file"
    return SignatureReport(
        signed=True,
        intact=outcome.intact,
        valid=valid,
        covers_whole_file=covers_whole_file,
        trusted=outcome.trusted,
        signer=signer,
        signer_fingerprint=_fingerprint(signer),
        signing_time=signing_time,
        detail=detail,
    )
