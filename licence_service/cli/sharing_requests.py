"""`licledger federation …`: sharing requests between regions (申请 → 审核 → 批准).

The asking region's side: ``request`` (ask), ``status`` and ``fetch`` (release under the
approval), each a signed call to the holding region. The holding region's side: ``requests``,
``approve`` and ``refuse``, done by a named reviewer given by their personal token.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from licence_service.cli.common import (
    DataDir,
    ExitWith,
    JsonOut,
    app,
    handled,
    out,
    parse_date,
    print_json,
    runtime,
)
from licence_service.cli.federation import print_release
from licence_service.people.identity import PersonInfo
from licence_service.region.runtime import Runtime

federation_app = typer.Typer(
    help="Sharing requests between regions: ask, review (approve or refuse), fetch.",
    no_args_is_help=True,
)
app.add_typer(federation_app, name="federation")

FromUrl = Annotated[str, typer.Option("--from", help="The holding region's service URL.")]
Region = Annotated[
    int, typer.Option("--region", help="The holding region's code: the call is signed for it.")
]
Token = Annotated[
    str,
    typer.Option(envvar="LICLEDGER_TOKEN", help="The reviewer's personal token (their name)."),
]
RequestId = Annotated[int, typer.Argument(help="Sharing request number.")]


def _signed(rt: Runtime, url: str, region: int, method: str, path: str,
            body: dict[str, Any] | None = None) -> Any:  # fmt: skip
    """A signed call to the holding region; a refusal (403) is exit 1 with its reason."""
    from licence_service.federation.client import RemoteError, call

    try:
        return call(rt, url, method, path, body, to_region=region)
    except RemoteError as exc:
        if exc.status_code == 403:
            out.print(f"refused: {exc}", markup=False)
            raise ExitWith(1) from None
        raise


def _reviewer(rt: Runtime, token: str) -> PersonInfo:
    from licence_service.audit import oplog
    from licence_service.people.service import authenticate

    person = authenticate(rt, token)
    oplog.set_actor(person.label, "sharing_reviewer")
    return person


def _print(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(row)
        return
    cap = "no cap" if row.get("use_cap") is None else f"cap {row['use_cap']}"
    line = (
        f"#{row['id']} {row['licence']} [{row['state']}] for {row['purpose']!r}"
        f"{' from region ' + str(row['from_region']) if 'from_region' in row else ''}"
        f"; due {row['due_at']}"
    )
    if row["state"] == "APPROVED":
        line += f"; until {row['valid_until']}, {row['uses']} used, {cap}"
    elif row["state"] == "REFUSED":
        line += f"; reason: {row['reason']}"
    out.print(line, markup=False)


@federation_app.command("request")
@handled
def request_cmd(
    licence: Annotated[str, typer.Argument(help="Licence identifier at the holding region.")],
    from_url: FromUrl,
    region: Region,
    purpose: Annotated[str, typer.Option(help="What the data will be used for.")],
    field: Annotated[
        list[str] | None, typer.Option(help="A field needed (repeat); none: all shareable.")
    ] = None,
    requested_by: Annotated[str, typer.Option(help="Who asks, in this region.")] = "",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Ask another region for a licence's data; a reviewer there decides."""
    body = {"licence_id": licence, "purpose": purpose, "fields": list(field or []),
            "requested_by": requested_by}  # fmt: skip
    row = _signed(runtime(data_dir), from_url, region, "POST",
                  "/api/v1/federation/sharing-requests", body)  # fmt: skip
    _print(row, as_json)


@federation_app.command("status")
@handled
def status_cmd(
    request_id: RequestId,
    from_url: FromUrl,
    region: Region,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Where this region's request stands at the holding region."""
    path = f"/api/v1/federation/sharing-requests/{request_id}"
    _print(_signed(runtime(data_dir), from_url, region, "GET", path), as_json)


@federation_app.command("fetch")
@handled
def fetch_cmd(
    request_id: RequestId,
    from_url: FromUrl,
    region: Region,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Fetch the data under an approved request (one metered release); exit 1 when refused."""
    rt = runtime(data_dir)
    status = _signed(
        rt, from_url, region, "GET", f"/api/v1/federation/sharing-requests/{request_id}"
    )
    path = f"/api/v1/federation/licences/{status['licence']}/release"
    data = _signed(rt, from_url, region, "POST", path,
                   {"purpose": status["purpose"], "request_id": request_id})  # fmt: skip
    print_release(data, as_json)


@federation_app.command("requests")
@handled
def requests_cmd(
    token: Token,
    all_: Annotated[bool, typer.Option("--all", help="Also decided requests.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Other regions' requests the reviewer may decide (pending, or --all)."""
    from licence_service.federation.requests import PENDING, list_requests

    rt = runtime(data_dir)
    rows = list_requests(rt, _reviewer(rt, token), None if all_ else PENDING)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no requests" if all_ else "no pending requests")
    for row in rows:
        _print(row, False)


@federation_app.command("approve")
@handled
def approve_cmd(
    request_id: RequestId,
    token: Token,
    until: Annotated[str | None, typer.Option(help="Last day of use, YYYY-MM-DD.")] = None,
    cap: Annotated[int | None, typer.Option(help="Most releases allowed (none: no cap).")] = None,
    full: Annotated[list[str] | None, typer.Option(help="Field released unmasked.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Approve a pending request as the reviewer whose token is given (anchored)."""
    from licence_service.federation.requests import approve_request

    rt = runtime(data_dir)
    person = _reviewer(rt, token)
    row = approve_request(rt, person, request_id, parse_date(until, "until"), cap, list(full or []))
    _print(row, as_json)


@federation_app.command("refuse")
@handled
def refuse_cmd(
    request_id: RequestId,
    token: Token,
    reason: Annotated[str, typer.Option(help="Why; the asking region is told.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Refuse a pending request as the reviewer whose token is given (anchored)."""
    from licence_service.federation.requests import refuse_request

    rt = runtime(data_dir)
    _print(refuse_request(rt, _reviewer(rt, token), request_id, reason), as_json)
