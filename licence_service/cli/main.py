"""`licledger`: one entry point for chain, set-up, issuing, status changes, verifying, serving.

Exit codes: 0 success (or VALID), 1 a valid but negative answer (a verdict other than VALID),
2 a usage or system error, always with a one-line message and never a traceback.
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from licence_service.audit import oplog
from licence_service.cli import (  # noqa: F401 - register commands
    audit,
    bench,
    bulk,
    federation,
    lifecycle,
    people,
)
from licence_service.cli.common import (
    CaKey,
    DataDir,
    ExitWith,
    JsonOut,
    app,
    chain_app,
    handled,
    out,
    parse_at,
    parse_date,
    parse_fields,
    print_json,
    read_input,
    runtime,
)
from licence_service.cli.setup import run_init
from licence_service.domain.errors import ServiceError
from licence_service.region.runtime import Runtime
from licence_service.region.settings import Settings, load_settings
from licence_service.services.issue import IssueRequest
from verifier.verdicts import VerificationResult

# ---------------------------------------------------------------------------- chain


@chain_app.command("up")
@handled
def chain_up_cmd(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="RPC port (default 8545).")] = None,
    as_json: JsonOut = False,
) -> None:
    """Start the embedded anvil node (persistent state) and deploy the contracts once."""
    from licence_service.region.bootstrap import chain_up

    settings = load_settings(data_dir, **_port_overrides(port))
    result = chain_up(Runtime(settings))
    info = {
        "rpc_url": settings.rpc_url,
        "started": result.started_node,
        "deployed": result.deployed,
        "registry": result.registry,
        "block_number": result.block_number,
        "data_dir": str(settings.home),
    }
    if as_json:
        print_json(info)
        return
    state = "started" if result.started_node else "already running"
    out.print(f"chain {state} at {settings.rpc_url}, block {result.block_number}")
    out.print(f"LicenceRegistry {result.registry}{' (deployed now)' if result.deployed else ''}")


def _port_overrides(port: int | None) -> dict[str, Any]:
    if port is None:
        return {}
    return {"chain_port": port, "rpc_url": f"http://127.0.0.1:{port}", "embedded_chain": True}


@chain_app.command("down")
@handled
def chain_down_cmd(data_dir: DataDir = None) -> None:
    """Stop the embedded node gracefully (its state is saved)."""
    rt = runtime(data_dir)
    stopped = rt.node.stop()
    out.print("chain stopped" if stopped else "chain was not running")


@chain_app.command("status")
@handled
def chain_status_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Block height, contract addresses and node process."""
    rt = runtime(data_dir)
    info: dict[str, Any] = {"rpc_url": rt.settings.rpc_url, "pid": rt.node.pid()}
    info["block_number"] = int(rt.w3.eth.block_number)
    info["chain_id"] = rt.settings.chain_id
    info["registry"] = rt.deployment.registry
    info["batches"] = rt.registry().batch_count()
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        out.print(f"{k:>13}: {v}")


# ---------------------------------------------------------------------------- set-up


@app.command("init")
@handled
def init_cmd(
    data_dir: DataDir = None,
    region_code: Annotated[str, typer.Option(help="6-digit division code.")] = "330100",
    region_name: Annotated[str, typer.Option(help="Region name.")] = "杭州市",
    agency_code: Annotated[
        str, typer.Option(help="Agency unified social credit code.")
    ] = "11330100002489458U",
    agency_name: Annotated[str, typer.Option(help="Agency name.")] = "杭州市市场监督管理局",
    ca_key: CaKey = None,
    as_json: JsonOut = False,
    admin: Annotated[
        str, typer.Option(help="Username of the first region administrator.")
    ] = "admin",
) -> None:
    """Set up the region authority and an issuing agency (starts the chain if needed); the
    first run also creates the region administrator and prints their one-time credentials."""
    run_init(data_dir, region_code, region_name, agency_code, agency_name, ca_key, as_json, admin)


# ---------------------------------------------------------------------------- licences


