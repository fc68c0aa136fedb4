"""The per-document half of a PDF verification: the PAdES signature report and the embedded
licence metadata. Both are pure functions of the file's bytes (and of the trust roots), so a
server that sees the same file again — a licence is shown at many counters — may remember
them by the file's SHA-256; everything that depends on time or on the chain is decided anew
by the verifier on every request.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.pdf_metadata import read_metadata
from signing.validation import SignatureReport, validate_pdf_signature
from verifier.metadata import METADATA_FILE


class DocumentChecks:
    """Checks every document afresh."""

    def signature(self, data: bytes, roots: Sequence[x509.Certificate]) -> SignatureReport:
        return validate_pdf_signature(data, roots)

    def metadata(self, data: bytes) -> Mapping[str, Any]:
        return read_metadata(data, METADATA_FILE)


class RememberedDocumentChecks(DocumentChecks):
    """``DocumentChecks`` remembered for the last ``size`` distinct files.

    Exactly as strict: a remembered answer is the answer for the same bytes and the same
    roots. A signature report is remembered only when the signature names its signing time
    (the time its certificate chain is judged at); without one, pyHanko judges it at "now",
    which moves. Metadata that cannot be read is not remembered (the error is raised anew).
    """

    def __init__(self, size: int = 4_096) -> None:
        self.size = size
        self._reports: OrderedDict[tuple[bytes, bytes], SignatureReport] = OrderedDict()
        self._metadata: OrderedDict[bytes, Mapping[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def signature(self, data: bytes, roots: Sequence[x509.Certificate]) -> SignatureReport:
        key = (hashlib.sha256(data).digest(), _roots_id(roots))
        with self._lock:
            known = self._reports.get(key)
        if known is not None:
            return known
        report = super().signature(data, roots)
        if report.signing_time is not None:
            self._keep(self._reports, key, report)
        return report

    def metadata(self, data: bytes) -> Mapping[str, Any]:
        key = hashlib.sha256(data).digest()
        with self._lock:
            known = self._metadata.get(key)
        if known is not None:
            return dict(known)
        meta = super().metadata(data)
        self._keep(self._metadata, key, dict(meta))
        return meta

    def _keep(self, memo: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            memo[key] = value
            while len(memo) > self.size:
                memo.popitem(last=False)


def _roots_id(roots: Sequence[x509.Certificate]) -> bytes:
    digest = hashlib.sha256()
    for root in roots:
        digest.update(hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).digest())
    return digest.digest()
