"""Request and response bodies of the HTTP API (kept apart from the ORM models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class IssueIn(BaseModel):
    type_code: str = Field(examples=["BL01"])
    holder_name: str = Field(examples=["杭州青禾科技有限公司"])
    holder_id: str = Field(description="Citizen ID number or unified social credit code")
    fields: dict[str, str] = Field(default_factory=dict, description="Face fields of the type")
    valid_from: date | None = None
    valid_until: date | None = None
    agency_code: str | None = None
    holder_email: str | None = Field(
        None, description="Holder's e-mail for reminders: kept off the PDF and the chain"
    )
    holder_phone: str | None = Field(
        None, description="Holder's mobile number for reminders: kept off the PDF and the chain"
    )
    wait: bool = Field(True, description="Return only once the licence is anchored")


class IssuedOut(BaseModel):
    licence_id: str
    version: int
    document_digest: str
    leaf: str
    anchored: bool
    tx_hash: str | None
    batch_id: int | None
    pdf_url: str
    note: str | None = None  # e.g. queued as PENDING while the chain is unreachable


class VersionOut(BaseModel):
    version: int
    licence_id: str
    valid_from: date
    valid_until: date
    document_digest: str
    leaf: str
    anchor_state: str
    anchor_tx: str | None


class LicenceOut(BaseModel):
    base_id: str
    type_code: str
    holder_name: str
    holder_id_type: str
    holder_contact: dict[str, str | None] = Field(
        default_factory=dict, description="e-mail and phone for reminders, masked like the name"
    )
    status: str
    current_version: int
    issuer: str
    issuer_code: str
    region_code: int
    metadata: dict[str, Any] = Field(description="GB/T 36903-style metadata of the current version")
    versions: list[VersionOut]


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, description="Free text, kept off-chain")
    code: int = Field(1, ge=0, le=65535, description="Reason code anchored on-chain")


class StatusOut(BaseModel):
    licence_id: str
    status: str
    reason_code: int
    tx_hash: str
    block_number: int
    block_time: datetime


class QrIn(BaseModel):
    payload: str = Field(description="QR token or the status URL it encodes")
    at: datetime | None = None


class CheckOut(BaseModel):
    name: str
    ok: bool | None
    detail: str


class VerificationOut(BaseModel):
    verdict: str
    reason: str
    licence_id: str | None
    version: int | None
    issuer: str | None
    issuer_code: str | None
    region: int | None
    holder_name: str | None = Field(
        None, description="The holder's name masked: enough to compare with the paper"
    )
    type_name: str | None
    type_code: str | None = None
    trust_grade: str | None = Field(None, description="A (agency original) to D")
    document_note: str | None = Field(
        None, description="What the document is when it is not the agency's original"
    )
    valid_until: str | None
    anchored_at: datetime | None
    anchor_tx: str | None
    anchor_block: int | None = None
    batch_id: int | None
    status_since: datetime | None
    checked_at: datetime | None
    as_of: datetime | None = Field(
        None, description="Set for a point-in-time answer: the verdict holds as of this time"
    )
    current_version: int | None = None
    presentation: dict[str, Any] | None = Field(
        None, description="A holder's presentation code (亮证): when it was made, the fields shown"
    )
    checks: list[CheckOut]


class ErrorOut(BaseModel):
    detail: str
    field: str | None = None


class AmendIn(BaseModel):
    fields: dict[str, str] = Field(default_factory=dict, description="Changed face fields")
    category: str = Field("change", description="change, correction or reissue")
    reason: str = Field(min_length=1)
    valid_until: date | None = None
    wait: bool = True


class StatusIn(BaseModel):
    action: str = Field(description="suspend, reinstate, revoke, cancel or report-lost")
    reason: str = Field(min_length=1, description="Free text, kept off-chain")
    code: int | None = Field(None, ge=0, le=65535, description="Reason code anchored on-chain")


class CopyIn(BaseModel):
    purpose: str = Field(min_length=1)
    recipient: str = Field(min_length=1)
    valid_until: date


class InspectionIn(BaseModel):
    year: int
    result: str = Field(min_length=1)
    note: str = ""


class AttachmentOut(BaseModel):
    identifier: str
    kind: str
    leaf: str
    valid_until: date | None
    pdf_url: str | None = None


class ApproveIn(BaseModel):
    """No agency here: the approving agency is the caller's own."""

    model_config = ConfigDict(extra="forbid")
    note: str = ""


class FieldCheckIn(BaseModel):
    field: str
    value: str


class FieldCheckOut(BaseModel):
    licence_id: str
    field: str
    match: bool
    proof: dict[str, object] | None


class FieldProofIn(BaseModel):
    proof: dict[str, object]


class FieldProofOut(BaseModel):
    ok: bool
    checks: list[CheckOut]


class UpgradeIn(BaseModel):
    """No staff name here: the checked copy names the calling person and their agency."""

    model_config = ConfigDict(extra="forbid")
    valid_until: date
