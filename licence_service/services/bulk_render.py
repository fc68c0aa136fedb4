"""The CPU-heavy half of a bulk import, run in worker processes: render, sign, write the file.

Rendering and PAdES signing are pure Python and hold the GIL, so threads would not help; each
worker process gets the agency's credentials once (in its initializer, over the pipe from the
parent, never through a file) and then turns row payloads into signed PDFs written durably to
the PDF folder. The parent keeps everything that touches the database or the chain.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from licence_service.documents.builder import (
    BuiltDocument,
    DocumentSpec,
    build_document,
    pdf_name,
    write_pdf,
)
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import get_licence_type
from licence_service.region.runtime import Runtime
from licence_service.store.models import Agency
from signing.credentials import Credentials, credentials_from_der, private_key_der

_DER = serialization.Encoding.DER


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs once: where files go, who signs, which type is issued."""

    public_url: str
    pdf_dir: str
    type_code: str
    agency: dict[str, Any]  # code, name, region_code, region_name
    key_der: bytes
    cert_der: bytes
    chain_der: tuple[bytes, ...]
    fsync: bool = True

    @classmethod
    def of(cls, rt: Runtime, type_code: str, agency: Agency, creds: Credentials) -> WorkerSetup:
        return cls(
            public_url=rt.settings.public_url,
            pdf_dir=str(rt.settings.pdf_dir),
            type_code=type_code,
            agency={
                "code": agency.code,
                "name": agency.name,
                "region_code": agency.region_code,
                "region_name": agency.region_name,
            },
            key_der=private_key_der(creds),
            cert_der=creds.cert.public_bytes(_DER),
            chain_der=tuple(c.public_bytes(_DER) for c in creds.chain),
        )


@dataclass(frozen=True)
class RowJob:
    """One licence to render: its serial and the validated face values."""

    serial: int
    values: dict[str, str]
    fields: dict[str, str]
    issue_date: date
    start: date
    end: date
    holder_email: str | None = None  # checked; the licence row's, never on the face
    holder_phone: str | None = None


@dataclass(frozen=True)
class Rendered:
    """A written, signed PDF: its path and the document (without its bytes) for the
    database; or, for a row whose face cannot be drawn (too much text), the reason."""

    serial: int
    path: str
    doc: BuiltDocument | None
    error: str = ""


_state: dict[str, Any] = {}


def init_worker(setup: WorkerSetup) -> None:
    """Process initializer: load the credentials once; Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    creds = credentials_from_der(setup.key_der, setup.cert_der, setup.chain_der)
    _state.update(
        setup=setup,
        creds=creds,
        ltype=get_licence_type(setup.type_code),
        agency=Agency(**setup.agency),  # transient: never added to a session
    )


def render_rows(jobs: list[RowJob]) -> list[Rendered]:
    """Render, sign and durably write each job's PDF (in a worker process)."""
    setup: WorkerSetup = _state["setup"]
    out: list[Rendered] = []
    for job in jobs:
        ident = LicenceIdentifier.create(setup.type_code, setup.agency["code"], job.serial)
        spec = DocumentSpec(
            _state["agency"], _state["creds"], _state["ltype"], ident, job.values, job.fields,
            job.issue_date, job.start, job.end,
        )  # fmt: skip
        try:
            doc = build_document(setup.public_url, spec)
        except ValueError as exc:  # the face cannot be laid out: this row's error, not the run's
            out.append(Rendered(job.serial, "", None, str(exc)))
            continue
        path = write_pdf(Path(setup.pdf_dir), pdf_name(ident, doc.leaf), doc.pdf, setup.fsync)
        out.append(Rendered(job.serial, str(path), replace(doc, pdf=b"")))
    return out
