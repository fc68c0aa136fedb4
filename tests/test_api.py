"""The HTTP API and pages on a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ledger_client.node import AnvilNode
from licence_service.region.runtime import Runtime
from tests.people_fixtures import served_region, staff
from tests.security.http_server import form_token
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, Runtime]]:
    with served_region(tmp_path_factory.mktemp("api-region"), anvil) as served:
        yield served


_KEYS: dict[int, dict[str, dict[str, str]]] = {}


def keys(rt: Runtime) -> dict[str, dict[str, str]]:
    """Authorization headers of the region's staff, by role (created once per runtime)."""
    if id(rt) not in _KEYS:
        _KEYS[id(rt)] = staff(rt)
    return _KEYS[id(rt)]


ISSUE_BODY = {
    "type_code": "BL01",
    "holder_name": "杭州青禾科技有限公司",
    "holder_id": HOLDER_USCC,
    "fields": BUSINESS_FIELDS,
}


def test_issue_get_download_verify_revoke(server: tuple[str, Runtime]) -> None:
    url, rt = server
    agency = keys(rt)["issuer"]
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/api/v1/licences", json=ISSUE_BODY, headers=agency)
        assert r.status_code == 201, r.text
        issued = r.json()
        assert issued["anchored"] and issued["tx_hash"].startswith("0x")
        lid = issued["licence_id"]

        r = c.get(f"/api/v1/licences/{lid}", headers=agency)
        assert r.status_code == 200
        assert r.json()["versions"][0]["anchor_state"] == "anchored"

        pdf = c.get(f"/api/v1/licences/{lid}/pdf", headers=agency)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"

        r = c.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf.content, "application/pdf")})
        assert r.status_code == 200 and r.json()["verdict"] == "VALID", r.text
        assert {ch["name"] for ch in r.json()["checks"]} >= {"signature", "anchor", "status"}

        with rt.sessions() as s:
            from sqlalchemy import select

            from licence_service.store.models import LicenceVersion

            payload = s.scalar(
                select(LicenceVersion.qr_payload).where(LicenceVersion.identifier == lid)
            )
        assert payload is not None and payload.startswith(url + "/v/LL1.")
        r = c.post("/api/v1/verify/qr", json={"payload": payload})
        assert r.json()["verdict"] == "VALID"
        page = c.get(payload.removeprefix(url))
        assert page.status_code == 200 and "VALID" in page.text and "有效" in page.text

        tampered = bytearray(pdf.content)
        tampered[len(tampered) // 2] ^= 0x01
        r = c.post("/api/v1/verify/pdf", files={"file": ("t.pdf", bytes(tampered))})
        assert r.json()["verdict"] != "VALID"

        r = c.post(
            f"/api/v1/licences/{lid}/revoke", json={"reason": "测试撤销", "code": 1}, headers=agency
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "REVOKED"
        r = c.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf.content)})
        assert r.json()["verdict"] == "REVOKED"
        r = c.post(f"/api/v1/licences/{lid}/revoke", json={"reason": "again"}, headers=agency)
        assert r.status_code == 409 and "REVOKED" in r.json()["detail"]

        token = form_token(c)
        page = c.post("/verify", files={"file": ("l.pdf", pdf.content)}, data={"csrf_token": token})
        assert page.status_code == 200 and "REVOKED" in page.text


def test_roles_and_errors(server: tuple[str, Runtime]) -> None:
    url, rt = server
    k = keys(rt)
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.post("/api/v1/licences", json=ISSUE_BODY).status_code == 401
        r = c.post("/api/v1/licences", json=ISSUE_BODY, headers=k["window"])
        assert r.status_code == 403
        bad = dict(ISSUE_BODY, holder_id="91330106MA2B0XKH35")
        r = c.post("/api/v1/licences", json=bad, headers=k["issuer"])
        assert r.status_code == 422 and r.json()["field"] == "holder_id"
        assert "check character" in r.json()["detail"]
        r = c.get("/api/v1/licences/1.2.156.3005.2.BL01.nope", headers=k["auditor"])
        assert r.status_code == 404
        r = c.post("/api/v1/verify/pdf", files={"file": ("x.pdf", b"not a pdf")})
        assert r.status_code == 422 and "not a PDF" in r.json()["detail"]
        r = c.post("/api/v1/verify/qr", json={"payload": "garbage"})
        assert r.status_code == 422
        spec = c.get("/api/v1/openapi.json").json()
        assert "/api/v1/licences" in spec["paths"] and "/api/v1/verify/pdf" in spec["paths"]
        assert c.get("/verify").status_code == 200


