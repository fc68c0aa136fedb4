"""What a replay is reported as (JSON for reports and the API) and the state of every licence
at a point in time, both from the chain history the replay read."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ledger_client.registry import LeafStatus
from licence_service.audit.history import read_history
from licence_service.audit.replay import ReplayResult
from licence_service.region.runtime import Runtime
from licence_service.store.models import (
    Licence,
)


def report_json(rt: Runtime, result: ReplayResult) -> dict[str, Any]:
    h = result.history
    status_changes = sum(len(life.statuses) for life in h.leaves.values())
    successions = sum(1 for life in h.leaves.values() if life.child)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chain": {
            "rpc_url": rt.settings.rpc_url,
            "registry": rt.deployment.registry,
            "from_block": h.from_block,
            "to_block": h.to_block,
        },
        "region": result.region,
        "consistent": result.consistent,
        "summary": {
            "batches": len(h.batches),
            "leaves": len(h.leaves),
            "status_changes": status_changes,
            "version_links": successions,
            "licences": len(result.licences),
            "events_read": h.events,
            "discrepancies": len(result.discrepancies),
            "seconds": round(result.seconds, 3),
            "events_per_second": round(h.events / result.chain_seconds)
            if result.chain_seconds
            else None,
        },
        "discrepancies": [asdict(d) for d in result.discrepancies],
        "operation_log": result.oplog,
        "directory": [
            {
                "account": d.account,
                "region": d.region,
                "agency": d.agency_code,
                "added": d.added,
                "block": d.tx.block_number,
                "tx": d.tx.tx_hash,
            }
            for d in h.directory
        ],
        "governance": h.governance,
        "sharing": h.sharing,
        "licences": result.licences,
        "fingerprint": hashlib.sha256(
            json.dumps([asdict(d) for d in result.discrepancies], sort_keys=True).encode()
        ).hexdigest(),
    }


def state_at(rt: Runtime, at: datetime) -> list[dict[str, Any]]:
    """Every licence's status at ``at``, from the chain (names from the database)."""
    history = read_history(rt.registry(), rt.deployment.block_number)
    ts = int(at.timestamp())
    rows: list[dict[str, Any]] = []
    with rt.sessions() as s:
        for licence in s.scalars(select(Licence).order_by(Licence.id)):
            current = None
            for v in licence.versions:
                life = history.leaves.get(v.leaf)
                if life is None or life.time > ts:
                    continue
                current = (v, life)
            if current is None:
                rows.append({"licence": licence.base_id, "version": None, "status": "NOT_ISSUED"})
                continue
            v, life = current
            status = life.status_at(ts)
            if status is LeafStatus.ACTIVE and v.valid_until < at.date():
                state = "EXPIRED"
            else:
                state = status.name
            rows.append({"licence": licence.base_id, "version": v.version, "status": state})
    return rows
