"""``licledger serve --workers N``: the app each of N uvicorn processes builds for itself.

uvicorn starts every worker from an import string, so the supervising ``serve`` command hands
its settings over in the environment (``LICLEDGER_HOME``, ``LICLEDGER_API_PORT``, …) and each
worker makes its own ``Runtime``: its own database connections, chain client and in-memory
verifier, sharing the database, the rate limit's buckets and the form-token secret
(``api.shared_limits``); one of them, whichever holds the lock, runs the anchoring worker.

The process tree dies together: a worker whose supervising ``serve`` ends — ``kill -9``
included, which gives the master no chance to stop its workers — must not go on holding the
listening socket (a restart then failed with "Address already in use"). Each worker asks the
kernel for SIGTERM when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), refuses to start
if the master is already gone, and watches its parent's pid as a fallback (other systems, or a
signal lost): orphaned, it stops gracefully, and hard after :data:`ORPHAN_GRACE` seconds.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

from fastapi import FastAPI

from licence_service.api.app import create_app
from licence_service.region.runtime import Runtime
from licence_service.region.settings import ConfigError, Settings, load_settings

WORKERS_ENV = "LICLEDGER_API_WORKERS"
MASTER_ENV = "LICLEDGER_SERVE_MASTER_PID"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
ORPHAN_GRACE = 5.0  # seconds a graceful stop may take once the master is gone


def default_workers() -> int:
    """``LICLEDGER_API_WORKERS``, else one server process per core (2 to 4): verification is
    CPU-bound Python, so one process per core keeps every core busy; beyond 4 the database,
    not Python, sets the pace."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 64:
            raise ConfigError(f"{WORKERS_ENV}={raw!r} must be a whole number from 1 to 64")
        return int(raw)
    return max(2, min(4, os.cpu_count() or 1))


def hand_over(settings: Settings) -> None:
    """Put what the workers must agree on into the environment they inherit."""
    os.environ["LICLEDGER_HOME"] = str(Path(settings.home))
    os.environ["LICLEDGER_API_HOST"] = settings.api_host
    os.environ["LICLEDGER_API_PORT"] = str(settings.api_port)
    os.environ.setdefault("LICLEDGER_PUBLIC_URL", settings.public_url)
    os.environ[MASTER_ENV] = str(os.getpid())


def _ask_kernel_for_sigterm() -> None:
    """SIGTERM to this process when its parent dies (Linux; elsewhere the watch alone)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch_parent(master: int, interval: float = 0.5) -> None:
    """Once the parent is no longer ``master``: SIGTERM (uvicorn stops gracefully: it closes
    the listening socket first), then a hard exit after :data:`ORPHAN_GRACE` seconds."""
    while os.getppid() == master:
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE)
    os._exit(1)


def bind_to_master() -> None:
    """Make this worker end with its ``serve`` master (see the module)."""
    raw = os.environ.get(MASTER_ENV, "")
    if not raw.isdigit():
        return  # not started by ``serve --workers``
    _ask_kernel_for_sigterm()
    master = int(raw)
    if os.getppid() != master:  # the master died while this worker was importing
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(master,), name="parent-watch", daemon=True).start()


def fork_workers() -> None:
    """Start uvicorn's workers by ``fork`` from this master, which has imported the whole app
    already, instead of ``spawn`` (a fresh interpreter importing it all again): measured on 2
    shared cores, a restart after ``kill -9`` served in 6.5 s with spawned workers (each
    re-imported the stack, both at once). The master touches no database or chain before the
    fork (``Runtime`` opens them lazily), so a worker inherits no connection. uvicorn keeps its
    start method in ``uvicorn._subprocess.spawn`` (uvicorn is pinned in requirements.lock).

    Everything imported so far is frozen out of the garbage collector here, once, in the
    master: each worker's start-up collection (``api.app._quiet_collector``) then scans only
    what the worker made itself, instead of both workers walking (and copying, page by page)
    the whole inherited heap at once — 0.9-1.6 s of a loaded restart."""
    import gc
    import multiprocessing

    gc.collect()
    gc.freeze()

    from uvicorn import _subprocess

    if "fork" in multiprocessing.get_all_start_methods():
        _subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]


_PREBUILT: FastAPI | None = None
_OPENED = ("sessions", "w3", "field_key", "passphrase", "_nonce_lock")
"""``Runtime`` parts (cached on first use) that hold a connection, a key or a lock: a worker
must open its own, never inherit the master's."""


def prebuild(rt: Runtime) -> None:
    """Build the workers' app here in the master, before the fork, so each worker starts
    serving without building its own (0.2-0.5 s each on a loaded 2-core machine, both at
    once). Kept only if building it opened none of :data:`_OPENED`; otherwise each worker
    builds its own as before."""
    global _PREBUILT
    app = create_app(rt, shared=True, owns_process=True)
    opened = [name for name in _OPENED if name in vars(rt)]
    _PREBUILT = None if opened else app


def worker_app() -> FastAPI:
    """uvicorn's app factory for one worker process (``factory=True``)."""
    bind_to_master()
    if _PREBUILT is not None:
        return _PREBUILT
    return create_app(Runtime(load_settings()), shared=True, owns_process=True)
