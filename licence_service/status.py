"""Status changes of licences, written on-chain first (the chain is what verifiers read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from sqlalchemy import select

from ledger_client.registry import LeafStatus
from licence_service.anchoring import AnchorWorker, member_of
from licence_service.errors import ConflictError, InvalidInputError, NotFoundError
from licence_service.models import Licence, LicenceVersion, OutboxEntry, StatusChange
from licence_service.runtime import Runtime


class ReasonCode(IntEnum):
    """Why a status changed; the code goes on-chain, the free text stays in the database."""

    VIOLATION = 1  # 违法违规
    HOLDER_REQUEST = 2  # 持证人申请
    DATA_ERROR = 3  # 信息有误
    LOST = 4  # 遗失
    EXPIRED = 5  # 期满
    OTHER = 9  # 其他


# What a licence may become from its current status (the contract enforces the same rules).
_ALLOWED: dict[LeafStatus, set[LeafStatus]] = {
    LeafStatus.ACTIVE: {
        LeafStatus.SUSPENDED, LeafStatus.REVOKED, LeafStatus.CANCELLED, LeafStatus.REPORTED_LOST,
    },
    LeafStatus.SUSPENDED: {LeafStatus.ACTIVE, LeafStatus.REVOKED, LeafStatus.CANCELLED},
}  # fmt: skip


@dataclass(frozen=True)
class StatusResult:
    licence_id: str
    status: str
    reason_code: int
    tx_hash: str
    block_number: int
    block_time: datetime


def find_version(rt: Runtime, licence_id: str) -> tuple[int, int]:
    """(licence row id, version row id) for a full identifier, or a base id (current version)."""
    with rt.sessions() as s:
        version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == licence_id))
        if version is not None:
            return version.licence_id, version.id
        licence = s.scalar(select(Licence).where(Licence.base_id == licence_id))
        if licence is None:
            raise NotFoundError(f"no licence {licence_id} in this region", field="licence_id")
        current = s.scalar(
            select(LicenceVersion).where(
                LicenceVersion.licence_id == licence.id,
                LicenceVersion.version == licence.current_version,
            )
        )
        assert current is not None
        return licence.id, current.id


def change_status(
    rt: Runtime,
    licence_id: str,
    to: LeafStatus,
    reason_code: int = ReasonCode.OTHER,
    reason_text: str = "",
    actor: str = "",
) -> StatusResult:
    """Move a licence's current version to ``to``: anchored first, then recorded."""
    if not 0 <= reason_code <= 0xFFFF:
        raise InvalidInputError("reason code must be between 0 and 65535", field="reason_code")
    lic_id, version_id = find_version(rt, licence_id)
    with rt.sessions() as s:
        licence = s.get(Licence, lic_id)
        version = s.get(LicenceVersion, version_id)
        assert licence is not None and version is not None
        if version.version != licence.current_version:
            raise ConflictError(
                f"{version.identifier} is a historical version; act on the current version "
                f"{licence.current_version:03d}",
                field="licence_id",
            )
        current = LeafStatus[licence.status]
        if to not in _ALLOWED.get(current, set()):
            raise ConflictError(
                f"{version.identifier} is {current.name}; it cannot become {to.name}",
                field="status",
            )
        entry = s.scalar(select(OutboxEntry).where(OutboxEntry.version_id == version_id))
        assert entry is not None
        identifier, leaf, agency_code = version.identifier, version.leaf, licence.agency.code
    if entry.state != "anchored":
        AnchorWorker(rt).flush()
    with rt.sessions() as s:
        member = member_of(s, leaf)
    if member is None:
        raise ConflictError(f"{identifier} is not anchored yet; try again shortly")
    registry = rt.registry(rt.agency_account(agency_code))
    event = registry.change_status(leaf, member.batch_id, member.proof, to, int(reason_code))
    block_time = datetime.fromtimestamp(event.timestamp, tz=UTC)
    with rt.sessions.begin() as s:
        licence = s.get(Licence, lic_id)
        assert licence is not None
        licence.status = to.name
        s.add(
            StatusChange(
                version_id=version_id, status=to.name, reason_code=int(reason_code),
                reason_text=reason_text, actor=actor, tx_hash=event.tx.tx_hash,
                block_number=event.tx.block_number, block_time=block_time,
            )
        )  # fmt: skip
    return StatusResult(
        identifier, to.name, int(reason_code), event.tx.tx_hash, event.tx.block_number, block_time
    )
