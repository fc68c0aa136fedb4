"""Credentials on disk, with the private key encrypted at rest.

Layout for credentials called ``name`` in ``directory``::

    <name>.key.pem     the key in a scrypt + AES-256-GCM envelope, SM4-GCM for an SM2 key of an
                       ``sm`` region (see :mod:`signing.key_envelope`),
                       mode 0600; a key in the former PKCS#8 format (PBKDF2, 2,048 iterations)
                       still loads and is rewritten in the envelope on first load
    <name>.cert.pem    the certificate (0600 like everything in the data directory)
    <name>.chain.pem   the issuer chain (may be empty for a CA)

Every file is written to a temporary file in the same directory and moved into place with
:func:`os.replace`, so a crash never leaves a half-written key behind. The key is written
last: :func:`credentials_exist` keys off it, so a reader never sees a key without its cert.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing import sm2
from signing.certificates import KeyAndCert
from signing.errors import CertificateError, KeystoreError
from signing.key_envelope import is_sealed, open_sealed, seal
from signing.sm2_certificates import SmKeyAndCert, sm_public_key

__all__ = [
    "credential_paths",
    "credentials_exist",
    "load_any_credentials",
    "load_any_key_and_cert",
    "load_credentials",
    "load_key_and_cert",
    "load_sm_credentials",
    "load_sm_key_and_cert",
    "save_credentials",
]

_KEY_MODE = 0o600
_DIR_MODE = 0o700


def _check_name(name: str) -> None:
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\0" in name:
        raise KeystoreError(
            f"credential name {name!r} is not a plain file name; use letters, digits, '-' or '_'."
        )


def credential_paths(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """Return the (key, cert, chain) paths used for credentials ``name``."""
    _check_name(name)
    base = Path(directory)
    return base / f"{name}.key.pem", base / f"{name}.cert.pem", base / f"{name}.chain.pem"


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates the file 0600 already; chmod makes the final mode explicit.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def save_credentials(
    directory: Path, name: str, creds: KeyAndCert | SmKeyAndCert, passphrase: bytes
) -> None:
    """Write ``creds`` under ``directory`` with the key encrypted by ``passphrase`` (in the
    cipher of the key's suite)."""
    if not passphrase:
        raise KeystoreError(
            "the passphrase is empty; keys are stored encrypted at rest, so give a non-empty "
            "passphrase."
        )
    key_path, cert_path, chain_path = credential_paths(directory, name)
    try:
        Path(directory).mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        key_pem = seal(creds.key, passphrase)
        cert_pem = creds.cert.public_bytes(serialization.Encoding.PEM)
        chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in creds.chain)
        _atomic_write(cert_path, cert_pem, _KEY_MODE)
        _atomic_write(chain_path, chain_pem, _KEY_MODE)
        _atomic_write(key_path, key_pem, _KEY_MODE)
    except OSError as exc:
        raise KeystoreError(
            f"cannot write credentials {name!r} to {directory}: {exc.strerror or exc}; "
            "check that the directory is writable."
        ) from exc


def credentials_exist(directory: Path, name: str) -> bool:
    """True when the key and certificate files of ``name`` are both present."""
    key_path, cert_path, _ = credential_paths(directory, name)
    return key_path.is_file() and cert_path.is_file()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise KeystoreError(
            f"credential file {path} does not exist; create the credentials first "
            "(save_credentials) or point to the right key directory."
        ) from exc
    except OSError as exc:
        raise KeystoreError(f"cannot read credential file {path}: {exc.strerror or exc}.") from exc


def load_credentials(directory: Path, name: str, passphrase: bytes) -> KeyAndCert:
    """Load and decrypt credentials ``name``; checks that key and certificate belong together."""
    key_path, cert_path, chain_path = credential_paths(directory, name)
    return load_key_and_cert(key_path, cert_path, chain_path, passphrase)


def _decrypt(key_path: Path, key_pem: bytes, passphrase: bytes) -> object:
    """The private key from either format; a former PKCS#8 file is rewritten as an envelope."""
    if is_sealed(key_pem):
        return open_sealed(key_pem, passphrase, str(key_path))
    try:
        key = serialization.load_pem_private_key(key_pem, password=passphrase or None)
    except TypeError as exc:
        raise KeystoreError(
            f"the key in {key_path} is encrypted and no passphrase was given; pass its passphrase."
        ) from exc
    except ValueError as exc:
        raise KeystoreError(
            f"cannot decrypt {key_path}: wrong passphrase (or a corrupted key file); "
            "use the passphrase the credentials were saved with."
        ) from exc
    if isinstance(key, ec.EllipticCurvePrivateKey) and passphrase:
        with contextlib.suppress(OSError):  # read-only media: keep loading the old format
            _atomic_write(key_path, seal(key, passphrase), _KEY_MODE)
    return key