@app.command("issue")
@handled
def issue_cmd(
    licence_type: Annotated[str, typer.Option("--type", help="Licence type code, e.g. BL01.")],
    holder_name: Annotated[str, typer.Option(help="Holder's name.")],
    holder_id: Annotated[str, typer.Option(help="Citizen ID or unified social credit code.")],
    field: Annotated[
        list[str] | None, typer.Option("--field", help="Face field KEY=VALUE (repeat).")
    ] = None,
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
    valid_until: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default by type).")] = None,
    agency: Annotated[str | None, typer.Option(help="Issuing agency code.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return before anchoring.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Issue a licence as a signed PDF and anchor it (waits unless --no-wait)."""
    from licence_service.services.views import issue_licence

    rt = runtime(data_dir)
    req = IssueRequest(
        type_code=licence_type,
        holder_name=holder_name,
        holder_id=holder_id,
        fields=parse_fields(field or []),
        valid_from=parse_date(valid_from, "valid_from"),
        valid_until=parse_date(valid_until, "valid_until"),
        agency_code=agency,
    )
    doc = issue_licence(rt, req, wait=not no_wait)
    info = {
        "licence_id": doc.licence_id,
        "version": doc.version,
        "pdf": str(doc.pdf_path),
        "document_digest": doc.document_digest,
        "leaf": doc.leaf,
        "anchored": doc.anchored,
        "tx_hash": doc.tx_hash,
        "batch_id": doc.batch_id,
    }
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        out.print(f"{k:>15}: {v}", highlight=False)


# ---------------------------------------------------------------------------- verify


@app.command("verify")
@handled
def verify_cmd(
    file: Annotated[Path | None, typer.Argument(help="Licence PDF to verify.")] = None,
    qr: Annotated[str | None, typer.Option("--qr", help="QR payload or status URL.")] = None,
    at: Annotated[str | None, typer.Option(help="Verify as of this UTC time.")] = None,
    direct: Annotated[
        bool, typer.Option("--direct", help="Also read contract state, not only the index.")
    ] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Verify a licence PDF or QR payload: exit 0 VALID, 1 any other verdict, 2 error."""
    from licence_service.services.views import verify_pdf, verify_qr

    if (file is None) == (qr is None):
        raise ServiceError("give either a PDF file or --qr PAYLOAD", field="file")
    when = parse_at(at)
    rt = runtime(data_dir)
    if file is not None:
        result = verify_pdf(rt, read_input(file, "file"), when, direct)
    else:
        assert qr is not None
        result = verify_qr(rt, qr, when, direct)
    if as_json:
        print_json(result.to_json())
    else:
        _print_result(result)
    raise ExitWith(0 if result.ok else 1)


def _print_result(result: VerificationResult) -> None:
    colour = "green" if result.ok else "red"
    out.print(f"[bold {colour}]{result.verdict}[/]  {escape(result.reason)}", highlight=False)
    for label, value in (
        ("as of", result.as_of and f"{result.as_of:%Y-%m-%d %H:%M:%S} UTC (not now)"),
        ("document", result.document_note),
        ("licence", result.licence_id),
        ("type", result.type_name or result.type_code),
        ("holder", result.holder_name),
        ("grade", result.trust_grade),
        ("issuer", f"{result.issuer} ({result.issuer_code})" if result.issuer else None),
        ("anchored", result.anchored_at and f"{result.anchored_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("anchor tx", result.anchor_tx),
        ("valid to", result.valid_until),
        (
            "current",
            result.extra.get("current_version")
            and f"version {result.extra['current_version']:03d}",
        ),
        *((k, v) for k, v in result.extra.get("attachment", {}).items()),
    ):
        if value:
            out.print(f"  {label:>9}: {value}", highlight=False, markup=False)
    for check in result.checks:
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[yellow]?[/]"}[check.ok]
        out.print(f"  {mark} {check.name:<9} {escape(check.detail)}", highlight=False)


# ---------------------------------------------------------------------------- serve & demo


@app.command("serve")
@handled
def serve_cmd(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default 8600).")] = None,
) -> None:
    """Serve the HTTP API and pages, with the anchoring worker and indexer running inside."""
    import uvicorn

    from licence_service.api.app import create_app

    overrides: dict[str, Any] = {}
    if host:
        overrides["api_host"] = host
    if port:
        overrides["api_port"] = port
    settings: Settings = load_settings(data_dir, **overrides)
    uvicorn.run(
        create_app(Runtime(settings)),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
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
) -> None:
    """Second demo: a licence issued in one region is verified and shared in another."""
    from licence_service.demo.regions import run_regions_demo

    report = run_regions_demo(runtime(data_dir), out_dir, console=None if as_json else out)
    if as_json:
        print_json(report)


def main() -> None:
    # pyHanko logs a full traceback when it cannot build a certificate path; for us that is an
    # ordinary UNKNOWN_ISSUER verdict, explained in the checks, so keep the terminal clean.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    oplog.set_actor(f"cli:{getpass.getuser()}", os.environ.get("LICLEDGER_ROLE", "agency"))
    app()


if __name__ == "__main__":
    main()
