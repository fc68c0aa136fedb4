"""The paged change feed and the first-sync snapshot (issue 22, point 6), on both databases.

A client pages through the feed while the region writes between its requests (issuances and
a status change): it sees every licence version and status change once, in number order,
never one twice. In PostgreSQL a transaction that took its row before another but commits
after it is not jumped over (the sequencer numbers changes after commit). A snapshot paged
while the region writes, then the feed from its ``feed_cursor``, gives every licence's
current state with each change once.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ledger_client.registry import LeafStatus
from licence_service.domain.errors import InvalidInputError
from licence_service.federation.auth import Caller
from licence_service.federation.change_feed import feed_page
from licence_service.federation.snapshot import snapshot_page
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.status import change_status
from licence_service.store.exchange import FeedChange
from licence_service.store.models import Licence, LicenceVersion, StatusChange
from tests.service_fixtures import business_request

pytestmark = pytest.mark.contract

PEER = Caller(440300, "0x" + "11" * 20)


def _issue(rt: Runtime) -> str:
    return issue_licence(rt, business_request(), wait=False).licence_id


def _truth(rt: Runtime) -> tuple[list[tuple[str, str]], list[str]]:
    """Independently of the log: every BL01 version's identifier with its kind, and every
    licence status change (by the identifier of the version it changed)."""
    with rt.sessions() as s:
        versions = [
            (v.identifier, "issued" if v.version == 1 else "amended")
            for v in s.scalars(
                select(LicenceVersion).join(Licence).where(Licence.type_code == "BL01")
            )
        ]
        changes = [
            v.identifier
            for v in s.scalars(
                select(LicenceVersion)
                .join(StatusChange, StatusChange.version_id == LicenceVersion.id)
                .join(Licence)
                .where(Licence.type_code == "BL01", StatusChange.attachment_id.is_(None))
            )
        ]
    return versions, changes


def _drain(rt: Runtime, cursor: str | None, limit: int = 3) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    for _ in range(1000):
        page = feed_page(rt, PEER, "BL01", cursor, limit)
        items += page["items"]
        cursor = page["cursor"]
        if not page["more"]:
            return items, cursor
    raise AssertionError("the feed never ended")


def test_paging_while_the_region_writes_skips_and_repeats_nothing(rt: Runtime) -> None:
    anchored = issue_licence(rt, business_request()).licence_id
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for step in range(8):  # a page, then a write, then the next page
        page = feed_page(rt, PEER, "BL01", cursor, 2)
        seen += page["items"]
        assert int(page["cursor"]) >= int(cursor or 0)
        cursor = page["cursor"]
        if step == 3:
            change_status(rt, anchored, LeafStatus.SUSPENDED, 1, "整改")
        else:
            _issue(rt)
    rest, _ = _drain(rt, cursor)
    seen += rest
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # in order, none twice
    versions, changes = _truth(rt)
    got_versions = sorted((e["licence_id"], e["kind"]) for e in seen if e["kind"] != "status")
    assert got_versions == sorted(versions)  # every version once
    assert sorted(e["licence_id"] for e in seen if e["kind"] == "status") == sorted(changes)
    suspended = [e for e in seen if e["kind"] == "status" and e["licence_id"] == anchored]
    assert [e["status"] for e in suspended] == ["SUSPENDED"]
    assert all(set(e) == {"seq", "kind", "licence_id", "version", "status", "leaf", "at"}
               for e in seen)  # fmt: skip


def test_a_change_committed_late_is_not_jumped_over(rt: Runtime) -> None:
    """Row ids and clocks are taken at write, visibility comes at commit: the change written
    first but committed last must still come after the cursor the client holds."""
    if rt.sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: a transaction cannot commit out of order")
    _, cursor = _drain(rt, None)
    first_id = _issue(rt)
    with rt.sessions() as s:
        version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == first_id))
        assert version is not None
        late = rt.sessions()
        late.begin()
        late.add(FeedChange(licence_id=version.licence_id, version_id=version.id,
                            kind="status", status="ACTIVE"))  # fmt: skip
        late.flush()  # its row id is taken now; it commits after the next issuance
    try:
        later = _issue(rt)
        page, cursor = _drain(rt, cursor)
        assert [e["licence_id"] for e in page] == [first_id, later]
    finally:
        late.commit()
        late.close()
    page, _ = _drain(rt, cursor)
    assert [(e["licence_id"], e["kind"]) for e in page] == [(first_id, "status")]


def test_snapshot_then_feed_is_every_change_exactly_once(rt: Runtime) -> None:
    _issue(rt)
    victim = issue_licence(rt, business_request()).licence_id
    snap: list[dict[str, Any]] = []
    page = snapshot_page(rt, PEER, "BL01", None, 2)
    feed_cursor = page["feed_cursor"]
    snap += page["items"]
    wrote = False
    while page["cursor"]:
        if not wrote:  # written while the client pages: left to the feed, not the snapshot
            _issue(rt)
            change_status(rt, victim, LeafStatus.SUSPENDED, 1, "整改")
            wrote = True
        page = snapshot_page(rt, PEER, "BL01", page["cursor"], 2)
        assert page["feed_cursor"] == feed_cursor
        snap += page["items"]
    assert wrote
    assert all(e["seq"] <= int(feed_cursor) for e in snap)
    later, _ = _drain(rt, feed_cursor)
    assert later and all(e["seq"] > int(feed_cursor) for e in later)
    state: dict[str, tuple[str, str]] = {}
    base_of = {}  # a licence's versions share the identifier before the version suffix
    with rt.sessions() as s:
        for v in s.scalars(select(LicenceVersion).join(Licence).where(Licence.type_code == "BL01")):
            base_of[v.identifier] = v.licence_id
        current = {
            lic.id: (lic.versions[-1].identifier, lic.status)
            for lic in s.scalars(select(Licence).where(Licence.type_code == "BL01"))
        }
    snapshot_licences = [base_of[e["licence_id"]] for e in snap]
    assert len(snapshot_licences) == len(set(snapshot_licences))  # each licence once
    for e in sorted(snap + later, key=lambda e: e["seq"]):
        state[base_of[e["licence_id"]]] = (e["licence_id"], e["status"])
    assert state == current
    victim_row = base_of[victim]
    assert [e["status"] for e in snap if base_of[e["licence_id"]] == victim_row] == ["ACTIVE"]


def test_bad_cursors_and_limits_are_refused_naming_the_field(rt: Runtime) -> None:
    for bad in ("abc", "-1", "1:2"):
        with pytest.raises(InvalidInputError) as caught:
            feed_page(rt, PEER, "BL01", bad)
        assert caught.value.field == "cursor"
    with pytest.raises(InvalidInputError) as caught:
        snapshot_page(rt, PEER, "BL01", "x:1")
    assert caught.value.field == "cursor"
    with pytest.raises(InvalidInputError) as caught:
        feed_page(rt, PEER, "BL01", None, 0)
    assert caught.value.field == "limit"
