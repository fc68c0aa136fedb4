"""Status changes of licences and of their attachments, written on-chain first.

The chain is what verifiers read, so a change is recorded in the database only after its
transaction is mined. High-risk operations named by the licence type (cancellations of some
types) wait for M-of-N approvals of named agencies, each approval anchored on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import IntEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger_client.registry import LeafStatus
from licence_service.anchoring.members import member_of
from licence_service.audit import oplog
from licence_service.domain.errors import ConflictError, InvalidInputError, NotFoundError
from licence_service.domain.licence_types import get_licence_type
from licence_service.domain.states import OutboxState, ReviewState
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole
from licence_service.region.runtime import Runtime
from licence_service.services.anchor_step import anchor_all
from licence_service.services.attachments import record_approval
from licence_service.store.idempotency import bind_answer
from licence_service.store.models import (
    Agency,
    Approval,
    Attachment,
    Licence,
    OutboxEntry,
    ReviewRequest,
    StatusChange,
)
from licence_service.store.queries import find_licence


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
# An attachment (e.g. a use-specific copy) can only be revoked on its own.
_ALLOWED_ATTACHMENT: dict[LeafStatus, set[LeafStatus]] = {LeafStatus.ACTIVE: {LeafStatus.REVOKED}}


@dataclass(frozen=True)
class StatusAction:
    """A status change a person asks for by name, with the reason code it defaults to."""

    to: LeafStatus
    default_code: ReasonCode
    help: str


STATUS_ACTIONS: dict[str, StatusAction] = {
    "suspend": StatusAction(
        LeafStatus.SUSPENDED, ReasonCode.VIOLATION, "Suspend a licence (挂起, reversible)."
    ),
    "reinstate": StatusAction(
        LeafStatus.ACTIVE, ReasonCode.OTHER, "Reinstate a suspended licence."
    ),
    "revoke": StatusAction(
        LeafStatus.REVOKED, ReasonCode.VIOLATION,
        "Revoke a licence or a use-specific copy (撤销, terminal).",
    ),
    "cancel": StatusAction(
        LeafStatus.CANCELLED, ReasonCode.HOLDER_REQUEST,
        "Cancel a licence (注销, terminal; some types need joint review first).",
    ),
    "report-lost": StatusAction(
        LeafStatus.REPORTED_LOST, ReasonCode.LOST,
        "Report a licence lost (挂失); re-issue it with `amend --category reissue`.",
    ),
}  # fmt: skip
"""The one table of named status changes: the CLI's commands and the API's actions."""


def status_action(name: str) -> StatusAction:
    """The named action, or an error listing the names there are."""
    if name not in STATUS_ACTIONS:
        raise InvalidInputError(
            f"action must be one of {', '.join(STATUS_ACTIONS)}", field="action"
        )
    return STATUS_ACTIONS[name]


def apply_action(
    rt: Runtime, licence_id: str, action: str, reason: str, code: int | None = None,
    actor: str = "",
) -> StatusResult:  # fmt: skip
    """The status-change use case by action name (suspend, revoke, ...)."""
    chosen = status_action(action)
    reason_code = chosen.default_code if code is None else code
    return change_status(rt, licence_id, chosen.to, reason_code, reason, actor=actor)


@dataclass(frozen=True)
class StatusResult:
    licence_id: str
    status: str
    reason_code: int
    tx_hash: str | None
    block_number: int | None
    block_time: datetime | None
    review_id: int | None = None
    approvals: int = 0
    required: int = 0


@dataclass(frozen=True)
class _Target:
    identifier: str
    licence_id: int
    version_id: int
    attachment_id: int | None
    leaf: bytes
    status: LeafStatus
    agency_code: str


def _target(s: Session, identifier: str) -> _Target:
    if "/" in identifier:
        att = s.scalar(select(Attachment).where(Attachment.identifier == identifier))
        if att is None:
            raise NotFoundError(f"no attachment {identifier} in this region", "licence_id")
        version = att.version
        licence = version.licence
        return _Target(
            att.identifier, licence.id, version.id, att.id, att.leaf,
            LeafStatus[att.status], licence.agency.code,
        )  # fmt: skip
    licence = find_licence(s, identifier)
    current = licence.versions[-1]
    if identifier not in (licence.base_id, current.identifier):
        raise ConflictError(
            f"{identifier} is a historical version; act on the current version "
            f"{current.identifier}",
            field="licence_id",
        )
    return _Target(
        current.identifier, licence.id, current.id, None, current.leaf,
        LeafStatus[licence.status], licence.agency.code,
    )  # fmt: skip


def change_status(
    rt: Runtime,
    licence_id: str,
    to: LeafStatus,
    reason_code: int = ReasonCode.OTHER,
    reason_text: str = "",
    actor: str = "",
    review: tuple[int, int, int] | None = None,
) -> StatusResult:
    """Move a licence's current version (or an attachment) to ``to``; anchored, then recorded.

    A cancellation that the licence type puts under joint review opens a review instead and
    returns with ``review_id`` set and no transaction. ``review`` (id, approvals, required):
    the change executes that review, marked EXECUTED in the change's own commit.

    The running request's ``Idempotency-Key`` is bound to the answer in the commit that
    records the change (``store.idempotency``): a retry after a 5xx, a dropped connection or
    a killed worker gets this answer, never "is REVOKED".
    """
    reviewed = review is not None
    if not 0 <= reason_code <= 0xFFFF:
        raise InvalidInputError("reason code must be between 0 and 65535", field="reason_code")
    with rt.sessions() as s:
        target = _target(s, licence_id)
        allowed = _ALLOWED_ATTACHMENT if target.attachment_id else _ALLOWED
        if to not in allowed.get(target.status, set()):
            raise ConflictError(
                f"{target.identifier} is {target.status.name}; it cannot become {to.name}",
                field="status",
            )
        if to is LeafStatus.CANCELLED and not reviewed and target.attachment_id is None:
            licence = s.get(Licence, target.licence_id)
            assert licence is not None
            rule = get_licence_type(licence.type_code).cancellation_review
            if rule is not None:
                return _open_review(rt, licence, rule, reason_code, reason_text)
        entry = s.scalar(select(OutboxEntry).where(OutboxEntry.leaf == target.leaf))
        anchored = entry is not None and entry.state == OutboxState.ANCHORED
    if not anchored:
        anchor_all(rt)
    with rt.sessions() as s:
        member = member_of(s, target.leaf)
    if member is None:
        raise ConflictError(f"{target.identifier} is not anchored yet; try again shortly")
    registry = rt.registry(rt.agency_account(target.agency_code))
    event = registry.change_status(target.leaf, member.batch_id, member.proof, to, int(reason_code))
    block_time = datetime.fromtimestamp(event.timestamp, tz=UTC)
    with rt.sessions.begin() as s:
        if target.attachment_id is not None:
            att = s.get(Attachment, target.attachment_id)
            assert att is not None
            att.status = to.name
        else:
            licence = s.get(Licence, target.licence_id)
            assert licence is not None
            licence.status = to.name
        oplog.record(s, f"status:{to.name}", target.identifier, reason_code=int(reason_code),
                     reason=reason_text, tx=event.tx.tx_hash)  # fmt: skip
        s.add(
            StatusChange(
                version_id=target.version_id, attachment_id=target.attachment_id,
                status=to.name, reason_code=int(reason_code), reason_text=reason_text,
                actor=actor, tx_hash=event.tx.tx_hash, block_number=event.tx.block_number,
                block_time=block_time,
            )
        )  # fmt: skip
        result = StatusResult(
            target.identifier, to.name, int(reason_code), event.tx.tx_hash,
            event.tx.block_number, block_time,
        )  # fmt: skip
        if review is not None:
            review_id, count, required = review
            row = s.get(ReviewRequest, review_id)
            assert row is not None
            row.state = ReviewState.EXECUTED
            result = replace(result, review_id=review_id, approvals=count, required=required)
        bind_answer(s, result)  # the request's Idempotency-Key, if any: a retry gets this
    return result


# ---------------------------------------------------------------------------- joint review


def _open_review(
    rt: Runtime,
    licence: Licence,
    rule: tuple[int, tuple[str, ...]],
    reason_code: int,
    reason_text: str,
) -> StatusResult:
    required, approvers = rule
    with rt.sessions.begin() as s:
        open_ = s.scalar(
            select(ReviewRequest).where(
                ReviewRequest.licence_id == licence.id, ReviewRequest.state == ReviewState.PENDING
            )
        )
        if open_ is not None:
            raise ConflictError(
                f"a cancellation of {licence.base_id} is already under review (#{open_.id})",
                field="licence_id",
            )
        review = ReviewRequest(
            licence_id=licence.id, action="CANCEL", required=required,
            approvers_json=json.dumps(list(approvers)), reason_code=reason_code,
            reason_text=reason_text,
        )  # fmt: skip
        s.add(review)
        s.flush()
        review_id = review.id
        oplog.record(s, "review:open", licence.base_id, review=review_id, operation="CANCEL")
    current = licence.versions[-1].identifier
    return StatusResult(
        current, "PENDING_REVIEW", reason_code, None, None, None, review_id, 0, required
    )


def approve(rt: Runtime, review_id: int, person: PersonInfo, note: str = "") -> StatusResult:
    """Record one approval by ``person`` for their own agency (anchored); the M-th approval
    executes the action.

    The approving agency is the person's, never a parameter: a review needs distinct persons
    of distinct named agencies, so one person (or two of one agency) never counts twice.
    """
    agency_code = person.agency_code
    if PersonRole.ISSUER not in person.roles or agency_code is None:
        raise PermissionDeniedError(
            f"{person.label} may not approve reviews (needs the issuer role of an agency)",
            field="person",
        )
    with rt.sessions.begin() as s:
        review = s.get(ReviewRequest, review_id)
        if review is None:
            raise NotFoundError(f"no review #{review_id}", field="review_id")
        if review.state != ReviewState.PENDING:
            raise ConflictError(f"review #{review_id} is already {review.state}", "review_id")
        approvers = json.loads(review.approvers_json)
        if agency_code not in approvers:
            raise PermissionDeniedError(
                f"agency {agency_code} of {person.label} is not one of the approvers of "
                f"review #{review_id} ({', '.join(approvers)})",
                field="agency",
            )
        licence = review.licence
        # the approval that made the count, sent again by its person after the review's
        # execution failed (a retry): carry the execution out, never "already approved"
        resume = len(review.approvals) >= review.required and any(
            given.person == person.label for given in review.approvals
        )
        if not resume:
            for given in review.approvals:
                if given.person == person.label or given.agency_code == agency_code:
                    raise ConflictError(
                        f"agency {agency_code} has already approved review #{review_id} "
                        f"(by {given.person}); the other named agencies must approve",
                        field="agency",
                    )
            approver = s.scalar(select(Agency).where(Agency.code == agency_code))
            if approver is None:
                raise NotFoundError(f"agency {agency_code} is not set up in this region", "agency")
            data = {
                "review": str(review.id),
                "action": review.action,
                "licence_leaf": licence.versions[-1].leaf.hex(),
                "approver": agency_code,
                "approved_by": person.label,
                "decision": "approve",
                "note": note,
            }
            attachment_id, _ = record_approval(rt, s, licence, approver, data)
            review.approvals.append(
                Approval(agency_code=agency_code, person=person.label, attachment_id=attachment_id)
            )
            oplog.record(s, "review:approve", licence.base_id, review=review.id, agency=agency_code,
                         person=person.label)  # fmt: skip
        s.flush()
        count, required = len(review.approvals), review.required
        licence_base, reason_code, reason_text = (
            licence.base_id, review.reason_code, review.reason_text,
        )  # fmt: skip
        pending = StatusResult(
            licence_base, "PENDING_REVIEW", reason_code, None, None, None, review_id,
            count, required,
        )  # fmt: skip
        if count < required:  # the request's Idempotency-Key: a retry never approves twice
            bind_answer(s, pending)  # (the executing approval binds in the change's commit)
    anchor_all(rt)  # the approval is anchored before anything it allows happens
    if count < required:
        return pending
    return change_status(
        rt, licence_base, LeafStatus.CANCELLED, reason_code, reason_text,
        f"joint review #{review_id}", review=(review_id, count, required),
    )  # fmt: skip


def reviews(rt: Runtime, state: str | None = ReviewState.PENDING) -> list[dict[str, object]]:
    """Reviews (pending by default) with who approved and who may still approve."""
    with rt.sessions() as s:
        query = select(ReviewRequest).order_by(ReviewRequest.id)
        if state:
            query = query.where(ReviewRequest.state == state)
        out: list[dict[str, object]] = []
        for r in s.scalars(query):
            approved = [a.agency_code for a in r.approvals]
            out.append({
                "review_id": r.id, "licence": r.licence.base_id, "action": r.action,
                "state": r.state, "required": r.required, "approved_by": approved,
                "approved_by_people": [a.person for a in r.approvals],
                "waiting_for": [c for c in json.loads(r.approvers_json) if c not in approved],
                "reason": r.reason_text, "created_at": r.created_at.isoformat(),
            })  # fmt: skip
        return out
