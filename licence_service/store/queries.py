"""Finding rows by the identifiers people type: shared by every use case that takes one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.domain.errors import NotFoundError
from licence_service.store.models import Licence, LicenceVersion


def find_licence(s: Session, licence_id: str) -> Licence:
    """The licence named by a full identifier of any version, or by its base id."""
    version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == licence_id))
    licence = version.licence if version else None
    if licence is None:
        licence = s.scalar(select(Licence).where(Licence.base_id == licence_id))
    if licence is None:
        raise NotFoundError(f"no licence {licence_id} in this region", field="licence_id")
    return licence