def test_lifecycle_endpoints(server: tuple[str, Runtime]) -> None:
    from datetime import UTC, datetime, timedelta

    url, rt = server
    k = keys(rt)
    agency = k["issuer"]
    window = k["window"]
    with httpx.Client(base_url=url, timeout=30) as c:
        lid = c.post("/api/v1/licences", json=ISSUE_BODY, headers=agency).json()["licence_id"]
        r = c.post(
            f"/api/v1/licences/{lid}/amend",
            json={"fields": {"注册资本": "500万元"}, "reason": "增资"},
            headers=agency,
        )
        assert r.status_code == 201, r.text
        v2 = r.json()["licence_id"]
        assert r.json()["version"] == 2 and r.json()["anchored"]
        old_pdf = c.get(f"/api/v1/licences/{lid}/pdf", headers=agency).content
        r = c.post("/api/v1/verify/pdf", files={"file": ("v1.pdf", old_pdf)})
        assert r.json()["verdict"] == "SUPERSEDED" and "002" in r.json()["reason"]

        r = c.post(
            f"/api/v1/licences/{v2}/status",
            json={"action": "suspend", "reason": "整改"},
            headers=agency,
        )
        assert r.status_code == 200 and r.json()["status"] == "SUSPENDED", r.text
        r = c.post(
            f"/api/v1/licences/{v2}/status", json={"action": "fly", "reason": "x"}, headers=agency
        )
        assert r.status_code == 422 and r.json()["field"] == "action"
        r = c.post(
            f"/api/v1/licences/{v2}/status",
            json={"action": "reinstate", "reason": "完成"},
            headers=agency,
        )
        assert r.json()["status"] == "ACTIVE"

        until = (datetime.now(UTC).date() + timedelta(days=20)).isoformat()
        r = c.post(
            f"/api/v1/licences/{v2}/copies",
            json={"purpose": "银行开户", "recipient": "某银行", "valid_until": until},
            headers=agency,
        )
        assert r.status_code == 201, r.text
        # the copy carries the holder's data in full: the issuing agency's issuers only
        assert c.get(r.json()["pdf_url"], headers=window).status_code == 403
        copy_pdf = c.get(r.json()["pdf_url"], headers=agency)
        assert copy_pdf.status_code == 200
        r = c.post("/api/v1/verify/pdf", files={"file": ("c.pdf", copy_pdf.content)})
        assert r.json()["verdict"] == "VALID", r.text
        r = c.post(
            f"/api/v1/licences/{v2}/copies/1/revoke",
            json={"action": "revoke", "reason": "完成"},
            headers=agency,
        )
        assert r.json()["status"] == "REVOKED"
        r = c.post("/api/v1/verify/pdf", files={"file": ("c.pdf", copy_pdf.content)})
        assert r.json()["verdict"] == "REVOKED"

        year = datetime.now(UTC).year
        r = c.post(
            f"/api/v1/licences/{v2}/inspections",
            json={"year": year, "result": "合格"},
            headers=agency,
        )
        assert r.status_code == 201 and r.json()["kind"] == "INSPECTION"

        r = c.post(
            f"/api/v1/licences/{v2}/check",
            json={"field": "注册资本", "value": "500万元"},
            headers=window,
        )
        assert r.json()["match"] is True
        proof = r.json()["proof"]
        assert c.post("/api/v1/verify/field-proof", json={"proof": proof}).json()["ok"] is True
        r = c.post(
            f"/api/v1/licences/{v2}/check",
            json={"field": "注册资本", "value": "1万元"},
            headers=window,
        )
        assert r.json() == {"licence_id": v2, "field": "注册资本", "match": False, "proof": None}

        history = c.get(f"/api/v1/licences/{lid}/history", headers=window).json()
        assert [v["version"] for v in history["versions"]] == [1, 2]
        assert {a["kind"] for a in history["attachments"]} == {"COPY", "INSPECTION"}
        assert history["metadata"]["holder_id_type"] == "uscc"
        assert c.get("/api/v1/reviews", headers=window).status_code == 200


