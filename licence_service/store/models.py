"""The service's own tables (the chain index has its own, in ``ledger_client.index``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from licence_service.domain.states import BatchState, LinkState, OutboxState, ReviewState
from verifier.leaves import LeafInput


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Agency(Base):
    """An issuing agency of this region, with its chain account and signing certificate."""

    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)  # unified social credit code
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[int] = mapped_column(Integer)
    region_name: Mapped[str] = mapped_column(String(100))
    chain_address: Mapped[str] = mapped_column(String(42), unique=True)
    cert_pem: Mapped[str] = mapped_column(Text)
    cert_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Licence(Base):
    """A licence across all its versions."""

    __tablename__ = "licence"
    __table_args__ = (UniqueConstraint("agency_id", "type_code", "serial"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[str] = mapped_column(String(120), unique=True)
    type_code: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    serial: Mapped[int] = mapped_column(Integer)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_id_type: Mapped[str] = mapped_column(String(20))
    # How to reach the holder (reminders, sign-in codes): personal data, never on-chain or in
    # the PDF, masked like the name (``services/disclosure.py``).
    holder_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    holder_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    holder_id: Mapped[str] = mapped_column(String(120))  # sealed: see store.sealing
    holder_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    agency: Mapped[Agency] = relationship()
    versions: Mapped[list[LicenceVersion]] = relationship(
        back_populates="licence", order_by="LicenceVersion.version"
    )


class LicenceVersion(Base):
    """One immutable version of a licence: its face data, its signed PDF and its leaf."""

    __tablename__ = "licence_version"
    __table_args__ = (UniqueConstraint("licence_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"))
    version: Mapped[int] = mapped_column(Integer)
    identifier: Mapped[str] = mapped_column(String(140), unique=True)
    fields_json: Mapped[str] = mapped_column(Text)
    salts_json: Mapped[str] = mapped_column(Text)
    data_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    issue_date: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    document_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    pdf_path: Mapped[str] = mapped_column(String(500))
    kind: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    parent_leaf: Mapped[bytes] = mapped_column(LargeBinary(32))
    qr_payload: Mapped[str] = mapped_column(Text)
    # Why this version exists (amendments and corrections): category code and free text.
    change_category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    change_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The on-chain link from the previous version to this one: none (v1), pending, linked.
    link_state: Mapped[str] = mapped_column(String(10), default=LinkState.NONE, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    licence: Mapped[Licence] = relationship(back_populates="versions")
    outbox: Mapped[OutboxEntry | None] = relationship(back_populates="version", uselist=False)


class Attachment(Base):
    """A document derived from a version and anchored on its own: a use-specific copy, an
    annual inspection record, a window check (grade B), a joint-review approval."""

    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("version_id", "kind", "serial"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("licence_version.id"), index=True)
    kind: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    identifier: Mapped[str] = mapped_column(String(160), unique=True)
    data_json: Mapped[str] = mapped_column(Text)
    salts_json: Mapped[str] = mapped_column(Text)
    data_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    document_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    pdf_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    key: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    parent_leaf: Mapped[bytes] = mapped_column(LargeBinary(32))
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[LicenceVersion] = relationship()


class ReviewRequest(Base):
    """A high-risk operation waiting for M-of-N approvals of named agencies."""

    __tablename__ = "review_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    required: Mapped[int] = mapped_column(Integer)
    approvers_json: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[int] = mapped_column(Integer)
    reason_text: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), default=ReviewState.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    licence: Mapped[Licence] = relationship()
    approvals: Mapped[list[Approval]] = relationship(back_populates="review")


class Approval(Base):
    """One agency's approval of a review, given by a named person of that agency."""

    __tablename__ = "approval"
    __table_args__ = (UniqueConstraint("review_id", "agency_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review_request.id"))
    agency_code: Mapped[str] = mapped_column(String(18))
    person: Mapped[str] = mapped_column(String(100), default="")  # who approved, by label
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    review: Mapped[ReviewRequest] = relationship(back_populates="approvals")
    attachment: Mapped[Attachment] = relationship()


