"""The backup archive: a tar file whose last member, ``MANIFEST.json``, lists every other
member with its size and SHA-256.

Written atomically (a temporary file beside the destination, fsync, rename), so a crash or a
full disk never leaves a half archive under the destination's name. Read by extracting into a
staging folder while hashing; the caller keeps the staging folder only when every member is
listed, present and matches its hash (``verify_and_extract``). Only plain files and folders
with relative names are accepted: a damaged or crafted archive cannot write outside the
staging folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from licence_service.domain.errors import InvalidInputError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "ArchiveWriter",
    "DamagedArchiveError",
    "verify_and_extract",
    "write_atomically",
]

MANIFEST = "MANIFEST.json"
FORMAT = "licledger-backup/1"
_CHUNK = 1 << 20


class DamagedArchiveError(InvalidInputError):
    """The archive does not match its manifest (or has none): nothing was restored."""


class _HashingReader(io.RawIOBase):
    """Reads a file through SHA-256, so the hash is of exactly the bytes archived."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.sha.update(data)
        return data


@dataclass
class ArchiveWriter:
    """Adds files to an open tar stream and records each in the manifest."""

    tar: tarfile.TarFile
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_file(self, source: Path, name: str) -> None:
        with open(source, "rb") as fh:
            info = tarfile.TarInfo(name)
            info.size = os.fstat(fh.fileno()).st_size
            info.mode = 0o600
            reader = _HashingReader(fh)
            self.tar.addfile(info, reader)
        self.files[name] = {"size": info.size, "sha256": reader.sha.hexdigest()}

    def add_tree(self, folder: Path, prefix: str, skip: tuple[str, ...] = ()) -> None:
        """Every regular file under ``folder`` (sorted, symlinks not followed)."""
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file() or path.name.endswith(skip):
                continue
            self.add_file(path, f"{prefix}/{path.relative_to(folder).as_posix()}")

    def finish(self, meta: dict[str, Any]) -> dict[str, Any]:
        manifest = {"format": FORMAT, **meta, "files": self.files}
        data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mode = 0o600
        self.tar.addfile(info, io.BytesIO(data))
        return manifest


@contextmanager
def write_atomically(dest: Path) -> Iterator[ArchiveWriter]:
    """An archive at ``dest`` that appears only complete: temp file, fsync, rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                yield ArchiveWriter(tar)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DamagedArchiveError(f"the archive names a file outside itself: {name!r}", "archive")
    return path


def _copy_hashing(src: IO[bytes], dest: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := src.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, sha.hexdigest()


def verify_and_extract(archive: Path, staging: Path) -> dict[str, Any]:
    """Extract ``archive`` into the empty folder ``staging`` and check it against its manifest;
    returns the manifest. Raises ``DamagedArchiveError`` naming the first mismatch."""
    found: dict[str, tuple[int, str]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                name = _safe_name(member.name).as_posix()
                if member.isdir():
                    continue
                if not member.isfile():
                    raise DamagedArchiveError(
                        f"the archive holds {name!r}, which is not a plain file", "archive"
                    )
                src = tar.extractfile(member)
                assert src is not None  # a regular file always has a body
                if name == MANIFEST:
                    manifest = json.loads(src.read(16 * _CHUNK))
                    continue
                if name in found:
                    raise DamagedArchiveError(f"the archive holds {name!r} twice", "archive")
                found[name] = _copy_hashing(src, staging / name)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        # (any other OSError is our own disk's, full or read-only: not the archive's fault)
        raise DamagedArchiveError(
            f"{archive} is not a readable backup archive ({type(exc).__name__}: {exc})", "archive"
        ) from exc
    if manifest is None or manifest.get("format") != FORMAT:
        raise DamagedArchiveError(f"{archive} has no {FORMAT} manifest", "archive")
    listed: dict[str, Any] = manifest.get("files", {})
    for name, entry in sorted(listed.items()):
        got = found.get(name)
        if got is None:
            raise DamagedArchiveError(f"{name} is listed in the manifest but missing", "archive")
        if got != (entry["size"], entry["sha256"]):
            raise DamagedArchiveError(
                f"{name} does not match the manifest (SHA-256 {got[1][:16]}…, manifest says "
                f"{str(entry['sha256'])[:16]}…): the archive is damaged",
                "archive",
            )
    extra = sorted(set(found) - set(listed))
    if extra:
        raise DamagedArchiveError(
            f"{extra[0]} is in the archive but not in its manifest", "archive"
        )
    return manifest
