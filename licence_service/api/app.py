"""The FastAPI application: routers, error mapping, and the background worker and indexer."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from ledger_client.errors import ChainUnavailableError, ContractRevertError, LedgerError
from licence_service.anchoring.worker import AnchorWorker
from licence_service.api import security
from licence_service.api.body_limits import JsonLimit
from licence_service.api.bounds import overflow_error
from licence_service.api.headers import SecurityHeaders, docs_page, internal_error
from licence_service.api.idempotency import Idempotency
from licence_service.api.routers import (
    audit,
    deadlines,
    federation,
    holders,
    imports,
    licences,
    lifecycle,
    pages,
    people,
    reminders,
    sharing_requests,
    verify,
    wallet,
)
from licence_service.api.routers.exchange import router as exchange_router
from licence_service.api.shared_limits import (
    Leadership,
    SharedTokenBuckets,
    rate_table,
    shared_csrf_secret,
)
from licence_service.domain.errors import ServiceError
from licence_service.notify import delivery_worker
from licence_service.notify.reminders import ReminderJob
from licence_service.region.runtime import Runtime
from licence_service.services.deadlines import DeadlineAlertJob
from licence_service.store.lease import Lease, holder_name
from signing.errors import SigningError
from verifier.errors import VerificationError

log = logging.getLogger(__name__)


def _index_loop(rt: Runtime, stop: threading.Event) -> None:
    """Advance the chain index and the verifier's view of it (never a request's job)."""
    while not stop.is_set():
        try:
            if rt.verifying.freshness > 0:
                rt.verifying.run(stop)  # returns once ``stop`` is set
                return
            rt.indexer.sync()
        except Exception:  # e.g. no deployment yet: retry until there is one
            log.exception("indexer round failed; retrying")
        stop.wait(1.0)


def _anchor_loop(rt: Runtime, stop: threading.Event, leadership: Leadership) -> None:
    """Run the anchoring worker in the one server process holding the data directory's lock
    (the others wait to take over should that process end)."""
    while not stop.is_set():
        if leadership.acquire():
            AnchorWorker(rt).run(stop)
            return
        stop.wait(2.0)


def _notify_loop(rt: Runtime, stop: threading.Event) -> None:
    """Deliver the notification outbox (one process of the region at a time: the ``notify``
    lease; the message claims keep any two apart anyway)."""
    settings = rt.settings.notify
    delivery_worker(rt.sessions, settings).run(stop, interval=settings.interval)


def _push_loop(rt: Runtime, stop: threading.Event) -> None:
    """Push changes to other regions' subscriptions (one process: the ``push`` lease)."""
    from licence_service.federation.subscriptions import push_worker

    while not stop.is_set():
        try:
            push_worker(rt).run(stop, interval=rt.settings.notify.interval)
            return
        except Exception:  # e.g. no agency set up yet: retry until there is one
            log.exception("push worker could not start; retrying")
        stop.wait(5.0)


def _reminder_loop(rt: Runtime, stop: threading.Event) -> None:
    """Enqueue the day's reminders (one process of the region: the ``reminders`` lease)."""
    ReminderJob(rt.sessions, rt.settings.notify).run(stop)


def _deadline_loop(rt: Runtime, stop: threading.Event) -> None:
    """Alert red deadline cards (one process of the region: the ``deadlines`` lease)."""
    DeadlineAlertJob(rt.sessions, rt.settings.deadlines).run(stop)


def _quiet_collector() -> None:
    """Keep the garbage collector's pauses out of the answers' tail latency: everything alive
    once the app is up (modules, the app, the runtime) is frozen out of every later
    collection, and the youngest generation is collected less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def _share_guards(app: FastAPI, rt: Runtime) -> None:
    """Swap the per-process rate buckets and form secret for the data directory's shared ones."""
    app.state.csrf_secret = shared_csrf_secret(rt.settings.home)
    app.state.idle_timeout = rt.settings.session_idle_seconds
    buckets = SharedTokenBuckets(
        rate_table(rt.settings.home), rt.settings.verify_rate_per_minute, rt.settings.verify_burst
    )
    for middleware in app.user_middleware:
        if middleware.cls is security.RateLimit:
            middleware.kwargs["buckets"] = buckets


