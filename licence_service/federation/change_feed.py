"""The incremental exchange feed another region pulls, page by page with a cursor.

Every licence version and status change is numbered in the region's change log
(``store.sequencing``): a page is the changes of a type after the caller's cursor, in number
order, and its answer's ``cursor`` is where the next page starts. Numbers are given in the
order changes become visible, so paging while the region writes never skips or repeats one.
(``changes_since``, by time, is the older form, kept for callers that still use it.)

The feed itself carries only what the chain shows anyway (identifiers, version, status and
leaves). Personal data (holder name and ID, face fields) leaves the region only for a licence
whose holder consented to the calling region for the purpose the caller names, and then
through :func:`~licence_service.federation.sharing.release` — masked per the consent, logged
in the operation log and receipted on-chain, exactly like a single ``/release``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import (
    FieldValidationError,
    LicenceType,
    get_licence_type,
)
from licence_service.federation.auth import Caller
from licence_service.federation.sharing import find_consent, release
from licence_service.region.runtime import Runtime
from licence_service.store.exchange import FeedChange
from licence_service.store.models import Licence, LicenceVersion, StatusChange
from licence_service.store.sequencing import sequence

MAX_LIMIT = 1000
RELEASED = ("fields", "masked", "withheld", "receipt")  # what an entry's ``data`` carries


def changes_since(
    rt: Runtime, caller: Caller, type_code: str, since: datetime, purpose: str | None = None
) -> list[dict[str, Any]]:
    """Licences of a type created, amended or changed in status since ``since``.

    Every entry has the licence identifier, version, status and current leaf. With a
    ``purpose``, an entry whose holder consented to the caller's region for it also carries
    ``data``: the released (masked) fields and the on-chain receipt of that release.
    """
    ltype = feed_type(type_code)
    rows: list[tuple[dict[str, Any], Licence]] = []
    with rt.sessions() as s:
        changed = set(
            s.scalars(select(LicenceVersion.licence_id).where(LicenceVersion.created_at >= since))
        ) | set(
            s.scalars(
                select(LicenceVersion.licence_id)
                .join(StatusChange, StatusChange.version_id == LicenceVersion.id)
                .where(StatusChange.block_time >= since)
            )
        )
        for licence in s.scalars(
            select(Licence)
            .where(Licence.id.in_(changed), Licence.type_code == ltype.code)
            .order_by(Licence.id)
        ):
            v = licence.versions[-1]
            entry: dict[str, Any] = {
                "licence_id": v.identifier,
                "version": v.version,
                "status": licence.status,
                "leaf": v.leaf.hex(),
                "changed_since": since.isoformat(),
            }
            rows.append((entry, licence))
    return with_released_data(rt, caller, ltype, rows, purpose)


def parse_cursor(cursor: str | None, field: str = "cursor") -> int:
    """A feed cursor (the number of the last change seen; empty: from the start)."""
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInputError(
            f"{field} {cursor!r} is not a cursor of this feed: pass the cursor of the previous "
            "answer (digits), or none to start at the beginning",
            field=field,
        )
    return int(cursor)


def feed_type(type_code: str) -> LicenceType:
    """The licence type a feed, snapshot or subscription names; a 422 naming ``type``."""
    try:
        return get_licence_type(type_code)
    except FieldValidationError as exc:
        raise InvalidInputError(str(exc), field="type") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be 1 to {MAX_LIMIT}", field="limit")
    return limit


def change_entry(change: FeedChange, version: LicenceVersion) -> dict[str, Any]:
    """One change as the feed, the snapshot and a push show it (identifiers and leaves only)."""
    return {
        "seq": change.seq,
        "kind": change.kind,
        "licence_id": version.identifier,
        "version": version.version,
        "status": change.status,
        "leaf": version.leaf.hex(),
        "at": change.created_at.isoformat(),
    }


def with_released_data(
    rt: Runtime,
    caller: Caller,
    ltype: LicenceType,
    rows: list[tuple[dict[str, Any], Licence]],
    purpose: str | None,
) -> list[dict[str, Any]]:
    """``rows``' entries, those of licences whose holder consented to the caller's region for
    ``purpose`` with ``data`` released (masked, logged, receipted) once per licence."""
    wanted = (purpose or "").strip()
    released: dict[int, dict[str, Any]] = {}
    if wanted and ltype.shareable_fields:
        with rt.sessions() as s:
            covered = {}
            for licence_row in {licence.id for _, licence in rows}:
                licence = s.get(Licence, licence_row)
                if licence and find_consent(s, licence, caller.region, wanted) is not None:
                    covered[licence_row] = licence.versions[-1].identifier
        for licence_row, identifier in covered.items():
            data = release(rt, caller, identifier, wanted)
            released[licence_row] = {k: data[k] for k in RELEASED}
    out = []
    for entry, licence in rows:
        if licence.id in released:
            entry["data"] = released[licence.id]
        out.append(entry)
    return out


def _page_rows(
    s: Session, ltype: LicenceType, after: int, top: int, limit: int
) -> list[tuple[FeedChange, LicenceVersion, Licence]]:
    return [
        (c, v, lic)
        for c, v, lic in s.execute(
            select(FeedChange, LicenceVersion, Licence)
            .join(LicenceVersion, LicenceVersion.id == FeedChange.version_id)
            .join(Licence, Licence.id == FeedChange.licence_id)
            .where(FeedChange.seq > after, FeedChange.seq <= top, Licence.type_code == ltype.code)
            .order_by(FeedChange.seq)
            .limit(limit + 1)
        )
    ]


def feed_page(
    rt: Runtime,
    caller: Caller,
    type_code: str,
    cursor: str | None = None,
    limit: int = 100,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Up to ``limit`` changes of a type after ``cursor``: ``{"items", "cursor", "more"}``.

    ``cursor`` of the answer is where the next page starts; with ``more`` false the caller
    has everything up to now and asks again later with that cursor. The highest number is
    read before the page, and the page bounded by it, so a change numbered meanwhile is left
    for the next page rather than jumped over."""
    ltype = feed_type(type_code)
    after, limit = parse_cursor(cursor), check_limit(limit)
    sequence(rt.sessions)
    with rt.sessions() as s:
        top = int(s.scalar(select(func.max(FeedChange.seq))) or 0)
        found = _page_rows(s, ltype, after, top, limit)
    more = len(found) > limit
    page = found[:limit]
    next_cursor = page[-1][0].seq if more else max(top, after)
    rows = [(change_entry(c, v), lic) for c, v, lic in page]
    items = with_released_data(rt, caller, ltype, rows, purpose)
    return {"items": items, "cursor": str(next_cursor), "more": more}
