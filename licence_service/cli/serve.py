"""`licledger serve`, `demo` and `demo-regions`: the HTTP service and the demos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from licence_service.cli.common import (
    DataDir,
    JsonOut,
    app,
    handled,
    out,
    print_json,
    runtime,
)
from licence_service.region.runtime import Runtime
from licence_service.region.settings import Settings, load_settings

# ---------------------------------------------------------------------------- serving


@app.command("serve")
@handled
def serve_cmd(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default 8600).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Server processes sharing the database, the rate limit and one anchoring "
            "worker (default: LICLEDGER_API_WORKERS, else one per core, 2 to 4; 1 serves in "
            "this process).",
            min=1,
            max=64,
        ),
    ] = None,
) -> None:
    """Serve the HTTP API and pages, with the anchoring worker and indexer running inside."""
    import uvicorn

    from licence_service.api.app import create_app
    from licence_service.api.http_limits import PROTOCOL
    from licence_service.api.shared_limits import prepare_shared
    from licence_service.api.workers import default_workers, fork_workers, hand_over, prebuild
    from licence_service.region.verifying import freshness_from_env

    count = default_workers() if workers is None else workers
    freshness_from_env()  # a bad LICLEDGER_VERIFY_FRESHNESS_SECONDS: exit 2 now, not a 500 later
    overrides: dict[str, Any] = {}
    if host:
        overrides["api_host"] = host
    if port:
        overrides["api_port"] = port
    settings: Settings = load_settings(data_dir, **overrides)
    rt = Runtime(settings)  # refuses a bad data directory or passphrase source before serving
    if count == 1:
        uvicorn.run(
            create_app(rt, owns_process=True),
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            http=PROTOCOL,  # request heads bounded in size, count and time (api.http_limits)
        )
        return
    hand_over(settings)
    prepare_shared(settings.home)
    prebuild(rt)  # the workers' app, built once here (it opens no connection)
    fork_workers()  # the workers start from this process's imports: a restart serves at once
    uvicorn.run(
        "licence_service.api.workers:worker_app",
        factory=True,
        workers=count,
        # a worker imports the whole stack before it answers uvicorn's first health check
        # (10-20 s on a loaded 2-core machine): the 5 s default restarts it forever
        timeout_worker_healthcheck=120,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        http=PROTOCOL,
    )


@app.command("demo")
@handled
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo's PDFs go.")] = Path(
        "demo-out"
    ),
    count: Annotated[int, typer.Option(help="How many licences to issue.")] = 20,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Issue, anchor, verify, tamper and revoke on the embedded defaults; print a table."""
    from licence_service.demo.licences import run_demo

    report = run_demo(runtime(data_dir), out_dir, count, console=None if as_json else out)
    if as_json:
        print_json(report)


@app.command("demo-regions")
@handled
def demo_regions_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the PDF goes.")] = Path("demo-out"),
    data_dir: DataDir = None,
    as_json: JsonOut = False,
    crypto_b: Annotated[
        str,
        typer.Option(
            "--crypto-b",
            help="Crypto suite of region B (深圳): intl (as region A) or sm (a mixed consortium).",
        ),
    ] = "intl",
) -> None:
    """Second demo: a licence issued in one region is verified and shared in another; each
    region verifies the other's PDF and QR code from the chain alone."""
    from licence_service.demo.regions import run_regions_demo

    report = run_regions_demo(
        runtime(data_dir), out_dir, console=None if as_json else out, crypto_b=crypto_b
    )
    if as_json:
        print_json(report)
