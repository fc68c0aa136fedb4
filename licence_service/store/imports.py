"""What a bulk import remembers: one row per issued CSV row, keyed by the row's content.

The row is written in the same transaction as the licence it produced, so after a crash or
Ctrl-C either both exist or neither does; re-running the same file skips every row whose key
is here and issues only the rest. Rows that failed validation are not stored: they are checked
again (and, once corrected, issued) on the next run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from licence_service.store.models import Base, utcnow


class ImportedRow(Base):
    """A CSV row issued by ``licledger import`` (or the API's import endpoint)."""

    __tablename__ = "imported_row"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 over the licence type, the agency and the row's values: the idempotency key
    row_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("licence_version.id"), unique=True)
    source: Mapped[str] = mapped_column(String(300))  # file name, for people reading the table
    row_number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
