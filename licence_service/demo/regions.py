"""Second demo: a licence issued in one region is accepted in another (异地互认).

Region A (杭州, the main data directory) and region B (深圳, under ``regions/440300`` in it)
share the running chain. B joins the consortium by A's proposal, verifies A's licence from
the chain alone, and — after the holder consents — receives A's data, masked, with a sharing
receipt anchored on-chain.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from rich.console import Console
from rich.table import Table

from licence_service.audit import oplog
from licence_service.demo.applicants import DemoApplication, demo_applications
from licence_service.demo.people import demo_people, print_people
from licence_service.federation.auth import Caller
from licence_service.federation.region import propose_region
from licence_service.federation.sharing import grant_consent, release
from licence_service.people.identity import PersonRole
from licence_service.region.bootstrap import chain_up, init_region, membership_request_path
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import IssuedDocument, IssueRequest
from signing.pdf_metadata import read_metadata
from signing.sm2_certificates import suite_of_certificate
from verifier.metadata import METADATA_FILE

REGION_B = ("440300", "深圳市", "114403000075421116", "深圳市市场监督管理局")


def _suite(cert_pem: str) -> str:
    return suite_of_certificate(x509.load_pem_x509_certificate(cert_pem.encode())).name


def _issue(rt: Runtime, issuer: str, division: str) -> tuple[IssuedDocument, DemoApplication]:
    """One demo licence issued by ``issuer`` of the region, and its applicant."""
    app = demo_applications(1, division, seed=int(time.time()))[0]
    with oplog.acting_as(issuer, PersonRole.ISSUER.value):
        doc = issue_licence(
            rt, IssueRequest(app.type_code, app.holder_name, app.holder_id, app.fields)
        )
    return doc, app


def _cross_checks(rt_a: Runtime, rt_b: Runtime, doc_a: IssuedDocument, doc_b: IssuedDocument
                  ) -> dict[str, str]:  # fmt: skip
    """Each region verifies the other's PDF and QR code, from the chain alone."""

    def qr(doc: IssuedDocument) -> str:
        return str(read_metadata(doc.pdf_path.read_bytes(), METADATA_FILE)["qr_token"])

    return {
        "A verifies B's PDF": str(rt_a.verifier().verify_pdf(doc_b.pdf_path.read_bytes()).verdict),
        "A verifies B's QR code": str(rt_a.verifier().verify_qr(qr(doc_b)).verdict),
        "B verifies A's QR code": str(rt_b.verifier().verify_qr(qr(doc_a)).verdict),
    }


def run_regions_demo(
    rt_a: Runtime, out_dir: Path, console: Console | None, crypto_b: str = "intl"
) -> dict[str, Any]:
    """Region A (``intl``) and region B (``crypto_b``: ``sm`` makes a mixed consortium)."""
    started = time.monotonic()
    chain_up(rt_a)
    agency_a = init_region(rt_a)
    home_b = rt_a.settings.home / "regions" / REGION_B[0]
    home_b.mkdir(parents=True, exist_ok=True)
    rt_b = Runtime(
        replace(rt_a.settings, home=home_b, database_url=f"sqlite:///{home_b / 'licledger.db'}")
    )
    shutil.copy(rt_a.settings.deployment_file, rt_b.settings.deployment_file)
    agency_b = init_region(rt_b, *REGION_B, crypto=crypto_b)
    people = {
        "A": demo_people(rt_a, agency_a.code, "hz"),
        "B": demo_people(rt_b, agency_b.code, "sz"),
    }
    rows: list[tuple[str, str]] = []
    if rt_b.directory().account_region(agency_b.chain_address) != agency_b.region_code:
        outcome = propose_region(rt_a, membership_request_path(rt_b))
        rows.append(
            (
                "B asks to join; A proposes",
                f"proposal #{outcome.proposal_id}, "
                f"{'executed' if outcome.executed else 'waiting for approvals'}",
            )
        )
    else:
        rows.append(("B is already a member", "—"))

    doc, app = _issue(rt_a, people["A"].issuer.label, "330100")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{doc.licence_id}.pdf"
    shutil.copyfile(doc.pdf_path, target)
    rows.append((f"A ({agency_a.region_name}) issues", doc.licence_id))
    result = rt_b.verifier().verify_pdf(target.read_bytes())
    issuer = next((c.detail for c in result.checks if c.name == "issuer"), "")
    rows.append(
        (f"B ({agency_b.region_name}) verifies from the chain", f"{result.verdict} — {issuer}")
    )

    caller = Caller(agency_b.region_code, agency_b.chain_address)
    purpose = "办理跨区域经营备案"
    try:
        release(rt_a, caller, doc.licence_id, purpose)
        rows.append(("B asks for the data without consent", "released?!"))
    except Exception as exc:
        rows.append(("B asks for the data without consent", f"refused: {exc}"))
    until = datetime.now(UTC).date() + timedelta(days=30)
    window = people["A"].window
    with oplog.acting_as(window.label, PersonRole.WINDOW_STAFF.value):
        consent = grant_consent(rt_a, app.holder_id, agency_b.region_code, purpose, until,
                                doc.licence_id, confirmed_by=window.label)  # fmt: skip
    rows.append(("holder consents at A", f"consent {consent.consent_hash[:16]}… anchored"))
    data = release(rt_a, caller, doc.licence_id, purpose)
    shown = ", ".join(f"{k}={v}" for k, v in list(data["fields"].items())[:3])
    rows.append(("B receives (masked)", f"{shown} … masked: {', '.join(data['masked'])}"))
    on_chain = rt_b.sharing().release(bytes.fromhex(data["receipt"]["hash"]))
    rows.append(("receipt on-chain, read by B", "yes" if on_chain else "NO"))
    doc_b, _ = _issue(rt_b, people["B"].issuer.label, REGION_B[0])
    suites = f"A {_suite(agency_a.cert_pem)}, B {_suite(agency_b.cert_pem)}"
    rows.append((f"B ({agency_b.region_name}) issues ({suites})", doc_b.licence_id))
    cross = _cross_checks(rt_a, rt_b, doc, doc_b)
    rows += list(cross.items())
    elapsed = time.monotonic() - started
    if console:
        table = Table(title="Licence Ledger — cross-region recognition and sharing")
        table.add_column("step")
        table.add_column("result")
        for step, res in rows:
            table.add_row(step, res)
        console.print(table)
        print_people(console, "Region A: demo people (pages and API credentials)",
                     people["A"].rows, rt_a.settings.public_url)  # fmt: skip
        # region B has a data directory of its own: served beside A, on the next port
        print_people(console, "Region B: demo people (pages and API credentials)",
                     people["B"].rows, "http://127.0.0.1:8601",
                     f"licledger serve --data-dir {home_b} --port 8601")  # fmt: skip
        console.print(f"PDF in {target}; region B's data directory is {home_b}")
        console.print(f"finished in {elapsed:.1f} s")
    return {"rows": rows, "seconds": round(elapsed, 2), "verdict": str(result.verdict),
            "cross": cross, "crypto": {"A": _suite(agency_a.cert_pem),
                                       "B": _suite(agency_b.cert_pem)},
            "people": {name: p.rows for name, p in people.items()}}  # fmt: skip
