"""Backing a region up into one archive and restoring it into a fresh data directory.

What a region's data directory holds and what the archive takes (``settings.py`` names it):

- the database: a consistent snapshot (``database.py``), taken *first*, so every PDF a
  snapshot row names is already on disk (issuance writes the PDF before its row);
- ``keys/``: agency and region-CA keys and chain keystores, copied as they are (encrypted;
  the development passphrase file comes along, a production passphrase lives outside and
  must be supplied again), and ``keys/trust/``;
- ``pdfs/``: every issued document (no ``*.tmp`` leftovers);
- ``deployment.json`` (the contract addresses), ``membership-request.json``, ``imports/``;
- the region's settings (non-secret values of ``Settings``) in the manifest.

Not taken: ``chain/`` (the chain is the consortium's replicated record, kept by its nodes;
the restored region reads it again) and ``run/`` (per-run server state).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from licence_service.backup.archive import ArchiveWriter, verify_and_extract, write_atomically
from licence_service.backup.database import (
    database_kind,
    dump_database,
    ensure_empty,
    load_database,
    relocate_paths,
    sqlite_path,
)
from licence_service.domain.errors import InvalidInputError, NotSetUpError
from licence_service.region.settings import Settings

__all__ = ["BackupResult", "RestoreResult", "backup_region", "restore_region"]

_FILES = ("deployment.json", "membership-request.json")
_TREES = ("keys", "pdfs", "imports")
_SNAPSHOT = {"sqlite": "database/licledger.sqlite", "postgresql": "database/postgresql.sql"}
_SETTINGS = ("chain_id", "rpc_url", "public_url", "api_host", "api_port", "batch_size",
             "flush_interval", "threshold", "production", "embedded_chain")  # fmt: skip


@dataclass(frozen=True)
class BackupResult:
    archive: Path
    bytes: int
    files: int
    database: str
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    home: Path
    files: int
    database: str
    paths_moved: int
    source_home: str
    created: str
    settings: dict[str, Any]
    seconds: float


def backup_region(settings: Settings, dest: Path) -> BackupResult:
    """Write the region's backup archive to ``dest`` (which must not exist yet)."""
    started = time.monotonic()
    home = settings.home
    if not home.is_dir():
        raise NotSetUpError(f"no data directory at {home}: nothing to back up", "data_dir")
    dest = dest.expanduser().resolve()
    if dest.exists():
        raise InvalidInputError(f"{dest} already exists: name a new file", "dest")
    kind = database_kind(settings.database_url)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".licledger-backup-") as work:
        snapshot = Path(work) / "snapshot"
        dump_database(settings.database_url, snapshot)
        with write_atomically(dest) as writer:
            writer.add_file(snapshot, _SNAPSHOT[kind])
            _add_home(writer, home)
            manifest = writer.finish(
                {
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "source_home": str(home),
                    "database": kind,
                    "settings": {name: getattr(settings, name) for name in _SETTINGS},
                    "passphrase_included": (settings.passphrase_file.is_file()),
                }
            )
    return BackupResult(
        dest, dest.stat().st_size, len(manifest["files"]), kind, time.monotonic() - started
    )


def _add_home(writer: ArchiveWriter, home: Path) -> None:
    for name in _FILES:
        if (home / name).is_file():
            writer.add_file(home / name, f"home/{name}")
    for name in _TREES:
        if (home / name).is_dir():
            writer.add_tree(home / name, f"home/{name}", skip=(".tmp",))


def _check_target(home: Path) -> None:
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise InvalidInputError(
            f"{home} is not empty: restore into a new or empty folder (nothing was changed)",
            "home",
        )


def restore_region(settings: Settings, archive: Path) -> RestoreResult:
    """Restore ``archive`` into ``settings.home`` (new or empty) and ``settings.database_url``
    (empty). A damaged archive or a non-empty target is refused before anything changes."""
    started = time.monotonic()
    home = settings.home
    if not archive.is_file():
        raise InvalidInputError(f"no backup archive at {archive}", "archive")
    _check_target(home)
    kind = database_kind(settings.database_url)
    ensure_empty(settings.database_url)
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=home.parent, prefix=f".{home.name}.restore-"))
    try:
        manifest = verify_and_extract(archive, staging)
        if manifest.get("database") != kind:
            raise InvalidInputError(
                f"the archive holds a {manifest.get('database')} database; the target is "
                f"{kind} (set LICLEDGER_DATABASE_URL to a database of the same kind)",
                "database",
            )
        moved = _restore_database(settings, manifest, staging)
        os.chmod(staging / "home", 0o700)
        if home.exists():
            home.rmdir()  # empty (checked above): the staged home takes its place
        os.replace(staging / "home", home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(
        home=home,
        files=len(manifest["files"]),
        database=kind,
        paths_moved=moved,
        source_home=str(manifest.get("source_home", "")),
        created=str(manifest.get("created", "")),
        settings=dict(manifest.get("settings", {})),
        seconds=time.monotonic() - started,
    )


def _restore_database(settings: Settings, manifest: dict[str, Any], staging: Path) -> int:
    """Load the snapshot and move stored PDF paths under the new home; returns paths moved."""
    kind = manifest["database"]
    snapshot = staging / _SNAPSHOT[kind]
    (staging / "home").mkdir(exist_ok=True)
    old_home = Path(str(manifest.get("source_home", "")))
    if kind == "postgresql":
        load_database(settings.database_url, snapshot)
        return relocate_paths(settings.database_url, old_home, settings.home)
    moved = relocate_paths(f"sqlite:///{snapshot}", old_home, settings.home)
    target = sqlite_path(settings.database_url).resolve()
    if target.is_relative_to(settings.home):  # lands with the staged home
        target = staging / "home" / target.relative_to(settings.home)
    load_database(f"sqlite:///{target}", snapshot)
    return moved
