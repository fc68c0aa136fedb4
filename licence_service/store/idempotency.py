"""An ``Idempotency-Key``'s row: who runs its request, and the answer bound in the work's commit.

The API's idempotency middleware (``api.idempotency``) writes the key's row before the work
starts, naming the process that runs it (``owner``), and notes the row for the request it runs
(``binding``). While the request runs, that process's :class:`Heartbeat` refreshes the row's
``alive_at``: a retry with the key waits while the owner is alive, and may take the request
over once it is dead (:func:`owner_dead`, :func:`take_over`).

A use case that records its work calls ``bind_result`` (an issuance or amendment) or
``bind_answer`` (a status change) inside the database transaction that records it: the key's
row gets the request's answer in the same commit. So whatever happens next — anchoring fails,
the worker is killed, the connection drops — a retry with the key finds the answer and gets it,
never does the work twice, and never learns an error for work that was done. The bind is
conditional on the row still being this request's (in flight, same owner): if a retry took the
request over meanwhile, the bind raises and the work's transaction rolls back, so the work is
recorded once, by whichever of the two binds first. Outside a keyed API request they do nothing.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Container
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from licence_service.domain.errors import ConflictError
from licence_service.store.models import IdempotentRequest

log = logging.getLogger(__name__)

BOUND_NOTE = (
    "recorded and queued (PENDING) when this Idempotency-Key was bound to it; "
    "GET the licence for its anchoring"
)
HEARTBEAT = 2.0
"""Seconds between an owner's heartbeats on the rows of the requests it runs."""
DEAD_AFTER = timedelta(seconds=20)
"""An owner whose heartbeat is this old is dead (a stalled database or a frozen host included:
ten missed beats). On the owner's own host a vanished process is dead at once."""

Render = Callable[[object], tuple[int, bytes]]


class TakenOverError(ConflictError):
    """The request's key was taken over by a retry (its owner was thought dead): the work's
    transaction rolls back, and the middleware answers the retry's answer, not this error."""


@dataclass(frozen=True)
class Binding:
    row_id: int  # the key's ``IdempotentRequest`` row
    base_url: str  # the request's base URL, ending in "/": the answer's ``pdf_url``
    owner: str  # the process running the request (``owner_name()``)
    licences: bool = False  # the route answers with the licence (``IssuedOut``)
    render: Render | None = None  # the route's answer for a use case's result


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


def _bind(s: Session, current: Binding, status: int, body: bytes) -> None:
    """The key's row gets ``status``/``body`` in ``s``'s commit if the request is still this
    process's; if a retry took it over, raise (the work's transaction rolls back)."""
    done = s.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.id == current.row_id)
        .where(IdempotentRequest.status_code.is_(None))
        .where(IdempotentRequest.owner == current.owner)
        .values(status_code=status, media_type="application/json", response=body)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 1) != 1:
        row = s.get(IdempotentRequest, current.row_id)
        log.warning(
            "not binding request %s of %s: its row is %s (owner %s, alive_at %s)",
            current.row_id, current.owner,
            "gone" if row is None else f"answered {row.status_code}"
            if row.status_code is not None else "in flight",
            None if row is None else row.owner, None if row is None else row.alive_at,
        )  # fmt: skip
        raise TakenOverError(
            "a retry with this Idempotency-Key took the request over; it answers it",
            field="Idempotency-Key",
        )


def bind_result(s: Session, doc: Issued) -> None:
    """Give the running request's key (if any, on a licence route) the answer of ``doc``,
    in ``s``'s commit."""
    current = binding.get()
    if current is None or not current.licences:
        return
    _bind(s, current, 201, bound_answer(current.base_url, doc))


def bind_answer(s: Session, result: object) -> None:
    """Give the running request's key (if any) the route's answer for ``result``, in ``s``'s
    commit. A route whose answer ``result`` is not (e.g. a use case inside another) binds
    nothing here."""
    current = binding.get()
    if current is None or current.render is None:
        return
    try:
        status, body = current.render(result)
    except ValueError:  # pydantic's ValidationError: not this route's answer
        log.debug("not binding %r: not the route's answer", type(result).__name__)
        return
    _bind(s, current, status, body)


