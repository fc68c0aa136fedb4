"""The service's own database: tables, engine and sessions, and the lookups people's
identifiers need. (The chain index keeps its own tables, in ``ledger_client.index``.)
"""

from licence_service.store.engine import SchemaError, make_engine, make_sessions
from licence_service.store.models import (
    Agency,
    AnchorBatch,
    Approval,
    Attachment,
    Base,
    Consent,
    Licence,
    LicenceVersion,
    OpLogEntry,
    OutboxEntry,
    Release,
    ReviewRequest,
    StatusChange,
    Submission,
)
from licence_service.store.queries import find_licence

__all__ = [
    "Agency",
    "AnchorBatch",
    "Approval",
    "Attachment",
    "Base",
    "Consent",
    "Licence",
    "LicenceVersion",
    "OpLogEntry",
    "OutboxEntry",
    "Release",
    "ReviewRequest",
    "SchemaError",
    "StatusChange",
    "Submission",
    "find_licence",
    "make_engine",
    "make_sessions",
]
