"""The read log's use cases: record a view of personal data, and search the log.

Every view of a holder's personal data is one row: who (the person's label, or
``region:<code>`` for a release to another region), whose data (the ``subject``:
``licence:<base id>``, or ``holder:<keyed hash>`` for a lookup by holder ID, so the log never
holds the ID itself), for what (``purpose``), through which route and when. Licence views go
through ``services.disclosure.disclose``; a release is logged by ``federation.sharing``; other
views (a holder lookup at the window, …) call :func:`record_read`. The rows are sealed into a
hash chain and anchored with the operation log's machinery (``audit.oplog.READLOG``), and the
auditor's replay checks them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.identifiers import LICENCE_ID_PREFIX
from licence_service.people.identity import PersonInfo
from licence_service.people.service import aware
from licence_service.region.runtime import Runtime
from licence_service.store.reads import LicenceRead, add_read, licence_subject

__all__ = ["ReadQuery", "holder_subject", "read_log", "record_read", "search_subject", "subject_of"]


def holder_subject(rt: Runtime, holder_id: str) -> str:
    """The read log's subject of a holder: the keyed hash of the ID, never the ID."""
    return "holder:" + rt.field_key.holder_hash(holder_id).hex()[:32]


def subject_of(rt: Runtime, licence: str | None = None, holder_id: str | None = None) -> str:
    """The subject of a read of ``licence`` (any version's identifier) or of ``holder_id``."""
    if bool(licence) == bool(holder_id):
        raise InvalidInputError("name either the licence or the holder ID read", "subject")
    return licence_subject(licence) if licence else holder_subject(rt, holder_id or "")


def record_read(
    rt: Runtime,
    reader: PersonInfo | str,
    purpose: str,
    *,
    licence: str | None = None,
    holder_id: str | None = None,
    route: str = "",
    unmasked: bool = True,
) -> str:
    """Log that ``reader`` viewed personal data of ``licence`` or of the holder with
    ``holder_id``, for ``purpose`` (required: say why, e.g. "holder lookup at the window:
    renewal"); returns the subject written. Call it in the same request that shows the data."""
    if not purpose.strip():
        raise InvalidInputError("purpose is required: say why the personal data is viewed",
                                "purpose")  # fmt: skip
    label = reader.label if isinstance(reader, PersonInfo) else reader
    subject = subject_of(rt, licence, holder_id)
    base = subject.removeprefix("licence:") if licence else ""
    with rt.sessions.begin() as s:
        add_read(s, label, subject, purpose.strip(), licence=base, route=route,
                 unmasked=unmasked)  # fmt: skip
    return subject


class ReadQuery:
    """An auditor's search of the read log (every filter optional, all checked)."""

    def __init__(self, reader: str | None = None, subject: str | None = None,
                 purpose: str | None = None, start: date | None = None,
                 end: date | None = None, unmasked_only: bool = True,
                 limit: int = 200) -> None:  # fmt: skip
        if start and end and end < start:
            raise InvalidInputError("to must not be before from", field="to")
        self.reader, self.subject, self.purpose = reader, subject, purpose
        self.start, self.end, self.unmasked_only, self.limit = start, end, unmasked_only, limit

    def where(self) -> list[Any]:
        r = LicenceRead
        out: list[Any] = []
        if self.reader:
            out.append(r.reader == self.reader)
        if self.subject:
            out.append(r.subject == self.subject)
        if self.purpose:
            out.append(r.purpose.contains(self.purpose, autoescape=True))
        if self.start:
            out.append(r.at >= datetime.combine(self.start, datetime.min.time(), UTC))
        if self.end:
            out.append(r.at < datetime.combine(self.end + timedelta(days=1),
                                               datetime.min.time(), UTC))  # fmt: skip
        if self.unmasked_only:
            out.append(r.unmasked.is_(True))
        return out


def search_subject(rt: Runtime, text: str | None) -> str | None:
    """A subject typed by an auditor: a licence identifier (any version), a holder ID, or a
    subject as the log writes it (``licence:…``, ``holder:…``)."""
    text = (text or "").strip()
    if not text or text.startswith(("licence:", "holder:")):
        return text or None
    is_licence = text.startswith(f"{LICENCE_ID_PREFIX}.")
    return subject_of(rt, licence=text) if is_licence else holder_subject(rt, text)


def read_log(rt: Runtime, q: ReadQuery | None = None) -> list[dict[str, Any]]:
    """The newest reads matching ``q`` (by default the unmasked ones), newest first."""
    q = q or ReadQuery()
    stmt = select(LicenceRead).where(*q.where()).order_by(LicenceRead.id.desc()).limit(q.limit)
    with rt.sessions() as s:
        return [
            {"reader": r.reader, "at": aware(r.at).isoformat(timespec="seconds"),
             "subject": r.subject, "purpose": r.purpose, "licence": r.licence,
             "route": r.route, "unmasked": r.unmasked, "sealed": r.hash is not None}
            for r in s.scalars(stmt)
        ]  # fmt: skip
