"""`licledger region …` and `licledger sharing …`: the consortium and cross-region sharing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from licence_service.cli.common import (
    CaKey,
    DataDir,
    ExitWith,
    JsonOut,
    app,
    handled,
    out,
    print_json,
    region_app,
    required_at,
    required_date,
    runtime,
    show,
)
from licence_service.domain.errors import ServiceError
from licence_service.federation.region import ProposalOutcome

sharing_app = typer.Typer(
    help="Sharing licences with other regions, with consent.", no_args_is_help=True
)
app.add_typer(sharing_app, name="sharing")


def _show_outcome(res: ProposalOutcome, as_json: bool) -> None:
    show(
        {
            "proposal": res.proposal_id,
            "executed": res.executed,
            "approvals": res.approvals,
            "needed": res.needed,
        },
        as_json,
    )


@region_app.command("list")
@handled
def region_list(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Member regions, their accounts and certificates, and proposals."""
    from licence_service.federation.region import list_regions

    info = list_regions(runtime(data_dir))
    if as_json:
        print_json(info)
        return
    out.print(
        f"threshold {info['threshold']} (effective {info['effective_threshold']})", markup=False
    )
    for r in info["regions"]:
        state = "active" if r["active"] else "removed"
        out.print(
            f"{r['code']} {r['name']} [{state}] accounts {len(r['accounts'])}, "
            f"certificates {len(r['certificates'])}",
            markup=False,
        )
    for p in info["proposals"]:
        state = "executed" if p["executed"] else f"{p['approvals']} approvals"
        out.print(f"  proposal #{p['id']} {p['action']} {p['region']}: {state}", markup=False)


@region_app.command("propose")
@handled
def region_propose(
    request: Annotated[Path | None, typer.Option(help="A new region's membership request.")] = None,
    remove: Annotated[int | None, typer.Option(help="Region code to remove.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Propose admitting a region (from its request file) or removing one (M-of-N)."""
    from licence_service.federation.region import propose_region, propose_removal

    if (request is None) == (remove is None):
        raise ServiceError("give either --request FILE or --remove CODE", field="request")
    rt = runtime(data_dir)
    res = propose_region(rt, request) if request is not None else propose_removal(rt, remove or 0)
    _show_outcome(res, as_json)


@region_app.command("approve")
@handled
def region_approve(
    proposal: Annotated[int, typer.Argument(help="Proposal number.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Approve a proposal for this region; it executes when enough regions approved."""
    from licence_service.federation.region import approve_proposal

    res = approve_proposal(runtime(data_dir), proposal)
    _show_outcome(res, as_json)


@region_app.command("rotate")
@handled
def region_rotate(
    agency: Annotated[str | None, typer.Option(help="Agency code (default: first).")] = None,
    finish: Annotated[bool, typer.Option(help="Switch to certificates approved since.")] = False,
    ca_key: CaKey = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Rotate an agency's signing certificate through M-of-N approval."""
    from licence_service.federation.region import finish_rotation, rotate_certificate

    rt = runtime(data_dir)
    if finish:
        show({"switched": finish_rotation(rt)}, as_json)
        return
    res = rotate_certificate(rt, agency, ca_key)
    _show_outcome(res, as_json)


@region_app.command("compromised")
@handled
def region_compromised(
    fingerprint: Annotated[str, typer.Argument(help="SHA-256 of the lost certificate.")],
    since: Annotated[str, typer.Option(help="UTC time from which the key is lost.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Report a signing key lost (挂失): documents anchored after `since` stop verifying."""
    from licence_service.federation.region import report_compromised

    show(report_compromised(runtime(data_dir), fingerprint, required_at(since)), as_json)


@sharing_app.command("consent")
@handled
def sharing_consent(
    holder_id: Annotated[str, typer.Option(help="The holder's ID (confirmed at the counter).")],
    to_region: Annotated[int, typer.Option(help="Region allowed to receive the data.")],
    purpose: Annotated[str, typer.Option(help="What the data may be used for.")],
    valid_until: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    licence: Annotated[str | None, typer.Option(help="One licence…")] = None,
    licence_type: Annotated[str | None, typer.Option("--type", help="…or all of a type.")] = None,
    full: Annotated[
        list[str] | None, typer.Option(help="Field released unmasked (repeat).")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Record a holder's consent (授权用证); its hash is anchored."""
    from dataclasses import asdict

    from licence_service.federation.sharing import grant_consent

    until = required_date(valid_until, "valid_until")
    res = grant_consent(
        runtime(data_dir),
        holder_id,
        to_region,
        purpose,
        until,
        licence,
        licence_type,
        list(full or []),
        confirmed_by="cli",
    )
    show(asdict(res), as_json)


@sharing_app.command("withdraw")
@handled
def sharing_withdraw(
    consent: Annotated[int, typer.Argument(help="Consent number.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Withdraw a consent (anchored): no further releases under it."""
    from dataclasses import asdict

    from licence_service.federation.sharing import withdraw_consent

    show(asdict(withdraw_consent(runtime(data_dir), consent)), as_json)


@sharing_app.command("request")
@handled
def sharing_request(
    licence: Annotated[str, typer.Argument(help="Licence identifier at the issuing region.")],
    from_url: Annotated[str, typer.Option("--from", help="Issuing region's service URL.")],
    region: Annotated[
        int,
        typer.Option(
            "--region",
            help="Issuing region's code (e.g. 330100): the request is signed for it alone.",
        ),
    ],
    purpose: Annotated[str, typer.Option(help="Purpose (must match the consent).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Ask the issuing region for a licence's data (signed request); exit 1 when refused."""
    from licence_service.federation.client import RemoteError, call

    try:
        data = call(
            runtime(data_dir),
            from_url,
            "POST",
            f"/api/v1/federation/licences/{licence}/release",
            {"purpose": purpose},
            to_region=region,
        )
    except RemoteError as exc:
        if exc.status_code == 403:
            out.print(f"refused: {exc}", markup=False)
            raise ExitWith(1) from None
        raise
    print_release(data, as_json)


def print_release(data: dict[str, Any], as_json: bool) -> None:
    """Released fields (masked ones marked) and the on-chain receipt."""
    if as_json:
        print_json(data)
        return
    for key, value in data["fields"].items():
        mark = " (masked)" if key in data["masked"] else ""
        out.print(f"{key}: {value}{mark}", markup=False)
    out.print(
        f"receipt {data['receipt']['hash']} anchored in {data['receipt']['tx_hash']}", markup=False
    )


@sharing_app.command("history")
@handled
def sharing_history_cmd(
    licence: Annotated[str, typer.Argument(help="Licence identifier or base id.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Where a licence's data went (releases and their on-chain receipts)."""
    from licence_service.federation.sharing import sharing_history

    rows = sharing_history(runtime(data_dir), licence)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no releases")
    for r in rows:
        out.print(
            f"{r['time']} → region {r['to_region']} for {r['purpose']!r}: "
            f"{', '.join(r['fields'])} (receipt {r['receipt'][:16]}…, "
            f"{'anchored' if r['anchored'] else 'NOT anchored'})",
            markup=False,
        )
