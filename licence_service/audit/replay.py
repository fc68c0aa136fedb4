"""Auditor replay: rebuild every licence's history from the chain, then prove the database
says the same.

Discrepancies found (each with the licence, what differs and since when):
- ``NOT_ON_CHAIN``: the database says a leaf is anchored, the chain has no such leaf;
- ``NEVER_QUEUED``: a document whose outbox entry is missing, so it was never anchored;
- ``UNKNOWN_LEAF``: a leaf anchored by this region that the database does not know;
- ``DATA_CHANGED``: face data no longer hashes to the anchored data root (edited after issue);
- ``PDF_CHANGED``: the stored PDF no longer has the anchored digest;
- ``STATUS_MISMATCH``: the database status differs from the chain's;
- ``OPLOG_BROKEN`` / ``OPLOG_HEAD_MISMATCH`` / ``OPLOG_ROW_MISSING``: the operation log was
  edited or rows were deleted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.audit.history import ChainHistory, LeafLife, read_history
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.store.models import (
    Agency,
    Attachment,
    Licence,
    LicenceVersion,
    OpLogEntry,
    OutboxEntry,
    StatusChange,
    Submission,
)
from verifier.leaves import LeafInput, LeafKind, data_root, field_hash, is_document_digest


def _iso(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts is not None else None


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    licence: str
    detail: str
    since: str | None = None
    leaf: str | None = None


@dataclass
class ReplayResult:
    history: ChainHistory
    discrepancies: list[Discrepancy] = field(default_factory=list)
    licences: list[dict[str, Any]] = field(default_factory=list)
    oplog: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    chain_seconds: float = 0.0
    region: int | None = None

    @property
    def consistent(self) -> bool:
        return not self.discrepancies


def _life_json(history: ChainHistory, leaf: bytes) -> dict[str, Any]:
    life = history.leaves.get(leaf)
    if life is None:
        return {"anchored": False}
    return {
        "anchored": True,
        "batch": life.batch_id,
        "block": life.block,
        "time": _iso(life.time),
        "tx": life.tx,
        "status": life.status_at().name,
        "status_changes": [
            {
                "status": e.status.name,
                "reason": e.reason,
                "time": _iso(e.time),
                "block": e.block,
                "tx": e.tx,
            }
            for e in life.statuses
        ],
        "superseded_by": life.child.hex() if life.child else None,
        "shared_with": [
            {k: r[k] for k in ("to_region", "time", "receipt", "tx")}
            for r in history.shares_by_leaf.get(leaf, [])
        ],
        "superseded_at": _iso(life.child_time),
    }


class _Auditor:
    def __init__(self, rt: Runtime, history: ChainHistory, region: int | None) -> None:
        self.rt = rt
        self.history = history
        self.region = region
        self.found: list[Discrepancy] = []
        self.known: set[bytes] = set()

    def flag(
        self,
        kind: str,
        licence: str,
        detail: str,
        life: LeafLife | None = None,
        leaf: bytes | None = None,
    ) -> None:
        since = _iso(life.time) if life else None
        self.found.append(Discrepancy(kind, licence, detail, since, leaf.hex() if leaf else None))

    # ------------------------------------------------------------------ documents
    def _anchoring(self, s: Session, name: str, leaf: bytes, entry: OutboxEntry | None) -> None:
        self.known.add(leaf)
        life = self.history.leaves.get(leaf)
        if entry is None:
            if life is None:
                self.flag(
                    "NEVER_QUEUED",
                    name,
                    "no outbox entry: this document was never queued for anchoring",
                    leaf=leaf,
                )
            return
        if entry.state == OutboxState.ANCHORED and life is None:
            self.flag(
                "NOT_ON_CHAIN",
                name,
                "the database says anchored; the chain has no such leaf",
                leaf=leaf,
            )

    def _recompute(
        self,
        name: str,
        stored: LeafInput,
        stored_leaf: bytes,
        fields: dict[str, str],
        salts: dict[str, str],
        pdf: str | None,
    ) -> None:
        life = self.history.leaves.get(stored_leaf)
        try:
            root = data_root([field_hash(bytes.fromhex(salts[k]), k, v) for k, v in fields.items()])
        except KeyError as exc:
            self.flag("DATA_CHANGED", name, f"field {exc} has no salt any more", life, stored_leaf)
            return
        if root != stored.data_root:
            self.flag(
                "DATA_CHANGED",
                name,
                "face data no longer hashes to the anchored data "
                "root: a field was changed after issuance",
                life,
                stored_leaf,
            )
        elif stored.leaf() != stored_leaf:
            self.flag(
                "DATA_CHANGED",
                name,
                "the stored leaf inputs no longer give the anchored leaf",
                life,
                stored_leaf,
            )
        if pdf is not None:
            try:
                data = Path(pdf).read_bytes()
            except OSError:
                self.flag("PDF_CHANGED", name, f"the PDF {pdf} is missing", life, stored_leaf)
                return
            if not is_document_digest(data, stored.document_digest):
                self.flag(
                    "PDF_CHANGED",
                    name,
                    "the stored PDF no longer has the anchored digest",
                    life,
                    stored_leaf,
                )

    def _status(self, name: str, db_status: str, leaf: bytes) -> None:
        life = self.history.leaves.get(leaf)
        if life is None:
            return
        chain = life.status_at().name
        if chain != db_status:
            last = life.statuses[-1] if life.statuses else None
            since = _iso(last.time) if last else _iso(life.time)
            self.found.append(
                Discrepancy(
                    "STATUS_MISMATCH",
                    name,
                    f"database says {db_status}, chain says {chain}",
                    since,
                    leaf.hex(),
                )
            )

    def licences(self, s: Session) -> list[dict[str, Any]]:
        out = []
        query = select(Licence).join(Agency, Agency.id == Licence.agency_id)
        if self.region is not None:
            query = query.where(Agency.region_code == self.region)
        for licence in s.scalars(query.order_by(Licence.id)):
            versions = []
            for v in licence.versions:
                self._anchoring(s, v.identifier, v.leaf, v.outbox)
                self._recompute(
                    v.identifier,
                    LeafInput(
                        v.key,
                        v.document_digest,
                        v.data_root,
                        LeafKind(v.kind),
                        v.parent_leaf,
                        agency_code=_anchoring_agency(s, v.outbox, licence.agency.code),
                    ),
                    v.leaf,
                    json.loads(v.fields_json),
                    json.loads(v.salts_json),
                    v.pdf_path,
                )
                versions.append(
                    {
                        "version": v.version,
                        "identifier": v.identifier,
                        "leaf": v.leaf.hex(),
                        **_life_json(self.history, v.leaf),
                    }
                )
            self._status(licence.versions[-1].identifier, licence.status, licence.versions[-1].leaf)
            attachments = []
            for a in s.scalars(
                select(Attachment)
                .join(LicenceVersion)
                .where(LicenceVersion.licence_id == licence.id)
            ):
                entry = s.scalar(select(OutboxEntry).where(OutboxEntry.attachment_id == a.id))
                self._anchoring(s, a.identifier, a.leaf, entry)
                data = json.loads(a.data_json)
                self._recompute(
                    a.identifier,
                    LeafInput(
                        a.key,
                        a.document_digest,
                        a.data_root,
                        LeafKind(a.kind),
                        a.parent_leaf,
                        agency_code=_anchoring_agency(s, entry, licence.agency.code),
                    ),
                    a.leaf,
                    data,
                    json.loads(a.salts_json),
                    a.pdf_path,
                )
                self._status(a.identifier, a.status, a.leaf)
                attachments.append(
                    {
                        "identifier": a.identifier,
                        "kind": LeafKind(a.kind).name,
                        "leaf": a.leaf.hex(),
                        **_life_json(self.history, a.leaf),
                    }
                )
            out.append(
                {
                    "licence": licence.base_id,
                    "type": licence.type_code,
                    "agency": licence.agency.code,
                    "region": licence.agency.region_code,
                    "status_db": licence.status,
                    "versions": versions,
                    "attachments": attachments,
                    "status_changes_db": len(
                        s.scalars(
                            select(StatusChange)
                            .join(LicenceVersion)
                            .where(LicenceVersion.licence_id == licence.id)
                        ).all()
                    ),
                }
            )
        for sub in s.scalars(select(Submission).where(Submission.leaf.is_not(None))):
            assert sub.leaf is not None
            entry = s.scalar(select(OutboxEntry).where(OutboxEntry.submission_id == sub.id))
            self._anchoring(s, f"submission:{sub.id}", sub.leaf, entry)
        return out

    # ------------------------------------------------------------------ operation log
    def check_oplog(self, s: Session) -> dict[str, Any]:
        rows = s.scalars(select(OpLogEntry).order_by(OpLogEntry.seq)).all()
        stored, breaks = oplog.verify_chain(rows)
        for b in breaks:
            self.flag("OPLOG_BROKEN", f"oplog:{b.seq}", b.problem)
        anchored = 0
        heads = s.scalars(select(OutboxEntry).where(OutboxEntry.oplog_seq.is_not(None))).all()
        for entry in heads:
            assert entry.oplog_seq is not None
            self.known.add(entry.leaf)
            seq = entry.oplog_seq
            on_chain = self.history.leaves.get(entry.leaf)
            if seq not in stored:
                self.flag(
                    "OPLOG_ROW_MISSING",
                    f"oplog:{seq}",
                    "an anchored head's row is gone",
                    on_chain,
                    entry.leaf,
                )
                continue
            if on_chain is None:
                continue  # not anchored yet
            anchored += 1
            code = _anchoring_agency(s, entry, "")
            if oplog.head_leaf(seq, stored[seq], code).leaf() != entry.leaf:
                self.flag(
                    "OPLOG_HEAD_MISMATCH",
                    f"oplog:{seq}",
                    "the log up to here differs from the head anchored on-chain",
                    on_chain,
                    entry.leaf,
                )
        unsealed = sum(1 for r in rows if r.hash is None)
        return {
            "rows": len(rows),
            "sealed": len(rows) - unsealed,
            "unsealed": unsealed,
            "anchored_heads": anchored,
            "breaks": len(breaks),
        }

    # ------------------------------------------------------------------ chain-only leaves
    def unknown_leaves(self, own_regions: set[int]) -> None:
        for leaf, life in self.history.leaves.items():
            if leaf in self.known or life.region not in own_regions:
                continue
            self.flag(
                "UNKNOWN_LEAF",
                f"batch:{life.batch_id}",
                "anchored by this region's account but unknown to the database",
                life,
                leaf,
            )


def replay(
    rt: Runtime,
    from_block: int | None = None,
    region: int | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> ReplayResult:
    """Rebuild the history from the chain and compare it with this region's database."""
    started = time.perf_counter()
    start = rt.deployment.block_number if from_block is None else from_block
    history = read_history(
        rt.registry(),
        start,
        None,
        region,
        progress=progress,
        directory=rt.directory() if rt.deployment.directory else None,
        sharing=rt.sharing() if rt.deployment.sharing else None,
    )
    chain_seconds = time.perf_counter() - started
    auditor = _Auditor(rt, history, region)
    with rt.sessions() as s:
        licences = auditor.licences(s)
        log = auditor.check_oplog(s)
        regions = {a.region_code for a in s.scalars(select(Agency))}
    auditor.unknown_leaves(regions if region is None else {region} & regions)
    return ReplayResult(
        history,
        auditor.found,
        licences,
        log,
        time.perf_counter() - started,
        chain_seconds,
        region,
    )


def _anchoring_agency(s: Session, entry: OutboxEntry | None, default: str) -> str:
    """The agency whose account anchors an entry (an approval is anchored by the approving
    agency, not the licence's); the licence's agency while nothing was queued."""
    agency = s.get(Agency, entry.agency_id) if entry is not None else None
    return agency.code if agency is not None else default
