"""Other regions' requests for a licence's data, their review and their metered use.

A request (申请) arrives signed by the asking region; a named reviewer of this region approves
it (审核、批准: until a date, with an optional cap on the number of releases and the fields
released unmasked) or refuses it with a reason. ``uses`` counts the releases made under the
approval; the chain counts them too (``SharingLedger.recordApprovedRelease``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licence_service.store.models import Base, Licence, utcnow


class SharingRequest(Base):
    """One request of another region for one licence's data for a stated purpose."""

    __tablename__ = "sharing_request"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))  # the version asked for
    from_region: Mapped[int] = mapped_column(Integer, index=True)
    from_account: Mapped[str] = mapped_column(String(42))
    requested_by: Mapped[str] = mapped_column(String(100), default="")  # as the region says
    purpose: Mapped[str] = mapped_column(Text)
    fields_json: Mapped[str] = mapped_column(Text, default="[]")  # asked for; [] all shareable
    state: Mapped[str] = mapped_column(String(10), default="PENDING", index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # review time limit
    reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    use_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no cap
    uses: Mapped[int] = mapped_column(Integer, default=0)
    in_full_json: Mapped[str] = mapped_column(Text, default="[]")  # approved unmasked
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    decision_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    licence: Mapped[Licence] = relationship()
