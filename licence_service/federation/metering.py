"""Metered use (用途可计量): each consent or approved sharing request counts the releases made
under it, up to its cap when it has one.

A use is reserved before the release is anchored, by one conditional UPDATE, so two releases
racing for the last use cannot both pass (the database decides, in every server process);
a release that then fails on the chain gives its use back.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import or_, update
from sqlalchemy.engine import CursorResult

from licence_service.domain.errors import InvalidInputError
from licence_service.region.runtime import Runtime

MAX_CAP = 2**32 - 1  # the chain keeps a cap as uint32


def check_cap(cap: int | None, field: str = "use_cap") -> None:
    """A cap is a whole number of releases, at least one (None: no cap)."""
    if cap is not None and not 1 <= cap <= MAX_CAP:
        raise InvalidInputError(
            f"{field} must be a number of releases from 1 to {MAX_CAP}, or left out for no cap",
            field=field,
        )


class Metered(Protocol):
    """A table with ``id``, ``uses`` and ``use_cap`` columns (consent, sharing request)."""

    id: Any
    uses: Any
    use_cap: Any


def reserve_use(rt: Runtime, model: type[Metered], row_id: int, *where: Any) -> bool:
    """Count one more use of row ``row_id`` unless its cap is reached (or ``where`` fails);
    False when nothing was counted."""
    with rt.sessions.begin() as s:
        result = s.execute(
            update(model)  # type: ignore[arg-type]
            .where(
                model.id == row_id,
                or_(model.use_cap.is_(None), model.uses < model.use_cap),
                *where,
            )
            .values(uses=model.uses + 1)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1


def return_use(rt: Runtime, model: type[Metered], row_id: int) -> None:
    """Give back a use reserved for a release that did not happen."""
    with rt.sessions.begin() as s:
        s.execute(
            update(model)  # type: ignore[arg-type]
            .where(model.id == row_id, model.uses > 0)
            .values(uses=model.uses - 1)
        )
