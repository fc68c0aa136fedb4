"""Statistics by region, agency, licence type and period, from the replayed history."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ledger_client.registry import LeafStatus
from licence_service.audit.history import ChainHistory
from licence_service.region.runtime import Runtime
from licence_service.store.models import Agency, Attachment, Licence, LicenceVersion
from verifier.leaves import LeafKind

COLUMNS = (
    "period",
    "region",
    "agency",
    "type",
    "issued",
    "amended",
    "revoked",
    "suspended",
    "cancelled",
    "copies",
    "shares",
)


def _period(ts: int, period: str) -> str:
    day = datetime.fromtimestamp(ts, tz=UTC)
    return day.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def statistics(rt: Runtime, history: ChainHistory, period: str = "month") -> list[dict[str, Any]]:
    """One row per (period, region, agency, type) with counts of what the chain recorded.

    Leaves are attributed to licence types through the database; shares are the releases the
    sharing ledger recorded for a leaf (counted in the period of the leaf's anchoring).
    """
    if period not in ("day", "month"):
        raise ValueError("period must be day or month")
    meta: dict[bytes, tuple[str, str, int, str]] = {}  # leaf -> (agency, type, version, kind)
    with rt.sessions() as s:
        agencies = {a.id: a.code for a in s.scalars(select(Agency))}
        rows = s.execute(
            select(
                LicenceVersion.leaf, LicenceVersion.version, Licence.type_code, Licence.agency_id
            ).join(Licence)
        ).all()
        for leaf, version, type_code, agency_id in rows:
            meta[leaf] = (agencies[agency_id], type_code, version, "VERSION")
        for leaf, att_kind, type_code, agency_id in s.execute(
            select(Attachment.leaf, Attachment.kind, Licence.type_code, Licence.agency_id)
            .join(LicenceVersion, LicenceVersion.id == Attachment.version_id)
            .join(Licence, Licence.id == LicenceVersion.licence_id)
        ).all():
            meta[leaf] = (agencies[agency_id], type_code, 0, LeafKind(att_kind).name)
    counts: Counter[tuple[str, int, str, str, str]] = Counter()
    for leaf, life in history.leaves.items():
        agency, type_code, version, kind = meta.get(leaf, ("?", "?", 0, "UNKNOWN"))
        key = (_period(life.time, period), life.region, agency, type_code)
        if kind == "VERSION":
            counts[(*key, "issued" if version == 1 else "amended")] += 1
        elif kind == "COPY":
            counts[(*key, "copies")] += 1
        for _ in history.shares_by_leaf.get(leaf, []):
            counts[(*key, "shares")] += 1
        for event in life.statuses:
            name = {
                LeafStatus.REVOKED: "revoked",
                LeafStatus.SUSPENDED: "suspended",
                LeafStatus.CANCELLED: "cancelled",
            }.get(event.status)
            if name:
                counts[(_period(event.time, period), life.region, agency, type_code, name)] += 1
    table: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for (p, region, agency, type_code, what), n in counts.items():
        row = table.setdefault(
            (p, region, agency, type_code),
            {c: 0 for c in COLUMNS}
            | {"period": p, "region": region, "agency": agency, "type": type_code},
        )
        row[what] += n
    return [table[k] for k in sorted(table)]


def filter_rows(
    rows: list[dict[str, Any]],
    agency: str | None = None,
    type_code: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of one agency and licence type, and periods from ``start`` to ``end``
    (inclusive; ``2026-03`` or ``2026-03-01``, compared as the period's own text, so a month
    bound covers its days). Empty or None: no filter."""
    return [
        r
        for r in rows
        if (not agency or r["agency"] == agency)
        and (not type_code or r["type"] == type_code)
        and (not start or r["period"][: len(start)] >= start)
        and (not end or r["period"][: len(end)] <= end)
    ]


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
