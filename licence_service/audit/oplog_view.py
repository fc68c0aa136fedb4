"""The operation log read by person: who did how much, and what one person did.

The auditor's question is "what did this person do, in which role, when": both the CLI
(``licledger audit oplog``) and the audit page answer it with these two functions.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from licence_service.region.runtime import Runtime
from licence_service.store.models import OpLogEntry

__all__ = ["actions_of", "people_summary"]


def people_summary(rt: Runtime) -> list[dict[str, Any]]:
    """One row per actor: how many actions, the first and the last, newest first."""
    with rt.sessions() as s:
        rows = s.execute(
            select(
                OpLogEntry.actor,
                func.count(OpLogEntry.seq),
                func.min(OpLogEntry.at),
                func.max(OpLogEntry.at),
            )
            .group_by(OpLogEntry.actor)
            .order_by(func.max(OpLogEntry.seq).desc())
        ).all()
    return [
        {"actor": actor, "actions": n, "first": first.isoformat(), "last": last.isoformat()}
        for actor, n, first, last in rows
    ]


def actions_of(rt: Runtime, actor: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` actions, of ``actor`` only when given (sealed or not yet)."""
    query = select(OpLogEntry).order_by(OpLogEntry.seq.desc()).limit(limit)
    if actor:
        query = query.where(OpLogEntry.actor == actor)
    with rt.sessions() as s:
        return [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "role": e.role,
                "action": e.action,
                "target": e.target,
                "details": json.loads(e.details_json or "{}"),
                "sealed": e.hash is not None,
            }
            for e in s.scalars(query)
        ]