class Submission(Base):
    """A copy a holder submitted from the original (grade C or D); window staff who check it
    against the original upgrade it to grade B, which is signed and anchored."""

    __tablename__ = "submission"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_id: Mapped[str] = mapped_column(String(120))  # sealed: see store.sealing
    holder_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    grade: Mapped[str] = mapped_column(String(1))
    image: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_path: Mapped[str] = mapped_column(String(500))
    checked_pdf_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    checked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    checked_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    leaf: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpLogEntry(Base):
    """One state-changing action (who, in which role, what, when).

    Rows are appended inside the transaction of the change they describe and sealed into a
    hash chain shortly after by the worker (``hash`` = SHA-256 over the previous hash and this
    row's canonical content); the chain's head is anchored on-chain periodically.
    """

    __tablename__ = "oplog"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True, index=True)


class SeenNonce(Base):
    """Nonces of signed region-to-region requests, kept until they expire (replay defence)."""

    __tablename__ = "seen_nonce"
    nonce: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expiry: Mapped[int] = mapped_column(BigInteger, index=True)


class Consent(Base):
    """A holder's consent to share a licence (or all licences of a type) with another region."""

    __tablename__ = "consent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consent_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    holder_id: Mapped[str] = mapped_column(String(120))  # sealed: see store.sealing
    holder_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    licence_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"), nullable=True)
    type_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    grantee_region: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    fields_json: Mapped[str] = mapped_column(Text, default="[]")  # fields released in full
    valid_until: Mapped[date] = mapped_column(Date)
    confirmed_by: Mapped[str] = mapped_column(String(100))
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    use_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no cap
    uses: Mapped[int] = mapped_column(Integer, default=0)  # releases made under it


class Release(Base):
    """A data release to another region, with its on-chain sharing receipt."""

    __tablename__ = "release"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))
    to_region: Mapped[int] = mapped_column(Integer)
    to_account: Mapped[str] = mapped_column(String(42))
    purpose: Mapped[str] = mapped_column(Text)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), nullable=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_request.id"), nullable=True
    )  # or the approved sharing request it relied on
    fields_json: Mapped[str] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnchorBatch(Base):
    """One anchor transaction: recorded (signed) before it is broadcast, so it survives a crash."""

    __tablename__ = "anchor_batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    state: Mapped[str] = mapped_column(String(12), default=BatchState.PREPARED, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    nonce: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chain_batch_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    entries: Mapped[list[OutboxEntry]] = relationship(back_populates="batch")


class OutboxEntry(Base):
    """A leaf waiting to be anchored; written in the same transaction as its document."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("licence_version.id"), unique=True, nullable=True
    )
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachment.id"), unique=True, nullable=True
    )
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission.id"), unique=True, nullable=True
    )
    oplog_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    readlog_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    key: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    # What the anchoring transaction carries beside the key; the contract computes the leaf.
    body: Mapped[bytes] = mapped_column(LargeBinary(32))
    state: Mapped[str] = mapped_column(String(12), default=OutboxState.PENDING, index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_batch.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[LicenceVersion | None] = relationship(back_populates="outbox")
    batch: Mapped[AnchorBatch | None] = relationship(back_populates="entries")

    @classmethod
    def of(cls, leaf: LeafInput, agency_id: int, **link: int) -> OutboxEntry:
        """The outbox entry of ``leaf``, to be anchored by ``agency_id``'s account; ``link``
        names the row it belongs to (``version_id=…``, ``attachment_id=…``, …)."""
        return cls(agency_id=agency_id, leaf=leaf.leaf(), key=leaf.key, body=leaf.body(), **link)


class StatusChange(Base):
    """A status change of a licence version or attachment, with where it landed on-chain."""

    __tablename__ = "status_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("licence_version.id"), index=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[int] = mapped_column(Integer)
    reason_text: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100), default="")
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotentRequest(Base):
    """A state-changing API request made with an ``Idempotency-Key``, and the answer it got:
    a client retrying after a timeout gets the same answer, and nothing is done twice."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("caller", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller: Mapped[str] = mapped_column(String(64))  # SHA-256 of the credentials, hex
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: in flight
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_type: Mapped[str] = mapped_column(String(100), default="application/json")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # in flight: the process running the request, and its last heartbeat (api.idempotency)
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    alive_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WorkerLease(Base):
    """Who runs a region's background work (anchoring, indexing) now, and until when."""

    __tablename__ = "worker_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
