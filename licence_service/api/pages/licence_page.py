"""The licence page (``/desk/licences/{identifier}``): the face (masked unless the viewer is an
issuer of the issuing agency), every version, status change, copy, inspection and sharing
receipt with the block and transaction that anchored it, PDF downloads, and for issuers of the
licence's agency the lifecycle actions (:mod:`.action_forms`, handled in :mod:`.licence_actions`).

Readers are window staff and auditors of the region and issuers of the licence's own agency,
as in the HTTP API; anyone else gets 403.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse

from licence_service.api.bounds import RowId
from licence_service.api.deps import RuntimeDep, ensure_agency
from licence_service.api.pages.action_forms import ACTIONS, action_form, offered
from licence_service.api.pages.layout import page, table
from licence_service.api.pages.session import page_role
from licence_service.api.pages.texts import language, texts
from licence_service.federation.sharing import sharing_history
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.region.runtime import Runtime
from licence_service.services import pdf_path, reviews
from licence_service.services.disclosure import disclose, ensure_full_pdf
from licence_service.services.record_view import LicenceRecord, licence_record, sees_in_full
from licence_service.store.queries import find_licence
from verifier.leaves import LeafKind, attachment_identifier

__all__ = ["Reader", "check_reader", "licence_html", "pdf_url", "router"]

router = APIRouter(include_in_schema=False)
Reader = Annotated[
    PersonInfo,
    Depends(page_role(PersonRole.WINDOW_STAFF, PersonRole.ISSUER, PersonRole.AUDITOR)),
]


def _agency_of(rt: Runtime, identifier: str) -> tuple[str, set[str]]:
    """The licence's agency and the agencies a pending joint review of it waits for."""
    with rt.sessions() as s:
        licence = find_licence(s, identifier.split("/")[0])
        agency, base = licence.agency.code, licence.base_id
    waiting = {str(c) for r in reviews(rt) if r["licence"] == base for c in r["waiting_for"]}  # type: ignore[attr-defined]
    return agency, waiting


async def check_reader(rt: Runtime, person: PersonInfo, identifier: str) -> str:
    """The licence's agency code, after checking that ``person`` may read it (403 if not):
    window staff and auditors, issuers of its agency, and issuers of an agency whose approval
    a pending joint review of it waits for."""
    agency, waiting = await run_in_threadpool(_agency_of, rt, identifier)
    wide = person.roles & {PersonRole.WINDOW_STAFF, PersonRole.AUDITOR}
    if not wide and person.agency_code not in waiting:
        ensure_agency(person, agency, identifier)
    return agency


def _anchor_cells(anchor: Any) -> tuple[str, object, str]:
    return anchor.state, anchor.block, anchor.tx or ""


def pdf_url(identifier: str) -> str:
    """The desk's download path of a version's or a copy's PDF."""
    if "/" not in identifier:
        return f"/desk/licences/{identifier}/pdf"
    version, _, tail = identifier.partition("/")  # <version identifier>/C<serial>
    return f"/desk/licences/{version}/copies/{int(tail[1:])}/pdf"


def _pdf_link(identifier: str, t: dict[str, str], masked: bool = False) -> str:
    """A download link; none for a viewer who sees the record masked (the PDF is in full)."""
    if masked:
        return ""
    return f"<a href='{escape(pdf_url(identifier))}' download>{escape(t['desk_pdf'])}</a>"


def _sections(record: LicenceRecord, sharing: list[dict[str, Any]], t: dict[str, str]) -> str:
    anchor_heads = [t["desk_anchor"], t["desk_block"], t["f_tx"]]
    versions = table(
        [t["f_version"], t["f_licence"], t["desk_status"], t["desk_valid"], t["desk_change"],
         *anchor_heads, "PDF"],
        [(f"{v['version']:03d}", v["identifier"], v["state"],
          f"{v['valid_from']} – {v['valid_until']}",
          " · ".join(x for x in (v["category"], v["reason"]) if x),
          *_anchor_cells(v["anchor"]), _pdf_link(v["identifier"], t, record.masked))
         for v in record.versions],
        "versions", raw=8,
    )  # fmt: skip
    statuses = table(
        [t["desk_time"], t["f_licence"], t["desk_status"], t["act_reason"], t["desk_by"],
         *anchor_heads],
        [(s["time"], s["target"], s["status"], f"{s['reason_code']} · {s['reason']}", s["actor"],
          *_anchor_cells(s["anchor"])) for s in record.statuses],
        "statuses",
    )  # fmt: skip

    def attachments(rows: list[dict[str, Any]], id_: str) -> str:
        return table(
            [t["f_licence"], t["desk_status"], t["f_valid_until"], t["desk_details"],
             *anchor_heads, "PDF"],
            [(a["identifier"], a["status"], a["valid_until"],
              "; ".join(f"{k}: {v}" for k, v in a["data"].items()), *_anchor_cells(a["anchor"]),
              _pdf_link(a["identifier"], t, record.masked) if a["has_pdf"] else "") for a in rows],
            id_, raw=7,
        )  # fmt: skip

    receipts = table(
        [t["desk_time"], t["f_region"], t["act_purpose"], t["desk_details"], t["f_tx"]],
        [(r["time"], r["to_region"], r["purpose"], ", ".join(r["fields"]), r["tx_hash"] or "")
         for r in sharing],
        "receipts",
    )  # fmt: skip
    return (
        f"<h2>{escape(t['desk_versions'])}</h2>{versions}"
        f"<h2>{escape(t['desk_statuses'])}</h2>{statuses}"
        f"<h2>{escape(t['desk_copies'])}</h2>{attachments(record.copies, 'copies')}"
        f"<h2>{escape(t['desk_inspections'])}</h2>{attachments(record.inspections, 'inspections')}"
        f"<h2>{escape(t['desk_receipts'])}</h2>{receipts}"
    )


