"""The incremental exchange feed another region pulls: what changed since a time.

The feed itself carries only what the chain shows anyway (identifiers, version, status and
leaves). Personal data (holder name and ID, face fields) leaves the region only for a licence
whose holder consented to the calling region for the purpose the caller names, and then
through :func:`~licence_service.federation.sharing.release` — masked per the consent, logged
in the operation log and receipted on-chain, exactly like a single ``/release``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from licence_service.domain.licence_types import get_licence_type
from licence_service.federation.auth import Caller
from licence_service.federation.sharing import find_consent, release
from licence_service.region.runtime import Runtime
from licence_service.store.models import Licence, LicenceVersion, StatusChange


def changes_since(
    rt: Runtime, caller: Caller, type_code: str, since: datetime, purpose: str | None = None
) -> list[dict[str, Any]]:
    """Licences of a type created, amended or changed in status since ``since``.

    Every entry has the licence identifier, version, status and current leaf. With a
    ``purpose``, an entry whose holder consented to the caller's region for it also carries
    ``data``: the released (masked) fields and the on-chain receipt of that release.
    """
    ltype = get_licence_type(type_code)
    wanted = (purpose or "").strip()
    entries: list[tuple[dict[str, Any], bool]] = []
    with rt.sessions() as s:
        changed = set(
            s.scalars(select(LicenceVersion.licence_id).where(LicenceVersion.created_at >= since))
        ) | set(
            s.scalars(
                select(LicenceVersion.licence_id)
                .join(StatusChange, StatusChange.version_id == LicenceVersion.id)
                .where(StatusChange.block_time >= since)
            )
        )
        for licence in s.scalars(
            select(Licence)
            .where(Licence.id.in_(changed), Licence.type_code == ltype.code)
            .order_by(Licence.id)
        ):
            v = licence.versions[-1]
            entry: dict[str, Any] = {
                "licence_id": v.identifier,
                "version": v.version,
                "status": licence.status,
                "leaf": v.leaf.hex(),
                "changed_since": since.isoformat(),
            }
            covered = bool(
                wanted
                and ltype.shareable_fields
                and find_consent(s, licence, caller.region, wanted) is not None
            )
            entries.append((entry, covered))
    out = []
    for entry, covered in entries:
        if covered:
            data = release(rt, caller, entry["licence_id"], wanted)
            entry["data"] = {k: data[k] for k in ("fields", "masked", "withheld", "receipt")}
        out.append(entry)
    return out
