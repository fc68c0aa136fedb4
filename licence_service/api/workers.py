"""``licledger serve --workers N``: the app each of N uvicorn processes builds for itself.

uvicorn starts every worker from an import string, so the supervising ``serve`` command hands
its settings over in the environment (``LICLEDGER_HOME``, ``LICLEDGER_API_PORT``, …) and each
worker makes its own ``Runtime``: its own database connections, chain client and in-memory
verifier, sharing the database, the rate limit's buckets and the form-token secret
(``api.shared_limits``); one of them, whichever holds the lock, runs the anchoring worker.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from licence_service.api.app import create_app
from licence_service.region.runtime import Runtime
from licence_service.region.settings import ConfigError, Settings, load_settings

WORKERS_ENV = "LICLEDGER_API_WORKERS"


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


def worker_app() -> FastAPI:
    """uvicorn's app factory for one worker process (``factory=True``)."""
    return create_app(Runtime(load_settings()), shared=True, owns_process=True)
