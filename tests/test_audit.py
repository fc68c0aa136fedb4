"""Auditor replay: the history rebuilt from the chain matches the database, and every kind of
tampering is reported with the right licence and kind."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from ledger_client import merkle
from ledger_client.node import AnvilNode, NodeConfig
from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.audit import oplog
from licence_service.audit.replay import ReplayResult, replay
from licence_service.audit.summary import report_json, state_at
from licence_service.region.bootstrap import chain_up, init_region
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services import issue_licence
from licence_service.services.amend import Amendment, amend
from licence_service.services.attachments import make_copy
from licence_service.services.issue import issue
from licence_service.services.status import change_status
from licence_service.store.models import Licence, LicenceVersion, OpLogEntry, OutboxEntry
from tests.chain_fixtures import free_port
from tests.service_fixtures import business_request, region_runtime


def populate(rt: Runtime) -> list[str]:
    ids = [issue_licence(rt, business_request()).licence_id for _ in range(4)]
    amend(rt, ids[0], Amendment({"注册资本": "900万元"}, "change", "增资"))
    AnchorWorker(rt).flush()
    change_status(rt, ids[1], LeafStatus.REVOKED, 1, "吊销")
    make_copy(rt, ids[2], "开户", "某银行", datetime.now(UTC).date() + timedelta(days=5))
    AnchorWorker(rt).flush()
    return ids


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> tuple[Path, list[str]]:
    """One populated region per module; each test tampers with a copy of its data directory.

    The copies share the region's contracts, so a test that anchors anything new on-chain
    would show up in the others' replays: such tests take a ``fresh`` region instead.
    """
    home = tmp_path_factory.mktemp("populated") / "region"
    ids = populate(region_runtime(home, anvil))
    return home, ids


@pytest.fixture
def rt(populated: tuple[Path, list[str]], tmp_path: Path, anvil: AnvilNode) -> Runtime:
    shutil.copytree(populated[0], tmp_path / "region")
    return region_runtime(tmp_path / "region", anvil)


@pytest.fixture
def ids(populated: tuple[Path, list[str]]) -> list[str]:
    return populated[1]


@pytest.fixture
def fresh(tmp_path: Path, anvil: AnvilNode) -> Runtime:
    return region_runtime(tmp_path / "fresh", anvil)


def kinds(result: ReplayResult) -> set[tuple[str, str]]:
    return {(d.kind, d.licence) for d in result.discrepancies}


def test_replay_of_an_honest_region_is_consistent(rt: Runtime, ids: list[str]) -> None:
    result = replay(rt)
    assert result.consistent, result.discrepancies
    report = report_json(rt, result)
    assert report["summary"]["licences"] == 4
    assert report["summary"]["version_links"] == 1
    assert report["summary"]["status_changes"] >= 2  # revocation + supersede
    assert report["operation_log"]["breaks"] == 0 and report["operation_log"]["anchored_heads"] > 0
    first = next(lic for lic in report["licences"] if ids[0].startswith(lic["licence"]))
    assert [v["version"] for v in first["versions"]] == [1, 2]
    assert first["versions"][0]["status"] == "SUPERSEDED" and first["versions"][0]["tx"]
    json.dumps(report)  # serialisable
    states = {row["licence"]: row["status"] for row in state_at(rt, datetime.now(UTC))}
    assert sorted(states.values()) == ["ACTIVE", "ACTIVE", "ACTIVE", "REVOKED"]
    long_ago = state_at(rt, datetime(2000, 1, 1, tzinfo=UTC))
    assert {row["status"] for row in long_ago} == {"NOT_ISSUED"}


def test_edited_face_field_is_reported(rt: Runtime, ids: list[str]) -> None:
    with rt.sessions.begin() as s:
        v = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == ids[3]))
        assert v is not None
        fields = json.loads(v.fields_json)
        fields["注册资本"] = "1亿元"
        v.fields_json = json.dumps(fields, ensure_ascii=False)
    result = replay(rt)
    assert ("DATA_CHANGED", ids[3]) in kinds(result)
    found = next(d for d in result.discrepancies if d.kind == "DATA_CHANGED")
    assert found.since is not None and found.leaf


def test_deleted_or_rewritten_operation_log_is_reported(rt: Runtime) -> None:
    with rt.sessions.begin() as s:
        victim = s.scalars(select(OpLogEntry).order_by(OpLogEntry.seq)).all()[3]
        s.execute(delete(OpLogEntry).where(OpLogEntry.seq == victim.seq))
    assert any(d.kind == "OPLOG_BROKEN" for d in replay(rt).discrepancies)


def test_rewritten_operation_log_with_fresh_hashes_is_caught_by_the_anchored_heads(
    rt: Runtime,
) -> None:
    with rt.sessions.begin() as s:
        rows = s.scalars(select(OpLogEntry).order_by(OpLogEntry.seq)).all()
        rows[2].actor = "someone-else"
        prev = oplog.GENESIS
        for row in rows:  # a careful forger recomputes the whole chain
            row.prev_hash = prev
            row.hash = oplog.entry_hash(prev, row)
            prev = row.hash
    result = replay(rt)
    assert not any(d.kind == "OPLOG_BROKEN" for d in result.discrepancies)
    assert any(d.kind == "OPLOG_HEAD_MISMATCH" for d in result.discrepancies)


def test_dropped_outbox_entry_is_reported(fresh: Runtime) -> None:
    rt = fresh  # the worker anchors an operation-log head: new on-chain data
    populate(rt)
    doc = issue(rt, business_request())
    with rt.sessions.begin() as s:
        s.execute(delete(OutboxEntry).where(OutboxEntry.leaf == bytes.fromhex(doc.leaf)))
    AnchorWorker(rt).flush()
    assert ("NEVER_QUEUED", doc.licence_id) in kinds(replay(rt))


def test_leaf_anchored_behind_the_services_back_is_reported(fresh: Runtime) -> None:
    rt = fresh
    populate(rt)
    with rt.sessions() as s:
        code = rt.agency(s).code
    key, body = bytes(15) + b"\x07", bytes(32)
    rt.registry(rt.agency_account(code)).anchor([key], [body])
    rogue = merkle.leaf_of(merkle.agency_id(code), key, body)
    result = replay(rt)
    unknown = [d for d in result.discrepancies if d.kind == "UNKNOWN_LEAF"]
    assert [d.leaf for d in unknown] == [rogue.hex()]


def test_status_differing_from_the_chain_is_reported(rt: Runtime, ids: list[str]) -> None:
    with rt.sessions.begin() as s:
        base = ids[1].rsplit(".", 2)[0]
        s.execute(update(Licence).where(Licence.base_id == base).values(status="ACTIVE"))
    found = [d for d in replay(rt).discrepancies if d.kind == "STATUS_MISMATCH"]
    assert [d.licence for d in found] == [ids[1]]
    assert "REVOKED" in found[0].detail


def test_database_claims_anchored_but_chain_has_nothing(rt: Runtime) -> None:
    doc = issue(rt, business_request())
    with rt.sessions.begin() as s:
        s.execute(
            update(OutboxEntry)
            .where(OutboxEntry.leaf == bytes.fromhex(doc.leaf))
            .values(state="anchored")
        )
    assert ("NOT_ON_CHAIN", doc.licence_id) in kinds(replay(rt))


@pytest.fixture
def own_chain(tmp_path: Path) -> Iterator[tuple[Runtime, AnvilNode]]:
    port = free_port()
    node = AnvilNode(NodeConfig(directory=tmp_path / "chain", port=port))
    settings = load_settings(
        tmp_path / "home", chain_port=port, rpc_url=f"http://127.0.0.1:{port}",
        embedded_chain=False,
    )  # fmt: skip
    node.start()
    rt = Runtime(settings)
    chain_up(rt)
    init_region(rt)
    yield rt, node
    node.stop()


@pytest.mark.e2e  # runs a chain node of its own, restarted
def test_replay_after_a_chain_restart_gives_the_same_report(
    own_chain: tuple[Runtime, AnvilNode],
) -> None:
    rt, node = own_chain
    populate(rt)
    before = report_json(rt, replay(rt))
    node.stop()
    node.start()
    after_rt = Runtime(rt.settings)
    after = report_json(after_rt, replay(after_rt))
    for key in ("summary", "discrepancies", "licences", "operation_log", "fingerprint"):
        if key == "summary":
            drop = ("seconds", "events_per_second")
            assert {k: v for k, v in before[key].items() if k not in drop} == {
                k: v for k, v in after[key].items() if k not in drop
            }
        else:
            assert before[key] == after[key], key
    # the service's own index also survives the restart without gaps or duplicates
    after_rt.indexer.sync()
    assert (
        after_rt.verifier()
        .verify_pdf(Path(issue_licence(after_rt, business_request()).pdf_path).read_bytes())
        .ok
    )


def test_audit_cli_exit_codes_and_reports(rt: Runtime, ids: list[str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from licence_service.cli.main import app

    home = ["--data-dir", str(rt.settings.home)]
    env = {
        "LICLEDGER_RPC_URL": rt.settings.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(rt.settings.chain_port),
    }
    runner = CliRunner()
    files = [tmp_path / "r.json", tmp_path / "r.html", tmp_path / "r.pdf"]
    args = ["audit", "replay", *home]
    for f in files:
        args += ["--report", str(f)]
    ok = runner.invoke(app, args, env=env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(files[0].read_text())["consistent"] is True
    assert "<svg" in files[1].read_text() and files[2].read_bytes().startswith(b"%PDF")
    with rt.sessions.begin() as s:
        v = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == ids[3]))
        assert v is not None
        v.fields_json = v.fields_json.replace("100万元", "1万元")
    bad = runner.invoke(app, ["audit", "replay", *home], env=env)
    assert bad.exit_code == 1 and "DATA_CHANGED" in bad.output
    csv = tmp_path / "s.csv"
    stats = runner.invoke(app, ["audit", "stats", *home, "--csv", str(csv)], env=env)
    assert stats.exit_code == 0 and csv.read_text().startswith("period,region")
    assert len(csv.read_text().splitlines()) > 1
    only = [*home, "--csv", str(csv), "--type", "XX01", "--from", "2000-01"]
    assert runner.invoke(app, ["audit", "stats", *only], env=env).exit_code == 0
    assert csv.read_text().splitlines() == ["period,region,agency,type,issued,amended,revoked,"
                                             "suspended,cancelled,copies,shares"]  # fmt: skip
    people = runner.invoke(app, ["audit", "oplog", *home, "--json"], env=env)
    assert people.exit_code == 0, people.output
    actor = json.loads(people.output)[0]
    assert actor["actions"] >= 1
    mine = runner.invoke(
        app, ["audit", "oplog", *home, "--json", "--actor", actor["actor"]], env=env
    )
    rows = json.loads(mine.output)
    assert len(rows) == min(actor["actions"], 200) and {r["actor"] for r in rows} == {
        actor["actor"]
    }
    wrong = runner.invoke(
        app, ["audit", "replay", *home, "--report", str(tmp_path / "r.txt")], env=env
    )
    assert wrong.exit_code == 2
