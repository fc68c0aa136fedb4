"""The demo's own claims, checked: every verdict in its table, twice in a row (how fast it
runs is measured by the benchmarks, not asserted here)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ledger_client.node import AnvilNode
from licence_service.demo.licences import run_demo
from licence_service.people.service import authenticate
from licence_service.store.models import OpLogEntry
from tests.service_fixtures import region_runtime

EXPECTED = {
    "tampered copy": "TAMPERED",
    "after revocation": "REVOKED",
    "old version after amendment": "SUPERSEDED → v002",
    "amended (version 2)": "VALID",
    "suspended": "SUSPENDED",
    "reinstated": "VALID",
    "use-specific copy (办理银行开户)": "VALID",
}


def test_demo_runs_twice_and_every_verdict_is_the_expected_one(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    rt = region_runtime(tmp_path / "home", anvil)
    for _ in range(2):
        report = run_demo(rt, tmp_path / "out", count=6)
        cases = {row["case"]: row["verdict"] for row in report["rows"]}
        issued = [row for row in report["rows"] if row["case"] == "issued"]
        assert len(issued) == 6 and {row["verdict"] for row in issued} == {"VALID"}
        for case, verdict in EXPECTED.items():
            assert cases[case] == verdict, (case, cases[case])
        before = next(v for c, v in cases.items() if c.endswith("(before revocation)"))
        assert before == "VALID"
        assert next(v for c, v in cases.items() if c.startswith("copy at ")) == "EXPIRED"
        assert all(Path(row["pdf"]).exists() for row in report["rows"])
        # its people's credentials work, and its actions are logged under its issuer
        people = {p["username"]: p for p in report["people"]}
        assert set(people) == {"admin", "issuer-hz", "window-hz", "auditor-hz"}
        for row in people.values():
            assert authenticate(rt, row["token"]).username == row["username"]
    with rt.sessions() as s:
        actors = set(s.scalars(select(OpLogEntry.actor).where(OpLogEntry.action == "issue")))
    assert actors == {"issuer-hz@agency:11330100002489458U"}