def create_app(
    rt: Runtime, background: bool = True, shared: bool = False, owns_process: bool = False
) -> FastAPI:
    """The app for one region; ``background`` runs the anchoring worker and the indexer;
    ``shared``: one of several server processes (``serve --workers``), which share the rate
    limit's buckets and the form-token secret through the data directory; ``owns_process``:
    the process serves this app alone (``licledger serve``), so the app may tune the
    process's garbage collector (never in a test or another host process)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads: list[threading.Thread] = []
        leadership = Leadership(rt.settings.home)
        if background:
            # One process of the region indexes the chain; the others follow it (see
            # region.indexing). Requests sync through the same indexer, so they follow too.
            rt.indexer.lease = Lease(rt.sessions, "indexer", holder_name())
            threads = [
                threading.Thread(
                    target=_anchor_loop, args=(rt, stop, leadership), name="anchor", daemon=True
                ),
                threading.Thread(target=_index_loop, args=(rt, stop), name="indexer", daemon=True),
                threading.Thread(target=_notify_loop, args=(rt, stop), name="notify", daemon=True),
                threading.Thread(target=_push_loop, args=(rt, stop), name="push", daemon=True),
                threading.Thread(
                    target=_reminder_loop, args=(rt, stop), name="reminders", daemon=True
                ),
                threading.Thread(
                    target=_deadline_loop, args=(rt, stop), name="deadlines", daemon=True
                ),
            ]
            for t in threads:
                t.start()
        if owns_process:
            _quiet_collector()
        yield
        stop.set()
        for t in threads:
            t.join(timeout=10)
        leadership.release()
        if rt.indexer.lease is not None:
            rt.indexer.lease.release()
            rt.indexer.lease = None

    app = FastAPI(
        title="Licence Ledger",
        version="0.1.0",
        description="Electronic licences as signed PDFs anchored on a permissioned chain.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below, under its own CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    for name in ("pyhanko", "pyhanko_certvalidator"):  # see cli.main
        logging.getLogger(name).setLevel(logging.CRITICAL)
    app.state.runtime = rt
    app.add_middleware(Idempotency, runtime=rt)  # inside the body cap and the rate limit
    settings = rt.settings  # JSON bounded on the raw bytes, inside the body cap (api.body_limits)
    app.add_middleware(
        JsonLimit, max_bytes=settings.max_json_bytes, max_depth=settings.max_json_depth
    )
    security.install(app, rt.settings)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, refusals included
    if shared:
        _share_guards(app, rt)

    api = APIRouter(prefix="/api/v1")
    api.include_router(licences.router)
    api.include_router(imports.router)
    api.include_router(verify.router)
    api.include_router(verify.trust_router)
    api.include_router(lifecycle.router)
    api.include_router(audit.router)
    api.include_router(federation.router)
    api.include_router(sharing_requests.router)
    api.include_router(people.router)
    api.include_router(holders.router)
    api.include_router(exchange_router)
    api.include_router(wallet.router)
    api.include_router(reminders.router)
    api.include_router(deadlines.router)

    @api.get("/health", tags=["health"])
    def health() -> dict[str, object]:
        """Liveness plus the chain head the service sees."""
        try:
            head: int | None = int(rt.w3.eth.block_number)
        except Exception:
            head = None
        return {"status": "ok" if head is not None else "degraded", "block_number": head}

    app.include_router(api)
    app.get("/api/v1/docs", include_in_schema=False)(
        lambda: docs_page(app.openapi_url or "", app.title)
    )
    app.include_router(pages.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/verify")

    app.add_exception_handler(OverflowError, overflow_error)
    app.add_exception_handler(Exception, internal_error)  # a 500 with the headers too

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        wait = getattr(exc, "retry_after", None)  # a limit's 429 says when to try again
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return JSONResponse({"detail": str(exc), "field": exc.field}, exc.status_code, headers)

    @app.exception_handler(VerificationError)
    async def verification_error(_: Request, exc: VerificationError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": "file"}, 422)

    @app.exception_handler(ContractRevertError)
    async def revert_error(_: Request, exc: ContractRevertError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": None}, 409)

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        code = 503 if isinstance(exc, ChainUnavailableError) else 502
        return JSONResponse({"detail": str(exc), "field": None}, code)

    @app.exception_handler(SigningError)
    async def signing_error(_: Request, exc: SigningError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": None}, 500)

    return app
