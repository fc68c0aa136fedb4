"""A region's first sync: every licence of a type as of one change number, page by page.

The snapshot is taken *at* a number ``S`` of the change log (the highest when the first page
is asked for): each licence shows the last change numbered at or below ``S``, whatever was
written while the caller pages. The answer names ``feed_cursor`` = ``S``; the feed from there
brings every later change. Snapshot then feed is every licence's state once and every change
after it once — nothing missed in between, nothing twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from licence_service.domain.errors import InvalidInputError
from licence_service.federation.auth import Caller
from licence_service.federation.change_feed import (
    change_entry,
    check_limit,
    feed_type,
    with_released_data,
)
from licence_service.region.runtime import Runtime
from licence_service.store.exchange import FeedChange
from licence_service.store.models import Licence, LicenceVersion
from licence_service.store.sequencing import sequence


def _parse(cursor: str | None) -> tuple[int | None, int]:
    """(S, last licence row) of a snapshot cursor ``S:row``; (None, 0) to start one."""
    if not cursor:
        return None, 0
    at, _, after = cursor.partition(":")
    if not (at.isdigit() and after.isdigit()) or len(cursor) > 40:
        raise InvalidInputError(
            f"cursor {cursor!r} is not a snapshot cursor: pass the cursor of the previous "
            "snapshot page (like 120:45), or none to start a snapshot",
            field="cursor",
        )
    return int(at), int(after)


def snapshot_page(
    rt: Runtime,
    caller: Caller,
    type_code: str,
    cursor: str | None = None,
    limit: int = 100,
    purpose: str | None = None,
) -> dict[str, Any]:
    """One page of the snapshot: ``{"items", "cursor", "feed_cursor", "more"}``; ``cursor``
    is None on the last page. Personal data only as the feed gives it (consent, masked)."""
    ltype = feed_type(type_code)
    at, after = _parse(cursor)
    limit = check_limit(limit)
    if at is None:
        at = sequence(rt.sessions)
    with rt.sessions() as s:
        latest = (
            select(FeedChange.licence_id, func.max(FeedChange.seq).label("seq"))
            .join(Licence, Licence.id == FeedChange.licence_id)
            .where(FeedChange.seq <= at, Licence.type_code == ltype.code, Licence.id > after)
            .group_by(FeedChange.licence_id)
            .order_by(FeedChange.licence_id)
            .limit(limit + 1)
            .subquery()
        )
        found = s.execute(
            select(FeedChange, LicenceVersion, Licence)
            .join(latest, latest.c.seq == FeedChange.seq)
            .join(LicenceVersion, LicenceVersion.id == FeedChange.version_id)
            .join(Licence, Licence.id == FeedChange.licence_id)
            .order_by(Licence.id)
        ).all()
    more = len(found) > limit
    page = found[:limit]
    rows = [(change_entry(c, v), lic) for c, v, lic in page]
    items = with_released_data(rt, caller, ltype, rows, purpose)
    next_cursor = f"{at}:{page[-1][2].id}" if more else None
    return {"items": items, "cursor": next_cursor, "feed_cursor": str(at), "more": more}
