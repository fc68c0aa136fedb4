"""The paged change feed and the first-sync snapshot (issue 22, point 6), on both databases.

A client pages through the feed while the region writes between its requests (issuances and
a status change): it sees every licence version and status change once, in number order,
never one twice. In PostgreSQL a transaction that took its row before another but commits
after it is not jumped over (the sequencer numbers changes after commit). A snapshot paged
while the region writes, then the feed from its ``feed_cursor``, gives every licence's
current state with each change once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from ledger_client.registry import LeafStatus
from licence_service.domain.errors import InvalidInputError
from licence_service.federation.auth import Caller
from licence_service.federation.change_feed import feed_page
from licence_service.federation.snapshot import snapshot_page
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.status import change_status
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.exchange import FeedChange
from licence_service.store.field_key import FieldKey
from licence_service.store.models import Licence, LicenceVersion, StatusChange
from licence_service.store.schema import alembic_config, upgrade
from licence_service.store.sequencing import sequence
from tests.service_fixtures import business_request

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


@pytest.mark.contract
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


@pytest.mark.contract
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


@pytest.mark.contract
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


@pytest.mark.contract
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


@pytest.mark.contract
def test_paging_beside_a_concurrent_writer_sees_each_change_once(rt: Runtime) -> None:
    """A thread issues while the client pages as fast as it can: the same guarantee."""
    _, cursor = _drain(rt, None)
    issued: list[str] = []
    writer = threading.Thread(target=lambda: issued.extend(_issue(rt) for _ in range(6)))
    writer.start()
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while writer.is_alive() and time.monotonic() < deadline:
        page = feed_page(rt, PEER, "BL01", cursor, 1)
        seen += page["items"]
        cursor = page["cursor"]
    writer.join(60)
    rest, _ = _drain(rt, cursor)
    seen += rest
    assert [e["licence_id"] for e in seen] == issued  # each once, in the order committed
    assert [e["seq"] for e in seen] == sorted({e["seq"] for e in seen})


@pytest.mark.unit
def test_the_migration_numbers_the_changes_made_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # a database at 0017: a licence, amended, then suspended
        command.upgrade(alembic_config(conn), "0017")
        conn.execute(text(
            "INSERT INTO agency (id, code, name, region_code, region_name, chain_address, "
            "cert_pem, cert_fingerprint, created_at) VALUES (1, 'A', 'x', 330100, 'x', '0x1', "
            "'-', 'ab', '2026-01-01')"))  # fmt: skip
        conn.execute(text(
            "INSERT INTO licence (id, base_id, type_code, agency_id, serial, holder_name, "
            "holder_id_type, holder_id, current_version, status, created_at) VALUES (1, 'L', "
            "'BL01', 1, 1, 'x', 'uscc', 'x', 2, 'SUSPENDED', '2026-01-01')"))  # fmt: skip
        for vid, day in ((1, "2026-01-01"), (2, "2026-02-01")):
            conn.execute(text(
                "INSERT INTO licence_version (id, licence_id, version, identifier, fields_json, "
                "salts_json, data_root, issue_date, valid_from, valid_until, document_digest, "
                "pdf_path, kind, key, leaf, parent_leaf, qr_payload, link_state, created_at) "
                "VALUES (:v, 1, :v, :i, '{}', '{}', x'00', :d, :d, '2030-01-01', x'00', 'p', 0, "
                ":k, :k, x'00', 'q', 'none', :d)"),
                {"v": vid, "i": f"L.{vid}", "d": day, "k": bytes([vid])})  # fmt: skip
        conn.execute(text(
            "INSERT INTO status_change (id, version_id, status, reason_code, reason_text, actor, "
            "tx_hash, block_number, block_time, created_at) VALUES (1, 2, 'SUSPENDED', 1, '', "
            "'', '0x', 1, '2026-03-01', '2026-03-01')"))  # fmt: skip
    upgrade(engine)
    sessions = make_sessions(make_engine(url), FieldKey(tmp_path / "field.key"))
    with sessions() as s:
        rows = [(c.seq, c.version_id, c.kind, c.status)
                for c in s.scalars(select(FeedChange).order_by(FeedChange.seq))]  # fmt: skip
    assert rows == [(1, 1, "issued", "ACTIVE"), (2, 2, "amended", "ACTIVE"),
                    (3, 2, "status", "SUSPENDED")]  # fmt: skip
    with sessions.begin() as s:  # the next change is numbered after them
        s.add(FeedChange(licence_id=1, version_id=2, kind="status", status="ACTIVE"))
    assert sequence(sessions) == 4
