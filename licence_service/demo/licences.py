"""The demo on embedded defaults: one region, one agency, twenty licences, end to end."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ledger_client.registry import LeafStatus
from licence_service.audit import oplog
from licence_service.demo.applicants import demo_applications
from licence_service.demo.people import demo_people, print_people
from licence_service.people.identity import PersonRole
from licence_service.region.bootstrap import DEFAULT_REGION, chain_up, init_region
from licence_service.region.runtime import Runtime
from licence_service.services import anchor_all, anchor_info, verify_pdf
from licence_service.services.amend import Amendment, amend
from licence_service.services.attachments import make_copy
from licence_service.services.issue import IssueRequest, issue
from licence_service.services.status import ReasonCode, change_status


def tamper(data: bytes) -> bytes:
    """Change one byte inside the page content (not in the signature), as a forger would."""
    at = data.find(b"stream") + 40
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _lifecycle(
    rt: Runtime, amended: dict[str, Any], paused: dict[str, Any], copied: dict[str, Any],
    out_dir: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    """Amendment, suspension and reinstatement, and a use-specific copy, each verified."""
    rows: list[dict[str, Any]] = []

    def check(base: dict[str, Any], case: str, pdf: Path, at: datetime | None = None) -> None:
        result = verify_pdf(rt, pdf.read_bytes(), at)
        note = result.extra.get("current_version")
        verdict = str(result.verdict) + (f" → v{note:03d}" if note else "")
        rows.append({**base, "case": case, "verdict": verdict, "pdf": str(pdf)})

    new = amend(
        rt, amended["licence_id"], Amendment({"注册资本": "800万元"}, "change", "demo: 增资")
    )
    anchor_all(rt)
    target = out_dir / f"{new.licence_id}.pdf"
    shutil.copyfile(new.pdf_path, target)
    check(amended, "old version after amendment", Path(amended["pdf"]))
    check({**amended, "licence_id": new.licence_id}, "amended (version 2)", target)

    change_status(rt, paused["licence_id"], LeafStatus.SUSPENDED, ReasonCode.VIOLATION,
                  "demo: 停业整改", actor=oplog.current_actor())  # fmt: skip
    check(paused, "suspended", Path(paused["pdf"]))
    change_status(rt, paused["licence_id"], LeafStatus.ACTIVE, ReasonCode.OTHER,
                  "demo: 整改完成", actor=oplog.current_actor())  # fmt: skip
    check(paused, "reinstated", Path(paused["pdf"]))

    until = datetime.now(UTC).date() + timedelta(days=30)
    copy = make_copy(rt, copied["licence_id"], "办理银行开户", "中国工商银行杭州分行", until)
    anchor_all(rt)
    assert copy.pdf_path is not None
    target = out_dir / f"{copy.identifier.replace('/', '-')}.pdf"
    shutil.copyfile(copy.pdf_path, target)
    check({**copied, "licence_id": copy.identifier}, "use-specific copy (办理银行开户)", target)
    later = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    check({**copied, "licence_id": copy.identifier}, f"copy at {later:%Y-%m-%d}", target, later)
    return rows


def run_demo(
    rt: Runtime, out_dir: Path, count: int = 20, console: Console | None = None
) -> dict[str, Any]:
    """The demo, done by its issuer (a named person, as the operation log shows); ends with
    the demo people's credentials."""
    chain_up(rt)
    people = demo_people(rt, init_region(rt).code, "hz")
    with oplog.acting_as(people.issuer.label, PersonRole.ISSUER.value):
        report = _scenario(rt, out_dir, count, console)
    if console:
        print_people(
            console, "Demo people (pages and API credentials)", people.rows, rt.settings.public_url
        )
    return {**report, "people": people.rows}