def _actions(
    record: LicenceRecord, person: PersonInfo, pending: list[dict[str, Any]], t: dict[str, str],
    failed: str, values: dict[str, str], errors: dict[str, str],
) -> str:  # fmt: skip
    forms = []
    if sees_in_full(person, record.agency_code):
        for action in offered(record):
            mine = action.name == failed
            forms.append(action_form(action, record, t, values if mine else None,
                                     errors if mine else None))  # fmt: skip
    if PersonRole.ISSUER in person.roles:
        for review in pending:
            if person.agency_code in review["waiting_for"]:
                given = {"review_id": str(review["review_id"])} | (
                    values if failed == "approve" else {}
                )
                forms.append(action_form(ACTIONS["approve"], record, t, given,
                                         errors if failed == "approve" else None))  # fmt: skip
    if not forms:
        return ""
    return f"<section id='actions'><h2>{escape(t['desk_actions'])}</h2>{''.join(forms)}</section>"


def _load(
    rt: Runtime, identifier: str, person: PersonInfo
) -> tuple[LicenceRecord, list[dict[str, Any]], list[dict[str, Any]]]:
    # the disclosure rule decides (and logs the read, or refuses it beyond the read limit)
    full = disclose(rt, person, identifier, "GET /desk/licences/{identifier}")
    record = licence_record(rt, identifier, person, full)
    pending = [r for r in reviews(rt) if r["licence"] == record.base_id]
    return record, sharing_history(rt, record.base_id), pending


async def licence_html(
    request: Request, rt: Runtime, person: PersonInfo, identifier: str, failed: str = "",
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The licence page; ``failed`` names an action whose form is shown again with ``values``
    and ``errors`` (``errors['']`` is a message not tied to one input)."""
    t = texts(language(request))
    record, sharing, pending = await run_in_threadpool(_load, rt, identifier, person)
    errors = errors or {}
    notice = ""
    done = request.query_params.get("done", "")
    if done in ACTIONS or done == "issue":
        notice = (
            f"<p id='done' class='verdict valid' role='status'>{escape(t['act_done_' + done])}</p>"
        )
    if errors.get(""):
        notice += (
            f"<p id='action-error' class='verdict invalid' role='alert'>{escape(errors[''])}</p>"
        )
    masked = f"<p class='note'>{escape(t['desk_masked'])}</p>" if record.masked else ""
    core = {"holder_name": t["desk_holder"], "holder_id": t["desk_holder_id"],
            "valid_from": t["desk_from"], "valid_until": t["f_valid_until"]}  # fmt: skip
    rows = [(core.get(k, label), value) for k, label, value in record.face]
    face = table([t["desk_field"], t["desk_value"]], rows, "face")
    summary = (
        f"<p id='summary'><strong>{escape(record.current)}</strong> · {escape(record.type_name)}"
        f" · <span id='status'>{escape(record.status)}</span> · {escape(record.agency_code)} · "
        f"{_pdf_link(record.current, t, record.masked)}</p>"
    )
    body = (
        f"{notice}{summary}{masked}<h2>{escape(t['desk_face'])}</h2>{face}"
        f"{_actions(record, person, pending, t, failed, values or {}, errors)}"
        f"{_sections(record, sharing, t)}"
    )
    return page(request, record.base_id, body, status, issuer=PersonRole.ISSUER in person.roles)


@router.get("/desk/licences/{identifier}", response_class=HTMLResponse)
async def licence_page(
    identifier: str, request: Request, rt: RuntimeDep, person: Reader
) -> HTMLResponse:
    """The licence page (any version's identifier or the base id)."""
    await check_reader(rt, person, identifier)
    return await licence_html(request, rt, person, identifier)


async def _pdf(rt: Runtime, person: PersonInfo, identifier: str) -> FileResponse:
    """Only for those who see the licence in full: the PDF carries every personal field."""
    await check_reader(rt, person, identifier)
    await run_in_threadpool(ensure_full_pdf, rt, person, identifier, "desk PDF download")
    path = await run_in_threadpool(pdf_path, rt, identifier)
    return FileResponse(path, media_type="application/pdf",
                        filename=f"{identifier.replace('/', '-')}.pdf")  # fmt: skip


@router.get("/desk/licences/{identifier}/pdf", response_class=FileResponse)
async def licence_pdf(identifier: str, rt: RuntimeDep, person: Reader) -> FileResponse:
    """The signed PDF of a version (the current one for the base id), for its readers."""
    return await _pdf(rt, person, identifier)


@router.get("/desk/licences/{identifier}/copies/{serial}/pdf", response_class=FileResponse)
async def copy_pdf(identifier: str, serial: RowId, rt: RuntimeDep, person: Reader) -> FileResponse:
    """The signed PDF of a use-specific copy, for the licence's readers."""
    return await _pdf(rt, person, attachment_identifier(identifier, LeafKind.COPY, serial))
