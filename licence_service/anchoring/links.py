"""The on-chain parent → child links of amended versions, written once both are anchored.

A link names two anchored members (batch and index), so it waits for both batches; the
anchoring worker writes what is ready after each round. Kept apart from the worker: it is
its own small state machine (``LinkState``) with its own crash case.
"""

from __future__ import annotations

from sqlalchemy import select

from ledger_client.errors import ContractRevertError
from licence_service.anchoring.members import member_of
from licence_service.anchoring.reconcile import agency_registry
from licence_service.domain.states import LinkState
from licence_service.region.runtime import Runtime
from licence_service.store.models import LicenceVersion

CHANGE_REASON_CODES = {"change": 10, "correction": 11, "reissue": 12}
"""Reason codes of version links on-chain, by change category."""


def link_versions(rt: Runtime) -> None:
    """Write the on-chain parent → child link of every amended version now anchored."""
    with rt.sessions() as s:
        pending = [
            (v.id, v.parent_leaf, v.leaf, v.licence.agency_id, v.change_category)
            for v in s.scalars(
                select(LicenceVersion).where(LicenceVersion.link_state == LinkState.PENDING)
            )
        ]
    for version_id, parent, child, agency_id, category in pending:
        with rt.sessions() as s:
            parent_m, child_m = member_of(s, parent), member_of(s, child)
        if parent_m is None or child_m is None:
            continue  # not anchored yet: next round
        registry = agency_registry(rt, agency_id)
        try:
            registry.supersede(parent_m, child_m, CHANGE_REASON_CODES.get(category or "", 10))
        except ContractRevertError as exc:
            # A crash after the link was mined but before it was recorded: already done.
            if not (exc.name == "SuccessorAlreadySet" and registry.successor_of(parent) == child):
                raise
        with rt.sessions.begin() as s:
            row = s.get(LicenceVersion, version_id)
            assert row is not None
            row.link_state = LinkState.LINKED