def _scenario(rt: Runtime, out_dir: Path, count: int, console: Console | None) -> dict[str, Any]:
    started = time.monotonic()
    say = console.print if console else (lambda *a, **k: None)
    up = chain_up(rt)
    say(f"chain {'started' if up.started_node else 'running'} at {rt.settings.rpc_url}; "
        f"registry {up.registry}")  # fmt: skip
    agency = init_region(rt)
    say(f"region {agency.region_code} {agency.region_name}, agency {agency.name} ({agency.code})")

    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    issued = []
    t0 = time.monotonic()
    for app in demo_applications(count, DEFAULT_REGION[0], seed=int(time.time())):
        req = IssueRequest(app.type_code, app.holder_name, app.holder_id, app.fields)
        issued.append((app, issue(rt, req)))
    issue_s = time.monotonic() - t0
    say(f"issued {len(issued)} licences in {issue_s:.1f} s; anchoring…")
    t0 = time.monotonic()
    flushed = anchor_all(rt)
    anchor_s = time.monotonic() - t0
    say(f"anchored {flushed.leaves} leaves in {flushed.batches} batch(es) in {anchor_s:.2f} s")

    rows: list[dict[str, Any]] = []
    for app, doc in issued:
        doc = anchor_info(rt, doc)
        target = out_dir / f"{doc.licence_id}.pdf"
        shutil.copyfile(doc.pdf_path, target)
        result = verify_pdf(rt, target.read_bytes())
        rows.append({
            "case": "issued", "type": app.type_code, "holder": app.holder_name,
            "licence_id": doc.licence_id, "verdict": str(result.verdict), "pdf": str(target),
            "tx": doc.tx_hash,
        })  # fmt: skip

    victim = rows[1]
    forged = out_dir / f"{victim['licence_id']}-TAMPERED.pdf"
    forged.write_bytes(tamper(Path(victim["pdf"]).read_bytes()))
    result = verify_pdf(rt, forged.read_bytes())
    rows.append({**victim, "case": "tampered copy", "verdict": str(result.verdict),
                 "pdf": str(forged), "tx": None})  # fmt: skip

    revoked = rows[2]
    pdf = Path(revoked["pdf"]).read_bytes()
    anchored_at = verify_pdf(rt, pdf).anchored_at
    if anchored_at is not None:
        # Block times have one-second resolution: let the revocation land in a later second
        # than the anchoring, so "valid at the anchoring time" is a question with one answer.
        time.sleep(max(0.0, anchored_at.timestamp() + 1.05 - time.time()))
    change_status(rt, revoked["licence_id"], LeafStatus.REVOKED, ReasonCode.VIOLATION,
                  "demo: revoked for a violation", actor=oplog.current_actor())  # fmt: skip
    result = verify_pdf(rt, pdf)
    rows.append({**revoked, "case": "after revocation", "verdict": str(result.verdict)})
    if anchored_at is not None:
        result = verify_pdf(rt, pdf, anchored_at)
        rows.append({**revoked, "case": f"at {anchored_at:%H:%M:%S} (before revocation)",
                     "verdict": str(result.verdict)})  # fmt: skip

    rows += _lifecycle(rt, rows[3], rows[4], rows[5], out_dir)

    elapsed = time.monotonic() - started
    if console:
        table = Table(title="Licence Ledger demo", show_lines=False)
        for col in ("#", "case", "type", "holder", "licence identifier", "verdict"):
            table.add_column(col, no_wrap=col not in ("holder", "case"))
        for i, r in enumerate(rows, 1):
            colour = "green" if r["verdict"].startswith("VALID") else "red"
            table.add_row(str(i), r["case"], r["type"], r["holder"], r["licence_id"],
                          f"[{colour}]{r['verdict']}[/]")  # fmt: skip
        console.print(table)
        console.print(f"PDFs in {out_dir}")
        console.print(f"try: licledger verify {Path(revoked['pdf'])}")
        console.print(f"demo finished in {elapsed:.1f} s; the chain keeps running "
                      "(`licledger chain down` stops it)")  # fmt: skip
    return {"rows": rows, "seconds": round(elapsed, 2), "out_dir": str(out_dir)}
