"""Service errors: typed inside, readable outside (CLI messages, HTTP status codes)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the service's errors; ``status_code`` is what the HTTP API answers."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(ServiceError):
    status_code = 422


class NotFoundError(ServiceError):
    status_code = 404


class ConflictError(ServiceError):
    """The request makes no sense in the licence's current state."""

    status_code = 409


class NotSetUpError(ServiceError):
    """The region, agency or chain has not been initialised yet."""

    status_code = 503


class AnchorTimeoutError(ServiceError):
    status_code = 504


class StorageError(ServiceError):
    """The data directory cannot take the write: full (507) or read-only (503). Nothing was
    recorded; the message names the directory and the problem."""

    def __init__(self, message: str, status_code: int = 507) -> None:
        super().__init__(message, field=None)
        self.status_code = status_code


class FaceTextError(InvalidInputError, ValueError):
    """A value cannot be printed on the licence face as it would be signed: a character no
    font draws, an invisible or direction-changing control, or more text than the page holds.
    A ``ValueError`` too, so a bulk import's worker reports it as that row's error."""
