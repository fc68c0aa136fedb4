"""What a region keeps on disk: the key passphrase's source, file modes, the region CA key.

- **Passphrase.** ``LICLEDGER_KEY_PASSPHRASE``, else the file ``LICLEDGER_KEY_PASSPHRASE_FILE``.
  In production (``LICLEDGER_ENV=production``) one of them is required and the file must lie
  outside the data directory: a passphrase next to the keys it protects protects nothing, so
  the service refuses to start. In development a random passphrase is generated once into
  ``keys/passphrase`` (convenient, and said so on stderr: not for production).
- **Modes.** The data directory and its folders are 0700, its files 0600 (database, keys,
  PDFs, ``deployment.json``): the process runs with umask 077, and a data directory made
  before this rule is tightened when a runtime opens it.
- **Region CA key offline.** The CA key is needed only to issue an agency certificate (a new
  agency, a rotation). It may live outside the data directory; commands that need it take
  ``--ca-key PATH`` and say so when it is missing.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from licence_service.domain.errors import InvalidInputError
from licence_service.region.settings import ConfigError, Settings
from signing.credentials import Credentials
from signing.keystore import credential_paths, load_any_key_and_cert

ENV_PASSPHRASE = "LICLEDGER_KEY_PASSPHRASE"
ENV_PASSPHRASE_FILE = "LICLEDGER_KEY_PASSPHRASE_FILE"


def _inside(path: Path, home: Path) -> bool:
    return path.resolve().is_relative_to(home.resolve())


def check_passphrase_source(settings: Settings) -> None:
    """Refuse a production set-up whose passphrase is missing or kept in the data directory."""
    if not settings.production or os.environ.get(ENV_PASSPHRASE):
        return
    file = settings.key_passphrase_file
    if file is None:
        raise ConfigError(
            f"production mode (LICLEDGER_ENV=production) needs the key passphrase from "
            f"{ENV_PASSPHRASE} or from {ENV_PASSPHRASE_FILE} (a file outside the data "
            f"directory {settings.home}); the generated keys/passphrase is for development only"
        )
    if _inside(file, settings.home):
        raise ConfigError(
            f"{ENV_PASSPHRASE_FILE}={file} lies inside the data directory {settings.home}: a "
            "passphrase stored next to the keys protects nothing. Move it outside the data "
            "directory (e.g. a secrets mount) or use LICLEDGER_KEY_PASSPHRASE"
        )


def key_passphrase(settings: Settings) -> str:
    """The passphrase of the region's keys, from the configured source (see module doc)."""
    check_passphrase_source(settings)
    env = os.environ.get(ENV_PASSPHRASE)
    if env:
        return env
    file = settings.key_passphrase_file
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{ENV_PASSPHRASE_FILE}={file} cannot be read: {exc}") from exc
        if not value:
            raise ConfigError(f"{ENV_PASSPHRASE_FILE}={file} is empty")
        return value
    path = settings.passphrase_file
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
        print(
            f"note: development mode: the key passphrase is generated into {path}, next to "
            f"the keys; in production set LICLEDGER_ENV=production and {ENV_PASSPHRASE} or "
            f"{ENV_PASSPHRASE_FILE}",
            file=sys.stderr,
        )
    return path.read_text().strip()


def secure_home(home: Path) -> None:
    """Create the data directory 0700 and set umask 077 for every file made after; tighten a
    directory created before this rule (top level and its folders, not every PDF)."""
    os.umask(0o077)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in [home, *home.iterdir()]:
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077 and not path.is_symlink():
                path.chmod(mode & 0o700)
        except OSError:
            continue


def region_ca_cert_path(settings: Settings, name: str, region: int) -> Path | None:
    """Where this region's CA certificate is kept, if the region has one yet."""
    cert_path = credential_paths(settings.keys_dir, name)[1]
    trusted = settings.keys_dir / "trust" / f"{region}.pem"
    return next((p for p in (cert_path, trusted) if p.is_file()), None)


def region_ca(
    settings: Settings, name: str, region: int, passphrase: bytes, ca_key: Path | None
) -> Credentials:
    """The region CA's key and certificate, to issue an agency certificate.

    From the data directory when the key is there, else from ``ca_key`` (the key file moved
    offline; its certificate is read beside it, or from the data directory)."""
    key_path, cert_path, chain_path = credential_paths(settings.keys_dir, name)
    if ca_key is None:
        if not key_path.exists():
            raise InvalidInputError(
                f"the region CA key is not in {settings.keys_dir} (kept offline?): this "
                f"command issues an agency certificate and needs it; pass --ca-key PATH "
                f"(the {key_path.name} file)",
                field="ca_key",
            )
        return load_any_key_and_cert(key_path, cert_path, chain_path, passphrase)
    if not ca_key.is_file():
        raise InvalidInputError(f"--ca-key {ca_key}: no such file", field="ca_key")
    beside = ca_key.with_name(cert_path.name)
    cert = beside if beside.is_file() else region_ca_cert_path(settings, name, region)
    if cert is None:
        raise InvalidInputError(
            f"no certificate of the region CA beside {ca_key} or in {settings.keys_dir}",
            field="ca_key",
        )
    return load_any_key_and_cert(ca_key, cert, None, passphrase)
