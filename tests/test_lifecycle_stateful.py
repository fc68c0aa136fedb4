"""Random sequences of lifecycle operations: after every step the service's view, the chain's
view (read back directly from the contract) and a simple reference model agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.domain.errors import ConflictError, InvalidInputError
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.amend import Amendment, amend
from licence_service.services.attachments import copy_cap, make_copy
from licence_service.services.status import change_status
from licence_service.store.models import Licence
from tests.service_fixtures import business_request
from verifier.verdicts import Verdict

VERDICT = {
    "ACTIVE": Verdict.VALID,
    "SUSPENDED": Verdict.SUSPENDED,
    "REVOKED": Verdict.REVOKED,
    "CANCELLED": Verdict.CANCELLED,
    "REPORTED_LOST": Verdict.REPORTED_LOST,
}
MOVES = {
    "suspend": ({"ACTIVE"}, LeafStatus.SUSPENDED),
    "reinstate": ({"SUSPENDED"}, LeafStatus.ACTIVE),
    "revoke": ({"ACTIVE", "SUSPENDED"}, LeafStatus.REVOKED),
    "cancel": ({"ACTIVE", "SUSPENDED"}, LeafStatus.CANCELLED),
    "report_lost": ({"ACTIVE"}, LeafStatus.REPORTED_LOST),
}


@dataclass
class Model:
    base_id: str
    status: str = "ACTIVE"
    leaves: list[bytes] = field(default_factory=list)  # one per version
    pdfs: list[Path] = field(default_factory=list)
    reissued_from_lost: set[int] = field(default_factory=set)  # version indexes lost then reissued
    history: list[tuple[int, str, int]] = field(default_factory=list)  # (chain time, status, ver)
    copies: int = 0
    capital: str = "100万元"  # the face field the amendments change (issued as in BUSINESS_FIELDS)


class LifecycleMachine(RuleBasedStateMachine):
    licences = Bundle("licences")

    def __init__(self, rt: Runtime) -> None:
        super().__init__()
        self.rt = rt
        self.models: dict[str, Model] = {}
        self.touched: str | None = None  # the licence the last step acted on

    # ------------------------------------------------------------------ helpers
    def _chain_time(self) -> int:
        return int(self.rt.w3.eth.get_block("latest")["timestamp"])

    def _tick(self) -> None:  # test fixture only: anvil's clock
        self.rt.w3.provider.make_request("evm_increaseTime", [2])  # type: ignore[arg-type]

    def _record(self, m: Model) -> None:
        self._tick()
        self.rt.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        m.history.append((self._chain_time(), m.status, len(m.leaves)))

    # ------------------------------------------------------------------ rules
    @rule(target=licences)
    def issue(self) -> str:
        doc = issue_licence(self.rt, business_request())
        m = Model(doc.base_id, leaves=[bytes.fromhex(doc.leaf)], pdfs=[doc.pdf_path])
        self.models[doc.base_id] = m
        self._record(m)
        self.touched = doc.base_id
        return doc.base_id

    @rule(base=licences, move=st.sampled_from(sorted(MOVES)))
    def status_change(self, base: str, move: str) -> None:
        m = self.models[base]
        self.touched = base
        allowed, to = MOVES[move]
        if m.status not in allowed:
            with pytest.raises(ConflictError):
                change_status(self.rt, base, to, 1, move)
            return
        self._tick()
        change_status(self.rt, base, to, 1, move)
        m.status = to.name
        self._record(m)

    @rule(base=licences, capital=st.integers(1, 999))
    def amend_or_reissue(self, base: str, capital: int) -> None:
        m = self.models[base]
        self.touched = base
        lost = m.status == "REPORTED_LOST"
        category = "reissue" if lost else "change"
        amendment = Amendment({"注册资本": f"{capital}万元"}, category, "stateful")
        if m.status not in ("ACTIVE", "REPORTED_LOST"):
            with pytest.raises(ConflictError):
                amend(self.rt, base, amendment)
            return
        if f"{capital}万元" == m.capital and not lost:  # a change that changes nothing
            with pytest.raises(InvalidInputError, match="changes nothing"):
                amend(self.rt, base, amendment)
            return
        self._tick()
        doc = amend(self.rt, base, amendment)
        AnchorWorker(self.rt).flush()
        if lost:
            m.reissued_from_lost.add(len(m.leaves) - 1)
        m.leaves.append(bytes.fromhex(doc.leaf))
        m.pdfs.append(doc.pdf_path)
        m.status = "ACTIVE"
        m.capital = f"{capital}万元"
        self._record(m)

    @rule(base=licences)
    def copy(self, base: str) -> None:
        m = self.models[base]
        self.touched = base
        until = datetime.now(UTC).date() + timedelta(days=10)
        if m.status != "ACTIVE" or m.copies >= copy_cap():
            with pytest.raises(ConflictError):
                make_copy(self.rt, base, "用途", "接收方", until)
            return
        res = make_copy(self.rt, base, "用途", "接收方", until)
        m.copies += 1
        AnchorWorker(self.rt).flush()
        assert res.pdf_path
        data = Path(res.pdf_path).read_bytes()
        assert self.rt.verifier().verify_pdf(data).verdict is Verdict.VALID

    @rule(base=consumes(licences), data=st.data())
    def look_back(self, base: str, data: st.DataObject) -> None:
        """Point-in-time: the current PDF's verdict at a past moment matches the model then."""
        m = self.models[base]
        when, status, versions = data.draw(st.sampled_from(m.history))
        at = datetime.fromtimestamp(when, tz=UTC)
        pdf = m.pdfs[versions - 1]
        got = self.rt.verifier().verify_pdf(pdf.read_bytes(), at).verdict
        assert got is VERDICT[status], (status, got)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def service_chain_and_model_agree(self) -> None:
        registry = self.rt.registry()
        verifier = self.rt.verifier()
        with self.rt.sessions() as s:
            rows = {r.base_id: r for r in s.scalars(select(Licence))}
            for base, m in self.models.items():
                row = rows[base]
                assert row.status == m.status
                assert row.current_version == len(m.leaves)
                current = m.leaves[-1]
                assert registry.leaf_status(current).status.name == m.status
                assert registry.successor_of(current) is None
                for i, leaf in enumerate(m.leaves[:-1]):
                    assert registry.successor_of(leaf) == m.leaves[i + 1]
                    expected = "REPORTED_LOST" if i in m.reissued_from_lost else "SUPERSEDED"
                    assert registry.leaf_status(leaf).status.name == expected
        if self.touched is not None:  # the full verifier on the licence the step acted on
            m = self.models[self.touched]
            got = verifier.verify_pdf(m.pdfs[-1].read_bytes()).verdict
            assert got is VERDICT[m.status]


def test_lifecycle_state_machine(rt: Runtime) -> None:
    run_state_machine_as_test(
        lambda: LifecycleMachine(rt),
        settings=settings(
            # PostgreSQL runs the same machine, with fewer examples to keep the suite short
            max_examples=6 if rt.settings.database_url.startswith("sqlite") else 3,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
