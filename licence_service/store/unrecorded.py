"""PDF files no row names: what a crash between writing a file and committing its rows leaves.

Issuing writes the signed PDF first (durably, by temp file and rename) and then commits the
licence, its version and its outbox entry in one transaction, so a crash in between leaves a
file that no licence points to: never acknowledged, never served, but a PDF in the store all
the same. The anchoring worker moves such files aside into ``pdfs/unrecorded/`` (never deletes
them: an operator may look), once they are older than a grace period longer than any
issuance's write-to-commit window, so a file whose commit is still under way is left alone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from licence_service.store.models import Attachment, LicenceVersion

UNRECORDED_DIR = "unrecorded"
_SUFFIXES = (".pdf", ".pdf.tmp")


def _recorded_names(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as s:
        paths = [
            *s.scalars(select(LicenceVersion.pdf_path)),
            *s.scalars(select(Attachment.pdf_path)),
        ]
    return {Path(p).name for p in paths if p}


def unrecorded_files(pdf_dir: Path, sessions: sessionmaker[Session], grace: float) -> list[Path]:
    """Files in ``pdf_dir`` older than ``grace`` seconds that no version or attachment names."""
    if not pdf_dir.is_dir():
        return []
    cutoff = time.time() - grace
    candidates = [
        p for p in pdf_dir.iterdir()
        if p.is_file() and p.name.endswith(_SUFFIXES) and p.stat().st_mtime < cutoff
    ]  # fmt: skip
    if not candidates:
        return []
    recorded = _recorded_names(sessions)  # read after listing: a file committed since is named
    return [p for p in candidates if p.name not in recorded]


def set_aside_unrecorded(pdf_dir: Path, sessions: sessionmaker[Session], grace: float) -> int:
    """Move every unrecorded file into ``pdf_dir/unrecorded``; returns how many were moved."""
    found = unrecorded_files(pdf_dir, sessions, grace)
    if found:
        target = pdf_dir / UNRECORDED_DIR
        target.mkdir(exist_ok=True)
        for path in found:
            try:
                os.replace(path, target / path.name)
            except FileNotFoundError:  # another process moved it first
                continue
    return len(found)
