"""The use cases: one function each, called alike by the CLI, the HTTP API and the pages.

Each validates its input, does the work in one database transaction, hands new leaves to the
anchoring step and returns what the caller shows. Entry points only parse and present.
"""

from licence_service.services.amend import Amendment, amend, amend_licence
from licence_service.services.anchor_step import anchor, anchor_all
from licence_service.services.attachments import (
    AttachmentResult,
    attachments_of,
    make_copy,
    record_inspection,
)
from licence_service.services.field_checks import FieldCheck, check_field
from licence_service.services.issue import (
    IssuedDocument,
    IssueRequest,
    anchor_info,
    issue,
    issue_licence,
)
from licence_service.services.read_log import record_read
from licence_service.services.reminders import reminders_list, send_reminders
from licence_service.services.status import (
    STATUS_ACTIONS,
    ReasonCode,
    StatusAction,
    StatusResult,
    apply_action,
    approve,
    change_status,
    reviews,
    status_action,
)
from licence_service.services.upgrade import SubmissionResult, submit_copy, upgrade_to_b
from licence_service.services.verify import verify_pdf, verify_qr, verify_qr_from_memory
from licence_service.services.views import licence_history, licence_view, pdf_path

__all__ = [
    "STATUS_ACTIONS",
    "Amendment",
    "AttachmentResult",
    "FieldCheck",
    "IssueRequest",
    "IssuedDocument",
    "ReasonCode",
    "StatusAction",
    "StatusResult",
    "SubmissionResult",
    "amend",
    "amend_licence",
    "anchor",
    "anchor_all",
    "anchor_info",
    "apply_action",
    "approve",
    "attachments_of",
    "change_status",
    "check_field",
    "issue",
    "issue_licence",
    "licence_history",
    "licence_view",
    "make_copy",
    "pdf_path",
    "record_inspection",
    "record_read",
    "reminders_list",
    "reviews",
    "send_reminders",
    "status_action",
    "submit_copy",
    "upgrade_to_b",
    "verify_pdf",
    "verify_qr",
    "verify_qr_from_memory",
]
