"""`licledger init`, `issue` and `verify`: setting a region up, issuing, checking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from licence_service.cli.common import (
    CaKey,
    DataDir,
    ExitWith,
    JsonOut,
    app,
    handled,
    out,
    parse_at,
    parse_date,
    parse_fields,
    print_json,
    read_input,
    region_app,
    runtime,
)
from licence_service.cli.setup import (
    AdminOpt,
    AgencyCodeOpt,
    AgencyNameOpt,
    CryptoOpt,
    RegionCodeOpt,
    RegionNameOpt,
    run_init,
)
from licence_service.domain.errors import ServiceError
from licence_service.services.issue import IssueRequest
from verifier.verdicts import VerificationResult

# ---------------------------------------------------------------------------- set-up


@app.command("init")
@region_app.command("init")
@handled
def init_cmd(
    data_dir: DataDir = None,
    region_code: RegionCodeOpt = "330100",
    region_name: RegionNameOpt = "杭州市",
    agency_code: AgencyCodeOpt = "11330100002489458U",
    agency_name: AgencyNameOpt = "杭州市市场监督管理局",
    ca_key: CaKey = None,
    as_json: JsonOut = False,
    admin: AdminOpt = "admin",
    crypto: CryptoOpt = None,
) -> None:
    """Set up the region authority and an issuing agency and join the consortium (starts the
    chain if needed); the first run also creates the region administrator and prints their
    one-time credentials. `licledger init` and `licledger region init` are the same command."""
    run_init(
        data_dir, region_code, region_name, agency_code, agency_name, ca_key, as_json, admin,
        crypto,
    )  # fmt: skip


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
    from licence_service.services import issue_licence

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
    from licence_service.services import verify_pdf, verify_qr

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
