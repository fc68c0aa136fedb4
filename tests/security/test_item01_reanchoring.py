"""Item 1: a member region re-anchors another region's leaf to revoke or supersede it.

Observed before the fix: region B anchored A's leaf (public in A's BatchAnchored event) in a
batch of its own, then `changeStatus` with its own batch id was mined, A's genuine PDF verified
REVOKED and A could not undo it. Now the registry computes every leaf from the anchoring
agency's id, so B's batch can only ever hold B's leaves: the same bytes anchored by B are a
different leaf, and every status change or version link B attempts on A's leaf reverts. The
index also ignores any status event or version link of a region other than the one that first
anchored the leaf (which is how data anchored on an older contract stays protected).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger_client import merkle
from ledger_client.errors import ContractRevertError
from ledger_client.index import IndexedStatus, IndexedSuccession
from ledger_client.registry import LeafStatus, Member
from licence_service.store.models import OutboxEntry
from tests.security.trust_fixtures import (
    B1,
    BOTH_SUITES,
    Regions,
    agency,
    issue_by,
    member,
    verify_pdf,
    verify_pdf_direct,
)
from verifier.verdicts import Verdict

pytestmark = BOTH_SUITES  # region B on intl, then on sm (a mixed consortium)


def _reverts(name: str, fn, *args) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevertError) as info:
        fn(*args)
    assert info.value.name == name, info.value


def test_region_b_cannot_revoke_or_supersede_by_reanchoring(regions: Regions) -> None:
    a, b = regions.a, regions.b
    doc, bait = issue_by(a), issue_by(a)
    victim = member(a, doc.leaf)
    with a.sessions() as s:
        entry = s.scalar(select(OutboxEntry).where(OutboxEntry.leaf == victim.leaf))
        assert entry is not None
        key, body = entry.key, entry.body

    # B anchors A's document (its key and body, read from A's transaction) and A's leaf itself
    reg_b = regions.registry(b, B1)
    docs = sorted(
        [(key, body), (victim.leaf[:16], victim.leaf)],
        key=lambda kb: merkle.leaf_of(agency(B1), *kb),
    )
    batch = reg_b.anchor([d[0] for d in docs], [d[1] for d in docs])
    assert victim.leaf not in batch.leaves  # B's batch can only hold leaves of B's agency
    copied = merkle.leaf_of(agency(B1), key, body)
    assert copied in batch.leaves and copied != victim.leaf

    # every way B could touch A's leaf reverts
    _reverts(
        "NotInBatch", reg_b.change_status, victim.leaf, batch.batch_id, [], LeafStatus.REVOKED, 1
    )
    _reverts(
        "WrongRegion", reg_b.change_status, victim.leaf, victim.batch_id, victim.proof,
        LeafStatus.REVOKED, 1,
    )  # fmt: skip
    own = Member(
        copied, batch.batch_id, tuple(merkle.proof(list(batch.leaves), batch.leaves.index(copied)))
    )
    _reverts("WrongRegion", reg_b.supersede, victim, own, 0)
    _reverts("WrongRegion", reg_b.supersede, member(a, bait.leaf), victim, 0)
    # B may change the status of its own copy: it is B's leaf, and nobody verifies A's
    # document against it
    reg_b.change_status(copied, batch.batch_id, own.proof, LeafStatus.REVOKED, 1)

    assert a.registry().leaf_status(victim.leaf).status is LeafStatus.ACTIVE
    for result in (verify_pdf(a, doc), verify_pdf(b, doc), verify_pdf_direct(b, doc)):
        assert result.verdict is Verdict.VALID, result.checks
    assert verify_pdf(b, bait).verdict is Verdict.VALID


def test_index_ignores_status_and_links_of_another_region(regions: Regions) -> None:
    """What an older contract let through (a status event or version link of a region that
    did not anchor the leaf) is never applied by the index or the verifier."""
    a, b = regions.a, regions.b
    doc = issue_by(a)
    victim = member(a, doc.leaf)
    b.indexer.sync()
    record = b.index.find_leaf(victim.leaf)
    assert record is not None and record.region == 330100
    with b.sessions.begin() as s:
        s.add(
            IndexedStatus(
                contract=b.index.contract, leaf=victim.leaf, batch_id=victim.batch_id,
                region=440300, from_status=0, to_status=int(LeafStatus.REVOKED), reason=1,
                timestamp=record.timestamp + 1, block_number=record.block_number + 1,
                tx_hash="0x" + "ab" * 32, log_index=0,
            )
        )  # fmt: skip
        s.add(
            IndexedSuccession(
                contract=b.index.contract, leaf=victim.leaf, region=440300, child=b"\x01" * 32,
                timestamp=record.timestamp + 1, block_number=record.block_number + 1,
                tx_hash="0x" + "cd" * 32,
            )
        )  # fmt: skip
    assert b.index.status_at(victim.leaf) is None
    assert b.index.successor(victim.leaf) is None
    result = verify_pdf(b, doc)
    assert result.verdict is Verdict.VALID, result.checks
