"""`licledger` commands of the licence lifecycle: amend, status changes, copies, inspections,
joint reviews, field checks, history."""

from __future__ import annotations

from pathlib import Path
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
    parse_fields,
    print_json,
    read_input,
    required_date,
    runtime,
    show,
)
from licence_service.domain.errors import ServiceError
from licence_service.domain.states import ReviewState
from licence_service.services.status import STATUS_ACTIONS, ReasonCode, StatusAction, StatusResult

LicenceArg = Annotated[str, typer.Argument(help="Licence identifier, base id or attachment id.")]
ReasonOpt = Annotated[str, typer.Option(help="Why (free text, kept off-chain).")]
CODES = {code.name.lower().replace("_", "-"): code for code in ReasonCode}
CodeOpt = Annotated[str | None, typer.Option(help="Reason category: " + ", ".join(CODES))]


def _code(code: str) -> ReasonCode:
    if code not in CODES:
        raise ServiceError(f"--code must be one of {', '.join(CODES)}", field="code")
    return CODES[code]


def _status_info(res: StatusResult) -> dict[str, Any]:
    info: dict[str, Any] = {
        "licence_id": res.licence_id,
        "status": res.status,
        "reason_code": res.reason_code,
    }
    if res.review_id is not None:
        info |= {"review_id": res.review_id, "approvals": res.approvals, "required": res.required}
    if res.tx_hash:
        info |= {
            "tx_hash": res.tx_hash,
            "block_number": res.block_number,
            "block_time": res.block_time.isoformat() if res.block_time else None,
        }
    return info


def _status_command(name: str, action: StatusAction) -> None:
    @app.command(name, help=action.help)
    @handled
    def command(
        licence_id: LicenceArg,
        reason: ReasonOpt,
        code: CodeOpt = None,
        data_dir: DataDir = None,
        as_json: JsonOut = False,
    ) -> None:
        from licence_service.services import apply_action

        chosen = None if code is None else _code(code)
        res = apply_action(runtime(data_dir), licence_id, name, reason, chosen, actor="cli")
        show(_status_info(res), as_json)


for _name, _action in STATUS_ACTIONS.items():
    _status_command(_name, _action)