def _read_all(
    key_path: Path, cert_path: Path, chain_path: Path | None, passphrase: bytes
) -> tuple[object, x509.Certificate, tuple[x509.Certificate, ...]]:
    key_pem = _read(key_path)
    cert_pem = _read(cert_path)
    chain_pem = chain_path.read_bytes() if chain_path and chain_path.is_file() else b""
    key = _decrypt(key_path, key_pem, passphrase)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        chain = tuple(x509.load_pem_x509_certificates(chain_pem)) if chain_pem.strip() else ()
    except ValueError as exc:
        raise KeystoreError(
            f"the certificate file {cert_path} is corrupted: {exc}; restore it from backup."
        ) from exc
    return key, cert, chain


def _mismatch(cert_path: Path, key_path: Path) -> KeystoreError:
    return KeystoreError(
        f"the certificate {cert_path} does not belong to the key {key_path}; "
        "restore the matching pair."
    )


def load_key_and_cert(
    key_path: Path, cert_path: Path, chain_path: Path | None, passphrase: bytes
) -> KeyAndCert:
    """Credentials from explicit paths (e.g. a region CA key kept offline)."""
    key, cert, chain = _read_all(key_path, cert_path, chain_path, passphrase)
    if sm2.is_sm2_key(key):
        raise KeystoreError(
            f"the key in {key_path} is an SM2 key (crypto suite sm); load it with "
            "load_sm_credentials."
        )
    return _intl_pair(key, cert, chain, key_path, cert_path)


def _intl_pair(
    key: object,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    key_path: Path,
    cert_path: Path,
) -> KeyAndCert:
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeystoreError(f"the key in {key_path} is not an ECDSA key; expected ECDSA P-256.")
    if cert.public_key() != key.public_key():
        raise _mismatch(cert_path, key_path)
    return KeyAndCert(key=key, cert=cert, chain=chain)


def load_any_key_and_cert(
    key_path: Path, cert_path: Path, chain_path: Path | None, passphrase: bytes
) -> KeyAndCert | SmKeyAndCert:
    """Credentials of either suite from explicit paths: the key file's own suite decides (a
    region's code needs no suite of its own to open its keys)."""
    key, cert, chain = _read_all(key_path, cert_path, chain_path, passphrase)
    if sm2.is_sm2_key(key):
        return _sm_pair(key, cert, chain, key_path, cert_path)
    return _intl_pair(key, cert, chain, key_path, cert_path)


def load_any_credentials(
    directory: Path, name: str, passphrase: bytes
) -> KeyAndCert | SmKeyAndCert:
    """Load and decrypt credentials ``name`` of either suite (see load_any_key_and_cert)."""
    key_path, cert_path, chain_path = credential_paths(directory, name)
    return load_any_key_and_cert(key_path, cert_path, chain_path, passphrase)


def load_sm_key_and_cert(
    key_path: Path, cert_path: Path, chain_path: Path | None, passphrase: bytes
) -> SmKeyAndCert:
    """SM2 credentials (crypto suite ``sm``) from explicit paths."""
    key, cert, chain = _read_all(key_path, cert_path, chain_path, passphrase)
    return _sm_pair(key, cert, chain, key_path, cert_path)


def _sm_pair(
    key: object,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    key_path: Path,
    cert_path: Path,
) -> SmKeyAndCert:
    if not isinstance(key, sm2.PrivateKey) or not sm2.is_sm2_key(key):
        raise KeystoreError(
            f"the key in {key_path} is not an SM2 key (crypto suite intl); load it with "
            "load_credentials."
        )
    try:
        cert_key = sm_public_key(cert)
    except CertificateError as exc:
        raise _mismatch(cert_path, key_path) from exc
    if sm2.public_key_der(cert_key) != sm2.public_key_der(key.public_key()):
        raise _mismatch(cert_path, key_path)
    return SmKeyAndCert(key=key, cert=cert, chain=chain)


def load_sm_credentials(directory: Path, name: str, passphrase: bytes) -> SmKeyAndCert:
    """Load and decrypt SM2 credentials ``name``; checks that key and certificate belong
    together."""
    key_path, cert_path, chain_path = credential_paths(directory, name)
    return load_sm_key_and_cert(key_path, cert_path, chain_path, passphrase)
