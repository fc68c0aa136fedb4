"""Bounded integers for every integer a request carries (path, query, body).

Why: Python integers have no limit, the databases' do (SQLite and PostgreSQL keep a signed
64-bit integer; SQLite raises ``OverflowError`` for a larger one), and so do the contracts
(a region code is a ``uint32``, a directory proposal id a ``uint256``). A number out of
range is refused here with a 422 naming the parameter, before any use case sees it; the
app also maps a stray ``OverflowError`` to a 422 (:func:`overflow_error`), so no integer
ever turns into a 500.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Request
from fastapi.responses import JSONResponse

__all__ = ["MAX_DB_INT", "BlockNumber", "ProposalId", "RegionCode", "RowId", "overflow_error"]

MAX_DB_INT = 2**63 - 1
"""The largest integer SQLite and PostgreSQL (``bigint``) store."""

RowId = Annotated[int, Ge(1), Le(MAX_DB_INT)]
"""A database row's id or a copy's serial: 1 up to the databases' largest integer."""
BlockNumber = Annotated[int, Ge(0), Le(MAX_DB_INT)]
"""A chain block number."""
RegionCode = Annotated[int, Ge(0), Le(2**32 - 1)]
"""A region (division) code as the directory stores it (``uint32``)."""
ProposalId = Annotated[int, Ge(0), Le(2**256 - 1)]
"""A directory proposal id (``uint256``)."""


async def overflow_error(_: Request, exc: Exception) -> JSONResponse:
    """A number too large for where it was going (a typed bound was missed somewhere): the
    caller's input, so a 422, never a 500."""
    return JSONResponse(
        {"detail": f"a number in the request is out of range: {exc}", "field": None}, 422
    )