@app.command("amend")
@handled
def amend_cmd(
    licence_id: LicenceArg,
    reason: ReasonOpt,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="Changed face field KEY=VALUE (repeat).")
    ] = None,
    category: Annotated[
        str, typer.Option(help="change (变更), correction (更正) or reissue (补发 after loss).")
    ] = "change",
    valid_until: Annotated[str | None, typer.Option(help="New end of validity.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return before anchoring.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Create the next version of a licence with a new PDF; the old one becomes SUPERSEDED."""
    from licence_service.services import Amendment, amend_licence

    amendment = Amendment(
        parse_fields(field or []), category, reason, parse_date(valid_until, "valid_until")
    )
    doc = amend_licence(runtime(data_dir), licence_id, amendment, wait=not no_wait)
    show(
        {
            "licence_id": doc.licence_id,
            "version": doc.version,
            "pdf": str(doc.pdf_path),
            "document_digest": doc.document_digest,
            "anchored": doc.anchored,
            "tx_hash": doc.tx_hash,
        },
        as_json,
    )


@app.command("copy")
@handled
def copy_cmd(
    licence_id: LicenceArg,
    purpose: Annotated[str, typer.Option(help="What the copy may be used for.")],
    recipient: Annotated[str, typer.Option(help="Who receives it (hashed on-chain).")],
    valid_until: Annotated[str, typer.Option(help="YYYY-MM-DD, at most 90 days ahead.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Make a use-specific copy (加注件): watermarked, signed, anchored, revocable on its own."""
    from licence_service.services import make_copy

    until = required_date(valid_until, "valid_until")
    res = make_copy(runtime(data_dir), licence_id, purpose, recipient, until, actor="")
    show(
        {
            "copy_id": res.identifier,
            "pdf": res.pdf_path,
            "purpose": purpose,
            "valid_until": res.valid_until.isoformat() if res.valid_until else None,
            "leaf": res.leaf,
        },
        as_json,
    )


@app.command("inspect")
@handled
def inspect_cmd(
    licence_id: LicenceArg,
    year: Annotated[int, typer.Option(help="Inspection year.")],
    result: Annotated[str, typer.Option(help="Result, e.g. 合格.")],
    note: Annotated[str, typer.Option(help="Remarks.")] = "",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Attach an annual inspection (年检) result to the current version (anchored)."""
    from licence_service.services import record_inspection

    res = record_inspection(runtime(data_dir), licence_id, year, result, note)
    show({"inspection_id": res.identifier, **res.data, "leaf": res.leaf}, as_json)


@app.command("reviews")
@handled
def reviews_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Also finished reviews.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Joint reviews of high-risk operations and who still has to approve."""
    from licence_service.services.status import reviews

    rows = reviews(runtime(data_dir), None if all_ else ReviewState.PENDING)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no reviews" if all_ else "no pending reviews")
    for r in rows:
        out.print(
            f"#{r['review_id']} {r['action']} {r['licence']} [{r['state']}] "
            f"{len(r['approved_by'])}/{r['required']} approvals; waiting for "  # type: ignore[arg-type]
            f"{', '.join(r['waiting_for']) or '-'}",  # type: ignore[arg-type]
            highlight=False,
            markup=False,
        )


@app.command("approve")
@handled
def approve_cmd(
    review_id: Annotated[int, typer.Argument(help="Review number (see `licledger reviews`).")],
    token: Annotated[
        str,
        typer.Option(
            envvar="LICLEDGER_TOKEN",
            help="The approving person's personal token; their agency is the one approving.",
        ),
    ],
    note: Annotated[str, typer.Option(help="Remarks.")] = "",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Approve a pending joint review as the person whose token is given (anchored)."""
    from licence_service.audit import oplog
    from licence_service.people.service import authenticate
    from licence_service.services.status import approve

    rt = runtime(data_dir)
    person = authenticate(rt, token)
    oplog.set_actor(person.label, "issuer")
    show(_status_info(approve(rt, review_id, person, note)), as_json)


@app.command("check")
@handled
def check_cmd(
    licence_id: LicenceArg,
    field: Annotated[str, typer.Option(help="Face field name, e.g. 注册资本.")],
    value: Annotated[str, typer.Option(help="Value to test.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Does this field of the current version equal VALUE? true (exit 0) / false (exit 1)."""
    from licence_service.services.field_checks import check_field

    res = check_field(runtime(data_dir), licence_id, field, value)
    if as_json:
        print_json({"licence_id": res.licence_id, "field": res.field, "match": res.match,
                    "proof": res.proof})  # fmt: skip
    else:
        out.print("true" if res.match else "false")
    raise ExitWith(0 if res.match else 1)


@app.command("history")
@handled
def history_cmd(licence_id: LicenceArg, data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """A licence's versions, status changes and attachments."""
    from licence_service.services.views import licence_history

    # the CLI runs on the server, with the data directory: its operator sees the record in full
    info = licence_history(runtime(data_dir), licence_id, full=True)
    if as_json:
        print_json(info)
        return
    out.print(
        f"{info['base_id']}  {info['status']}  current version {info['current_version']:03d}",
        markup=False,
    )
    for event in info["timeline"]:  # type: ignore[attr-defined]
        out.print(f"  {event['time']}  {event['what']}", highlight=False, markup=False)


@app.command("submit")
@handled
def submit_cmd(
    image: Annotated[Path, typer.Argument(help="PNG or JPEG picture of the original.")],
    title: Annotated[str, typer.Option(help="What the document is, e.g. 营业执照.")],
    holder_name: Annotated[str, typer.Option(help="Holder's name.")],
    holder_id: Annotated[str, typer.Option(help="Citizen ID or unified social credit code.")],
    grade: Annotated[str, typer.Option(help="C (uploaded from the original) or D.")] = "C",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """A holder submits a copy of a licence: stamped grade C or D (not anchored)."""
    from licence_service.services.upgrade import submit_copy

    data = read_input(image, "image")
    res = submit_copy(runtime(data_dir), data, title, holder_name, holder_id, grade)
    show({"submission_id": res.submission_id, "grade": res.grade, "pdf": res.pdf_path}, as_json)


@app.command("upgrade")
@handled
def upgrade_cmd(
    submission_id: Annotated[int, typer.Argument(help="Submission number.")],
    staff: Annotated[str, typer.Option(help="Window staff who checked the original.")],
    valid_until: Annotated[str, typer.Option(help="YYYY-MM-DD end of the grade-B copy.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Window staff checked the original: issue the grade-B copy (signed, anchored)."""
    from licence_service.services import upgrade_to_b

    until = required_date(valid_until, "valid_until")
    res = upgrade_to_b(runtime(data_dir), submission_id, staff, until)
    show({"submission_id": res.submission_id, "grade": "B", "identifier": res.identifier,
          "pdf": res.pdf_path, "valid_until": str(res.valid_until)}, as_json)  # fmt: skip
