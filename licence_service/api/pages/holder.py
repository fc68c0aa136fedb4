"""What the counter shows of a licence's holder, by who is looking.

- Nobody signed in (the public, a citizen's phone): the name masked, as the QR code or the
  PDF's verdict carries it.
- Agency staff of this region (window staff, issuers, agency administrators): the full name
  from this region's records, so the person at the counter can be compared with their papers.
  Only for a verdict the chain confirmed (the agency's signature checked and the document
  anchored): a forged code naming a real licence never reveals anything.
- Auditors and region administrators: masked, as the public (they audit records, not people).
"""

from __future__ import annotations

from sqlalchemy import select

from licence_service.people.identity import PersonInfo
from licence_service.people.service import home_region
from licence_service.region.runtime import Runtime
from licence_service.services.disclosure import (
    PRESENTED_NAME_ROLES,
    record_presentation,
    sees_presented_name,
)
from licence_service.store.models import Licence
from verifier.errors import VerificationError
from verifier.references import split_identifier
from verifier.verdicts import Verdict, VerificationResult

__all__ = ["FULL_NAME_ROLES", "show_holder"]

FULL_NAME_ROLES = PRESENTED_NAME_ROLES  # the disclosure rule's (services.disclosure)
# Verdicts given only after the agency's signature and the anchoring were confirmed.
_CONFIRMED = frozenset(
    {
        Verdict.VALID,
        Verdict.SUPERSEDED,
        Verdict.SUSPENDED,
        Verdict.REVOKED,
        Verdict.CANCELLED,
        Verdict.REPORTED_LOST,
        Verdict.EXPIRED,
    }
)


def show_holder(rt: Runtime, viewer: PersonInfo | None, result: VerificationResult) -> bool:
    """Put the holder's name as ``viewer`` may see it into ``result``; True when it is the
    full name (the page then labels it so)."""
    if viewer is None or not sees_presented_name(viewer):
        return False
    if result.verdict not in _CONFIRMED or not result.licence_id:
        return False
    try:
        base = split_identifier(result.licence_id).base
    except VerificationError:
        return False
    with rt.sessions() as s:
        if viewer.region_code != home_region(s):
            return False
        name = s.scalar(select(Licence.holder_name).where(Licence.base_id == base))
    if name is None:  # another region's licence: this region holds no name for it
        return False
    result.holder_name = name
    record_presentation(rt, viewer, base, "counter: licence presented")
    return True
