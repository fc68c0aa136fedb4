"""The operation log: every state-changing action, hash-chained, its head anchored.

The chaining and anchoring are :class:`ChainedLog`'s, shared with the read log (``READLOG``).

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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger_client import merkle
from licence_service.store.models import Agency, OpLogEntry, OutboxEntry
from licence_service.store.reads import LicenceRead
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


def _oplog_content(row: Any) -> list[Any]:
    return [row.seq, row.at.isoformat(), row.actor, row.role, row.action, row.target,
            row.details_json]  # fmt: skip


@dataclass(frozen=True)
class ChainedLog:
    """An append-only table sealed into a hash chain whose head is anchored on-chain: the
    operation log, and the read log (``services.read_log``) on the same machinery.

    ``model`` has ``prev_hash`` and ``hash`` columns and the integer column ``seq_column``
    giving the chain's order; ``content`` is a row's canonical fields; ``label`` separates
    the logs' head keys on-chain; ``outbox_link`` is the outbox column naming the head's seq.
    """

    name: str
    model: Any
    seq_column: str
    content: Callable[[Any], list[Any]]
    label: bytes
    outbox_link: str

    def seq(self, row: Any) -> int:
        return int(getattr(row, self.seq_column))

    def order(self) -> Any:
        return getattr(self.model, self.seq_column)

    def entry_hash(self, prev: bytes, row: Any) -> bytes:
        """SHA-256 over the previous hash and the row's canonical content."""
        body = json.dumps(self.content(row), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(prev + body.encode()).digest()

    def head_key(self, seq: int) -> bytes:
        """Lookup key of the anchored head at ``seq``: derivable by anyone who knows ``seq``."""
        return keccak(self.label + b"\x00" + str(seq).encode())[: merkle.KEY_BYTES]

    def head_leaf(self, seq: int, head: bytes, agency_code: str) -> LeafInput:
        """The leaf of the log head at ``seq``, anchored by ``agency_code``'s account."""
        return LeafInput(self.head_key(seq), head, ZERO, OPLOG_KIND, ZERO, agency_code=agency_code)

    def seal(self, s: Session) -> int:
        """Hash-chain every unsealed row, in sequence order; returns how many were sealed."""
        m = self.model
        last = s.scalar(select(m).where(m.hash.is_not(None)).order_by(self.order().desc()))
        prev = last.hash if last is not None and last.hash is not None else GENESIS
        rows = s.scalars(select(m).where(m.hash.is_(None)).order_by(self.order())).all()
        for row in rows:
            row.prev_hash = prev
            row.hash = self.entry_hash(prev, row)
            prev = row.hash
        return len(rows)

    def anchor_head(self, s: Session, every: int = 1) -> int | None:
        """Queue the newest sealed head for anchoring if ``every`` rows were sealed since the
        last anchored head."""
        m = self.model
        newest = s.scalar(select(m).where(m.hash.is_not(None)).order_by(self.order().desc()))
        if newest is None or newest.hash is None:
            return None
        seq = self.seq(newest)
        last = s.scalar(select(func.max(getattr(OutboxEntry, self.outbox_link))))
        if seq - (last or 0) < every:
            return None
        agency = s.scalar(select(Agency).order_by(Agency.id))
        if agency is None:
            return None
        link = {self.outbox_link: seq}
        s.add(OutboxEntry.of(self.head_leaf(seq, newest.hash, agency.code), agency.id, **link))
        return seq

    def verify_chain(self, rows: Iterable[Any]) -> tuple[dict[int, bytes], list[ChainBreak]]:
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
            seq = self.seq(row)
            if expected_seq is not None and seq != expected_seq:
                breaks.append(ChainBreak(seq, f"rows {expected_seq}..{seq - 1} are missing"))
            if row.prev_hash != prev:
                breaks.append(ChainBreak(seq, "previous-hash link does not match"))
            if self.entry_hash(row.prev_hash or GENESIS, row) != row.hash:
                breaks.append(ChainBreak(seq, "row content does not match its hash (edited)"))
            hashes[seq] = row.hash
            prev = row.hash  # resynchronise, so one tampered row is reported once
            expected_seq = seq + 1
        return hashes, breaks


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


OPLOG = ChainedLog("operation log", OpLogEntry, "seq", _oplog_content, b"licledger.oplog",
                   "oplog_seq")  # fmt: skip
"""The operation log's chain. The names below are its functions, as callers used them."""
entry_hash, head_key, head_leaf = OPLOG.entry_hash, OPLOG.head_key, OPLOG.head_leaf
seal, anchor_head, verify_chain = OPLOG.seal, OPLOG.anchor_head, OPLOG.verify_chain


def _read_content(row: Any) -> list[Any]:
    return [row.id, row.at.isoformat(), row.reader, row.subject, row.purpose, row.licence,
            row.route, bool(row.unmasked)]  # fmt: skip


READLOG = ChainedLog("read log", LicenceRead, "id", _read_content, b"licledger.readlog",
                     "readlog_seq")  # fmt: skip
"""The read log's chain (who saw whose personal data, for what): sealed and anchored with
the operation log's, checked by the auditor's replay the same way."""
CHAINED_LOGS = (OPLOG, READLOG)
