"""The demo on embedded defaults: one region, one agency, twenty licences, end to end."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ledger_client.registry import LeafStatus
from licence_service.anchoring import AnchorWorker
from licence_service.demo_data import demo_applications
from licence_service.issuance import IssueRequest, issue
from licence_service.operations import anchor_info, verify_pdf
from licence_service.runtime import Runtime
from licence_service.setup import DEFAULT_REGION, chain_up, init_region
from licence_service.status import ReasonCode, change_status


def tamper(data: bytes) -> bytes:
    """Change one byte inside the page content (not in the signature), as a forger would."""
    at = data.find(b"stream") + 40
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def run_demo(
    rt: Runtime, out_dir: Path, count: int = 20, console: Console | None = None
) -> dict[str, Any]:
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
    flushed = AnchorWorker(rt).flush()
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
    change_status(rt, revoked["licence_id"], LeafStatus.REVOKED, ReasonCode.VIOLATION,
                  "demo: revoked for a violation", actor="demo")  # fmt: skip
    result = verify_pdf(rt, Path(revoked["pdf"]).read_bytes())
    rows.append({**revoked, "case": "after revocation", "verdict": str(result.verdict)})

    elapsed = time.monotonic() - started
    if console:
        table = Table(title="Licence Ledger demo", show_lines=False)
        for col in ("#", "case", "type", "holder", "licence identifier", "verdict"):
            table.add_column(col, no_wrap=col != "holder")
        for i, r in enumerate(rows, 1):
            colour = "green" if r["verdict"] == "VALID" else "red"
            table.add_row(str(i), r["case"], r["type"], r["holder"], r["licence_id"],
                          f"[{colour}]{r['verdict']}[/]")  # fmt: skip
        console.print(table)
        console.print(f"PDFs in {out_dir}")
        console.print(f"try: licledger verify {Path(revoked['pdf'])}")
        console.print(f"demo finished in {elapsed:.1f} s; the chain keeps running "
                      "(`licledger chain down` stops it)")  # fmt: skip
    return {"rows": rows, "seconds": round(elapsed, 2), "out_dir": str(out_dir)}
