"""Rows the deadline cards read, written straight into a region's database where making them
for real needs a second member region on the chain (a consent names an active grantee region,
a sharing request an active asking region): the cards' sources read these tables and nothing
else, so the rows are the input, not a stand-in for the code under test."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.region.runtime import Runtime
from licence_service.store.models import Consent, Licence, utcnow
from licence_service.store.sharing_requests import SharingRequest

ASKING_REGION = 440300


def _licence(s: Session, base_id: str) -> Licence:
    return s.scalars(select(Licence).where(Licence.base_id == base_id)).one()


def add_consent(rt: Runtime, base_id: str, valid_until: date, withdrawn: bool = False) -> int:
    """A holder's consent for licence ``base_id`` to region 440300, ending ``valid_until``."""
    with rt.sessions.begin() as s:
        lic = _licence(s, base_id)
        row = Consent(
            consent_hash=os.urandom(32), holder_id=lic.holder_id, licence_id=lic.id,
            grantee_region=ASKING_REGION, purpose="办理银行开户", valid_until=valid_until,
            confirmed_by="window", withdrawn_at=utcnow() if withdrawn else None,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def add_sharing_request(
    rt: Runtime, base_id: str, created_at: datetime, limit: timedelta = timedelta(days=5)
) -> int:
    """Region 440300's pending request for licence ``base_id``, received at ``created_at``."""
    with rt.sessions.begin() as s:
        lic = _licence(s, base_id)
        row = SharingRequest(
            request_hash=os.urandom(32), licence_id=lic.id, leaf=lic.versions[-1].leaf,
            from_region=ASKING_REGION, from_account="0x" + "22" * 20, requested_by="sz-clerk",
            purpose="跨区域经营备案", fields_json="[]", state="PENDING",
            due_at=created_at + limit, uses=0, in_full_json="[]", created_at=created_at,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id