# ---------------------------------------------------------------------------- ownership

_NAME: tuple[int, str] | None = None
_NAME_LOCK = threading.Lock()


def owner_name() -> str:
    """This process: ``host:pid:token`` (made anew after a fork). Made under a lock: the first
    requests after a start call this from several threads at once, and two tokens made for one
    process had a row owned by a name the process no longer answered to — its bind was refused
    (409 "a retry took the request over" with no retry sent) and its heartbeat never beat it."""
    global _NAME
    pid = os.getpid()
    name = _NAME
    if name is not None and name[0] == pid:
        return name[1]
    with _NAME_LOCK:
        if _NAME is None or _NAME[0] != pid:
            _NAME = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
        return _NAME[1]


def _pid_gone(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def owner_dead(
    row: IdempotentRequest, running: Container[int] = (), now: datetime | None = None
) -> bool:
    """Is the process that runs ``row``'s request gone (its heartbeat too old, or on this
    host its process has exited)? A row of this process's own is dead only if no request of
    this process runs it (``running``: the rows its :class:`Heartbeat` holds) — a stalled
    heartbeat never makes a request of this same process look dead to a retry beside it."""
    if row.owner is not None and row.owner == owner_name():
        return row.id not in running
    seen = row.alive_at or row.created_at
    seen = seen.replace(tzinfo=seen.tzinfo or UTC)
    if (now or datetime.now(UTC)) - seen > DEAD_AFTER:
        return True
    return row.owner is not None and _pid_gone(row.owner)


def take_over(s: Session, row: IdempotentRequest, new_owner: str | None = None) -> bool:
    """Make this process (or ``new_owner``) the owner of ``row``'s request if it is still in
    flight exactly as it was seen dead: the same owner *and* the same ``alive_at``. An owner
    whose heartbeat landed between the look and the take is alive, and keeps its request (one
    of several waiting retries wins too)."""
    owner, alive_at = IdempotentRequest.owner, IdempotentRequest.alive_at
    done = s.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.id == row.id)
        .where(IdempotentRequest.status_code.is_(None))
        .where(owner.is_(None) if row.owner is None else owner == row.owner)
        .where(alive_at.is_(None) if row.alive_at is None else alive_at == row.alive_at)
        .values(owner=new_owner or owner_name(), alive_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    taken = getattr(done, "rowcount", 0) == 1
    log.warning(
        "%s request %s of %s (alive_at %s, dead) for %s",
        "taking over" if taken else "not taking over (changed meanwhile)",
        row.id, row.owner, row.alive_at, new_owner or owner_name(),
    )  # fmt: skip
    return taken


class Heartbeat:
    """One thread per process refreshing ``alive_at`` of the rows of the requests it runs."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, row_id: int) -> None:
        with self._lock:
            self._held.add(row_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="idem-beat", daemon=True)
                self._thread.start()

    def __contains__(self, row_id: object) -> bool:
        with self._lock:
            return row_id in self._held

    def release(self, row_id: int) -> None:
        with self._lock:
            self._held.discard(row_id)

    def _beat(self) -> None:
        stop = threading.Event()
        while not stop.wait(HEARTBEAT):
            self.beat()

    def beat(self) -> None:
        """One heartbeat: ``alive_at`` of every row this process holds is now."""
        with self._lock:
            held = sorted(self._held)
        if not held:
            return
        try:
            with self._sessions.begin() as s:
                s.execute(
                    update(IdempotentRequest)
                    .where(IdempotentRequest.id.in_(held))
                    .where(IdempotentRequest.owner == owner_name())
                    .where(IdempotentRequest.status_code.is_(None))
                    .values(alive_at=datetime.now(UTC))
                    .execution_options(synchronize_session=False)
                )
        except Exception:  # a database hiccup: the next beat tries again
            log.warning("idempotency heartbeat failed", exc_info=True)
