"""`licledger`: one entry point for chain, set-up, issuing, status changes, verifying, serving.

Exit codes: 0 success (or VALID), 1 a valid but negative answer (a verdict other than VALID),
2 a usage or system error, always with a one-line message and never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ledger_client.errors import LedgerError
from ledger_client.registry import LeafStatus
from licence_service.config import ConfigError, Settings, load_settings
from licence_service.errors import ServiceError
from licence_service.issuance import IssueRequest
from licence_service.runtime import Runtime
from signing.errors import SigningError
from verifier.errors import VerificationError
from verifier.verdicts import VerificationResult

app = typer.Typer(
    name="licledger",
    help="Licence Ledger: signed licence PDFs anchored on a permissioned chain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
chain_app = typer.Typer(help="Run the embedded chain node.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LICLEDGER_HOME",
        help="Folder holding everything the region keeps (default ./.licledger).",
        show_default=False,
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

F = TypeVar("F", bound=Callable[..., Any])


class ExitWith(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def handled(fn: F) -> F:
    """Turn every expected error into a readable message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ExitWith as exc:
            raise typer.Exit(exc.code) from None
        except ServiceError as exc:
            where = f" [{exc.field}]" if exc.field else ""
            _fail(f"{exc}{where}")
        except (LedgerError, SigningError, VerificationError, ConfigError, OSError) as exc:
            _fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            _fail("interrupted")
        return None

    return wrapper  # type: ignore[return-value]


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def _runtime(data_dir: Path | None) -> Runtime:
    return Runtime(load_settings(data_dir))


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


# ---------------------------------------------------------------------------- chain


@chain_app.command("up")
@handled
def chain_up_cmd(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="RPC port (default 8545).")] = None,
    as_json: JsonOut = False,
) -> None:
    """Start the embedded anvil node (persistent state) and deploy the contracts once."""
    from licence_service.setup import chain_up

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
        _print_json(info)
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
    rt = _runtime(data_dir)
    stopped = rt.node.stop()
    out.print("chain stopped" if stopped else "chain was not running")


@chain_app.command("status")
@handled
def chain_status_cmd(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Block height, contract addresses and node process."""
    rt = _runtime(data_dir)
    info: dict[str, Any] = {"rpc_url": rt.settings.rpc_url, "pid": rt.node.pid()}
    info["block_number"] = int(rt.w3.eth.block_number)
    info["chain_id"] = rt.settings.chain_id
    info["registry"] = rt.deployment.registry
    info["batches"] = rt.registry().batch_count()
    if as_json:
        _print_json(info)
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
    as_json: JsonOut = False,
) -> None:
    """Set up the region authority and an issuing agency (starts the chain if needed)."""
    from licence_service.setup import chain_up, init_region

    rt = _runtime(data_dir)
    chain_up(rt)
    agency = init_region(rt, region_code, region_name, agency_code, agency_name)
    info = {
        "agency_code": agency.code,
        "agency_name": agency.name,
        "region_code": agency.region_code,
        "chain_address": agency.chain_address,
        "certificate_sha256": agency.cert_fingerprint,
    }
    if as_json:
        _print_json(info)
    else:
        out.print(f"agency {agency.name} ({agency.code}) of region {agency.region_code} ready")


# ---------------------------------------------------------------------------- licences


def _parse_fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ServiceError(f"--field {pair!r} is not KEY=VALUE", field="field")
        fields[key.strip()] = value
    return fields


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{name} {value!r} is not a date like 2026-03-01", field=name) from None


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
    from licence_service.operations import issue_licence

    rt = _runtime(data_dir)
    req = IssueRequest(
        type_code=licence_type,
        holder_name=holder_name,
        holder_id=holder_id,
        fields=_parse_fields(field or []),
        valid_from=_parse_date(valid_from, "valid_from"),
        valid_until=_parse_date(valid_until, "valid_until"),
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
        _print_json(info)
        return
    for k, v in info.items():
        out.print(f"{k:>15}: {v}", highlight=False)


_REASONS = {"violation": 1, "holder-request": 2, "data-error": 3, "lost": 4, "other": 9}


@app.command("revoke")
@handled
def revoke_cmd(
    licence_id: Annotated[str, typer.Argument(help="Licence identifier (or base id).")],
    reason: Annotated[str, typer.Option(help="Why it is revoked (free text, kept off-chain).")],
    code: Annotated[
        str, typer.Option(help="Reason category: " + ", ".join(_REASONS))
    ] = "violation",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Revoke a licence (terminal); anchored on-chain with its reason code."""
    from licence_service.status import change_status

    if code not in _REASONS:
        raise ServiceError(f"--code must be one of {', '.join(_REASONS)}", field="code")
    rt = _runtime(data_dir)
    res = change_status(rt, licence_id, LeafStatus.REVOKED, _REASONS[code], reason, actor="cli")
    info = {
        "licence_id": res.licence_id,
        "status": res.status,
        "reason_code": res.reason_code,
        "tx_hash": res.tx_hash,
        "block_number": res.block_number,
        "block_time": res.block_time.isoformat(),
    }
    if as_json:
        _print_json(info)
    else:
        out.print(f"{res.licence_id} REVOKED in block {res.block_number} (tx {res.tx_hash})")


# ---------------------------------------------------------------------------- verify


def _parse_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError(f"--at {value!r} is not a time like 2026-03-01T00:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    from licence_service.operations import verify_pdf, verify_qr

    if (file is None) == (qr is None):
        raise ServiceError("give either a PDF file or --qr PAYLOAD", field="file")
    when = _parse_at(at)
    rt = _runtime(data_dir)
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ServiceError(f"cannot read {file}: {exc.strerror}", field="file") from None
        result = verify_pdf(rt, data, when, direct)
    else:
        assert qr is not None
        result = verify_qr(rt, qr, when, direct)
    if as_json:
        _print_json(result.to_json())
    else:
        _print_result(result)
    raise ExitWith(0 if result.ok else 1)


def _print_result(result: VerificationResult) -> None:
    colour = "green" if result.ok else "red"
    out.print(f"[bold {colour}]{result.verdict}[/]  {result.reason}", highlight=False)
    for label, value in (
        ("licence", result.licence_id),
        ("holder", result.holder_name),
        ("issuer", f"{result.issuer} ({result.issuer_code})" if result.issuer else None),
        ("anchored", result.anchored_at and f"{result.anchored_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("anchor tx", result.anchor_tx),
    ):
        if value:
            out.print(f"  {label:>9}: {value}", highlight=False)
    for check in result.checks:
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[yellow]?[/]"}[check.ok]
        out.print(f"  {mark} {check.name:<9} {check.detail}", highlight=False)


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
    from licence_service.demo import run_demo

    report = run_demo(_runtime(data_dir), out_dir, count, console=None if as_json else out)
    if as_json:
        _print_json(report)


def main() -> None:
    # pyHanko logs a full traceback when it cannot build a certificate path; for us that is an
    # ordinary UNKNOWN_ISSUER verdict, explained in the checks, so keep the terminal clean.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    app()


if __name__ == "__main__":
    main()
