"""The licence domain: identifiers and their check characters, licence types, trust grades,
the recorded states of the service's work, and the typed errors every layer raises.

No database, no chain, no PDF: everything here is checked in microseconds by unit tests.
"""

from licence_service.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotSetUpError,
    ServiceError,
)
from licence_service.domain.identifiers import LicenceIdentifier
from licence_service.domain.licence_types import (
    CORE_FIELDS,
    FieldValidationError,
    LicenceType,
    get_licence_type,
)
from licence_service.domain.national_ids import (
    HolderIdType,
    IdentifierError,
    validate_division_code,
    validate_holder_id,
    validate_uscc,
)
from licence_service.domain.states import BatchState, LinkState, OutboxState, ReviewState
from licence_service.domain.trust_grades import TrustGrade, watermark_text

__all__ = [
    "CORE_FIELDS",
    "BatchState",
    "ConflictError",
    "FieldValidationError",
    "HolderIdType",
    "IdentifierError",
    "InvalidInputError",
    "LicenceIdentifier",
    "LicenceType",
    "LinkState",
    "NotFoundError",
    "NotSetUpError",
    "OutboxState",
    "ReviewState",
    "ServiceError",
    "TrustGrade",
    "get_licence_type",
    "validate_division_code",
    "validate_holder_id",
    "validate_uscc",
    "watermark_text",
]
