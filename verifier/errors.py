"""Errors of verification itself (as opposed to a negative verdict)."""


class VerificationError(Exception):
    """The input cannot be verified at all: unreadable file, malformed QR payload."""
