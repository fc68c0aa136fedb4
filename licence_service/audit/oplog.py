"""The operation log: every state-changing action, hash-chained, its head anchored.

``record`` appends a row in the caller's transaction (so the log and the change commit or
fail together). ``seal`` assigns the hash chain in sequence order — done by one worker, so
concurrent writers never contend for the head. ``anchor_head`` puts the newest sealed hash
on-chain as a leaf whose key names the sequence number, so an auditor finds every anchored
head from the chain alone and a deleted or edited row is detected.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_client import merkle
from licence_service.store.models import Agency, OpLogEntry, OutboxEntry
from verifier.leaves import ZERO, LeafInput, LeafKind

GENESIS = bytes(32)
OPLOG_KIND = LeafKind.OPLOG
_actor: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "licledger_actor", default=("system", "system")
)


@contextmanager
def acting_as(actor: str, role: str) -> Iterator[None]:
    """Attribute every logged action inside the block to ``actor`` in ``role``."""
    token = _actor.set((actor, role))
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(actor: str, role: str) -> None:
    """Attribute the rest of this context's actions (a CLI process, an API request)."""
    _actor.set((actor, role))


def current_actor() -> str:
    """Who this context's actions are attributed to."""
    return _actor.get()[0]


def record(s: Session, action: str, target: str, **details: Any) -> None:
    """Append one action to the log in the current transaction."""
    actor, role = _actor.get()
    s.add(
        OpLogEntry(
            actor=actor, role=role, action=action, target=target,
            details_json=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
        )
    )  # fmt: skip


def entry_hash(prev: bytes, row: OpLogEntry) -> bytes:
    """SHA-256 over the previous hash and the row's canonical content."""
    body = json.dumps(
        [row.seq, row.at.isoformat(), row.actor, row.role, row.action, row.target,
         row.details_json],
        ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(prev + body.encode()).digest()


def head_key(seq: int) -> bytes:
    """Lookup key of the anchored head at ``seq``: derivable by anyone who knows ``seq``."""
    return keccak(b"licledger.oplog\x00" + str(seq).encode())[: merkle.KEY_BYTES]


def head_leaf(seq: int, head: bytes, agency_code: str) -> LeafInput:
    """The leaf of the log head at ``seq``, anchored by ``agency_code``'s account."""
    return LeafInput(head_key(seq), head, ZERO, OPLOG_KIND, ZERO, agency_code=agency_code)


def seal(s: Session) -> int:
    """Hash-chain every unsealed row, in sequence order; returns how many were sealed."""
    last = s.scalar(
        select(OpLogEntry).where(OpLogEntry.hash.is_not(None)).order_by(OpLogEntry.seq.desc())
    )
    prev = last.hash if last is not None and last.hash is not None else GENESIS
    rows = s.scalars(
        select(OpLogEntry).where(OpLogEntry.hash.is_(None)).order_by(OpLogEntry.seq)
    ).all()
    for row in rows:
        row.prev_hash = prev
        row.hash = entry_hash(prev, row)
        prev = row.hash
    return len(rows)


def anchor_head(s: Session, every: int = 1) -> int | None:
    """Queue the newest sealed head for anchoring if ``every`` rows were sealed since the last."""
    newest = s.scalar(
        select(OpLogEntry).where(OpLogEntry.hash.is_not(None)).order_by(OpLogEntry.seq.desc())
    )
    if newest is None or newest.hash is None:
        return None
    last = s.scalar(select(func.max(OutboxEntry.oplog_seq)))
    if newest.seq - (last or 0) < every:
        return None
    agency = s.scalar(select(Agency).order_by(Agency.id))
    if agency is None:
        return None
    s.add(
        OutboxEntry.of(
            head_leaf(newest.seq, newest.hash, agency.code), agency.id, oplog_seq=newest.seq
        )
    )
    return newest.seq


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(rows: Iterable[OpLogEntry]) -> tuple[dict[int, bytes], list[ChainBreak]]:
    """Check the chain over sealed rows; the stored hash per seq and every break found.

    Anchored heads are compared with the stored hashes by the caller: rewriting every hash
    after an edit keeps this chain consistent but no longer matches what was anchored.
    """
    prev, expected_seq = GENESIS, None
    hashes: dict[int, bytes] = {}
    breaks: list[ChainBreak] = []
    for row in rows:
        if row.hash is None:
            continue
        if expected_seq is not None and row.seq != expected_seq:
            breaks.append(ChainBreak(row.seq, f"rows {expected_seq}..{row.seq - 1} are missing"))
        if row.prev_hash != prev:
            breaks.append(ChainBreak(row.seq, "previous-hash link does not match"))
        if entry_hash(row.prev_hash or GENESIS, row) != row.hash:
            breaks.append(ChainBreak(row.seq, "row content does not match its hash (edited)"))
        hashes[row.seq] = row.hash
        prev = row.hash  # resynchronise, so one tampered row is reported once
        expected_seq = row.seq + 1
    return hashes, breaks