def test_audit_endpoints(server: tuple[str, Runtime]) -> None:
    url, rt = server
    k = keys(rt)
    auditor = k["auditor"]
    with httpx.Client(base_url=url, timeout=60) as c:
        c.post("/api/v1/licences", json=ISSUE_BODY, headers=k["issuer"])
        assert c.get("/api/v1/audit/replay", headers=k["issuer"]).status_code == 403
        r = c.get("/api/v1/audit/replay", headers=auditor)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["consistent"] is True, report["discrepancies"]
        assert report["summary"]["licences"] >= 1 and report["statistics"]
        html = c.get("/api/v1/audit/replay", params={"format": "html"}, headers=auditor)
        assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
        pdf = c.get("/api/v1/audit/replay", params={"format": "pdf"}, headers=auditor)
        assert pdf.content.startswith(b"%PDF")
        csv = c.get("/api/v1/audit/stats", params={"format": "csv"}, headers=auditor)
        assert csv.text.startswith("period,region,agency,type,issued")
        state = c.get("/api/v1/audit/state", params={"at": "2000-01-01T00:00:00Z"}, headers=auditor)
        assert {row["status"] for row in state.json()} == {"NOT_ISSUED"}
        # the API's actions are in the operation log under the caller's role
        from licence_service.store.models import OpLogEntry

        with rt.sessions() as s:
            from sqlalchemy import select

            actors = set(s.scalars(select(OpLogEntry.actor).where(OpLogEntry.action == "issue")))
        assert "issuer@agency:11330100002489458U" in actors  # the person, not a shared key


def test_submission_upgrade_and_metadata(server: tuple[str, Runtime]) -> None:
    from datetime import UTC, datetime, timedelta
    from io import BytesIO

    from PIL import Image

    url, rt = server
    k = keys(rt)
    window = k["window"]
    buf = BytesIO()
    Image.new("RGB", (300, 200), (240, 240, 230)).save(buf, "PNG")
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post(
            "/api/v1/submissions",
            files={"image": ("scan.png", buf.getvalue(), "image/png")},
            data={
                "title": "营业执照",
                "holder_name": "杭州青禾科技有限公司",
                "holder_id": HOLDER_USCC,
                "grade": "D",
            },
            headers=window,
        )
        assert r.status_code == 201, r.text
        sid = r.json()["submission_id"]
        until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        r = c.post(
            f"/api/v1/submissions/{sid}/upgrade",
            json={"valid_until": until},
            headers=window,
        )
        assert r.status_code == 200 and r.json()["grade"] == "B", r.text
        # the grade-B copy names the person who checked it and their agency, not a body field
        from licence_service.store.models import Submission

        with rt.sessions() as s:
            row = s.get(Submission, sid)
            assert row is not None
            assert row.checked_by == "window (window@agency:11330100002489458U)"
        lid = c.post("/api/v1/licences", json=ISSUE_BODY, headers=k["issuer"]).json()["licence_id"]
        meta = c.get(f"/api/v1/licences/{lid}", headers=window).json()["metadata"]
        assert meta["licence_id"] == lid and meta["issuing_authority"] == "杭州市市场监督管理局"
        assert meta["holder_id_type"] == "uscc" and meta["fields"]["注册资本"] == "100万元"
        assert {"valid_from", "valid_until", "jurisdiction_code", "status", "type_code"} <= set(
            meta
        )
