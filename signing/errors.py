"""Exception hierarchy of the signing package.

Callers catch :class:`SigningError` to handle every failure of this package in one place;
the subclasses let them tell a key-storage problem from a PDF problem. Every message names
what went wrong *and* what to do about it, because these errors end up in CLI output and
HTTP responses read by operators, not by the people who wrote the code.
"""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "KeystoreError",
    "MetadataError",
    "PdfSigningError",
    "SigningError",
]


class SigningError(Exception):
    """Base class of every error raised by :mod:`signing`."""


class CertificateError(SigningError):
    """A certificate could not be created because its inputs are unusable."""


class KeystoreError(SigningError):
    """Credentials could not be stored or loaded (missing file, wrong passphrase, mismatch)."""


class PdfSigningError(SigningError):
    """A PDF could not be signed (unreadable input, field already signed, ...)."""


class MetadataError(SigningError):
    """Embedded machine-readable metadata could not be written or read back."""
