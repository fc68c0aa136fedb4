"""Binding an ``Idempotency-Key`` to the licence its request produced, in the same commit.

The API's idempotency middleware notes, for the request it is running, the row of its key
(``binding``). A use case that records a licence calls ``bind_result`` inside the database
transaction that records it: the key's row gets that licence's answer (201) at once. So
whatever happens next — anchoring fails, the worker is killed, the connection drops — a retry
with the key finds the licence and is answered with it, never issues a second one, and never
learns an error for work that was done. Outside a keyed API request it does nothing.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from licence_service.store.models import IdempotentRequest

BOUND_NOTE = (
    "recorded and queued (PENDING) when this Idempotency-Key was bound to it; "
    "GET the licence for its anchoring"
)


@dataclass(frozen=True)
class Binding:
    row_id: int  # the key's ``IdempotentRequest`` row
    base_url: str  # the request's base URL, ending in "/": the answer's ``pdf_url``


binding: ContextVar[Binding | None] = ContextVar("idempotency_binding", default=None)


class Issued(Protocol):
    @property
    def licence_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def document_digest(self) -> str: ...
    @property
    def leaf(self) -> str: ...


def bound_answer(base_url: str, doc: Issued) -> bytes:
    """The issuance's answer as the API gives it (``IssuedOut``), not anchored yet."""
    answer = {
        "licence_id": doc.licence_id, "version": doc.version,
        "document_digest": doc.document_digest, "leaf": doc.leaf, "anchored": False,
        "tx_hash": None, "batch_id": None,
        "pdf_url": f"{base_url}api/v1/licences/{doc.licence_id}/pdf", "note": BOUND_NOTE,
    }  # fmt: skip
    return json.dumps(answer, ensure_ascii=False).encode()


def bind_result(s: Session, doc: Issued) -> None:
    """Give the running request's key (if any) the answer of ``doc``, in ``s``'s commit."""
    current = binding.get()
    if current is None:
        return
    row = s.get(IdempotentRequest, current.row_id)
    if row is None or row.status_code is not None:
        return
    row.status_code, row.media_type = 201, "application/json"
    row.response = bound_answer(current.base_url, doc)
