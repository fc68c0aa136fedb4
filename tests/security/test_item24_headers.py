"""Issue 24, points 4 and 5, against a real uvicorn server on loopback and the session's anvil
node: the security headers on every kind of answer (pages, API, refusals, static files), HSTS
only over HTTPS (a trusted proxy's ``X-Forwarded-Proto``), huge integers answered 422 or 404
and never 500, and no answer of a realistic session carrying the data directory's path."""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bench.issue_data import write_csv
from ledger_client.node import AnvilNode
from licence_service.api.headers import CSP, headers_for
from licence_service.region.runtime import Runtime
from tests.people_fixtures import served_region, staff
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

pytestmark = pytest.mark.e2e
HUGE = (2**63, 2**64, 10**40, -(2**63) - 1)
ISSUE_BODY = {
    "type_code": "BL01",
    "holder_name": "杭州青禾科技有限公司",
    "holder_id": HOLDER_USCC,
    "fields": BUSINESS_FIELDS,
}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, Runtime, dict[str, dict[str, str]]]]:
    limits = {"verify_rate_per_minute": 1e6, "verify_burst": 10**6}
    with served_region(tmp_path_factory.mktemp("item24"), anvil, **limits) as (url, rt):
        yield url, rt, staff(rt, "-24")


def _issue(c: httpx.Client, issuer: dict[str, str]) -> dict[str, object]:
    r = c.post("/api/v1/licences", json=ISSUE_BODY, headers=issuer)
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def _assert_hardened(r: httpx.Response, *, camera: bool, no_store: bool = True) -> None:
    h = r.headers
    where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
    assert h["content-security-policy"] == CSP, where
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
    assert h["x-frame-options"] == "DENY", where
    assert h["x-content-type-options"] == "nosniff", where
    assert h["referrer-policy"] == "same-origin", where
    assert ("camera=(self)" in h["permissions-policy"]) is camera, where
    assert ("camera=()" in h["permissions-policy"]) is not camera, where
    if no_store:
        assert h["cache-control"] == "no-store", where
    assert "strict-transport-security" not in h, where  # plain http


def _assert_refusal_hardened(url: str) -> None:
    """The upload cap's 413 (sent by an outer guard before any route runs) is hardened too:
    announced on a raw socket, as no client library sends a length it does not mean."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST /api/v1/verify/pdf HTTP/1.1\r\nHost: {host}\r\n"
                     f"Content-Length: {2**40}\r\n\r\n".encode())  # fmt: skip
        head = sock.recv(65536).decode("latin-1").split("\r\n\r\n")[0].lower()
    assert head.startswith("http/1.1 413"), head
    assert f"content-security-policy: {CSP}".lower() in head
    assert "cache-control: no-store" in head and "x-frame-options: deny" in head


def test_every_kind_of_answer_carries_the_headers(
    server: tuple[str, Runtime, dict[str, dict[str, str]]],
) -> None:
    url, _, people = server
    with httpx.Client(base_url=url, timeout=60) as c:
        issued = _issue(c, people["issuer"])
        lid = issued["licence_id"]
        _assert_hardened(c.get("/verify"), camera=True)
        _assert_hardened(c.get("/v/LL1garbage"), camera=True)  # a QR link (422 page)
        for path in ("/signin", "/desk", "/audit", "/admin", "/api/v1/health", "/nowhere"):
            _assert_hardened(c.get(path), camera=False)
        for path in (f"/api/v1/licences/{lid}", f"/api/v1/licences/{lid}/history", "/api/v1/me"):
            _assert_hardened(c.get(path, headers=people["issuer"]), camera=False)
        pdf = c.get(f"/api/v1/licences/{lid}/pdf", headers=people["issuer"])
        assert pdf.content.startswith(b"%PDF")
        _assert_hardened(pdf, camera=False)
        _assert_hardened(c.get("/api/v1/licences/x"), camera=False)  # 401
        _assert_refusal_hardened(url)
        # files that choose their own caching keep it, with every other header
        static = c.get("/static/counter.js")
        _assert_hardened(static, camera=False, no_store=False)
        assert static.headers["cache-control"] == "public, max-age=3600"
        assert c.get("/sw.js").headers["cache-control"] == "no-cache"


def test_hsts_only_over_https_from_a_trusted_proxy(
    server: tuple[str, Runtime, dict[str, dict[str, str]]],
) -> None:
    url, _, _ = server
    with httpx.Client(base_url=url, timeout=30) as c:
        assert "strict-transport-security" not in c.get("/verify").headers
        # uvicorn trusts X-Forwarded-Proto from loopback (--forwarded-allow-ips' default)
        proxied = c.get("/verify", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["strict-transport-security"].startswith("max-age=31536000")
    # from an untrusted peer the scheme stays http, so no HSTS
    scope = {"type": "http", "path": "/verify", "scheme": "http"}
    assert all(name != b"strict-transport-security" for name, _ in headers_for(scope, []))


def _allows_exactly(csp: str, html: str, tag: str) -> None:
    inline = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
    assert inline, f"no inline <{tag}>"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert f"{tag}-src 'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp


def test_documents_with_their_own_inline_parts_allow_only_those(
    server: tuple[str, Runtime, dict[str, dict[str, str]]],
) -> None:
    """The Swagger page's inline script and the saved audit report's inline style, each
    allowed by its hash alone."""
    url, _, people = server
    with httpx.Client(base_url=url, timeout=120) as c:
        docs = c.get("/api/v1/docs")
        report = c.get("/api/v1/audit/replay?format=html", headers=people["auditor"])
    assert docs.status_code == 200 and report.status_code == 200, report.text
    _allows_exactly(docs.headers["content-security-policy"], docs.text, "script")
    _allows_exactly(report.headers["content-security-policy"], report.text, "style")
    assert "script-src" not in report.headers["content-security-policy"]  # default 'none'
    assert "style=" not in report.text
    assert report.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["/api/v1/reviews/{n}/approve", "/api/v1/submissions/{n}/upgrade",
             "/api/v1/consents/{n}/withdraw", "/api/v1/regions/proposals/{n}/approve"],
)  # fmt: skip
def test_a_huge_id_is_a_422_not_a_500(
    server: tuple[str, Runtime, dict[str, dict[str, str]]], path: str
) -> None:
    url, _, people = server
    who = people["admin"] if "regions" in path else people["issuer"]
    if "submissions" in path or "consents" in path:
        who = people["window"]
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    body = {"valid_until": soon} if "upgrade" in path else {}
    with httpx.Client(base_url=url, timeout=30) as c:
        for n in HUGE:
            if "regions" in path and n > 0:
                n = 2**256  # a proposal id is a uint256
            r = c.post(path.format(n=n), json=body, headers=who)
            assert r.status_code == 422, (n, r.status_code, r.text)
            assert r.json()["detail"], r.text


def test_huge_integers_in_queries_and_bodies_and_a_stray_overflow(
    server: tuple[str, Runtime, dict[str, dict[str, str]]],
) -> None:
    url, _, people = server
    with httpx.Client(base_url=url, timeout=60) as c:
        for n in HUGE:
            feed = f"/api/v1/exchange/status-changes?region=330100&since_block={n}"
            assert c.get(feed, headers=people["issuer"]).status_code == 422
            replay = f"/api/v1/audit/replay?from_block={n}"
            assert c.get(replay, headers=people["auditor"]).status_code == 422
            consent = {"holder_id": HOLDER_USCC, "grantee_region": n, "purpose": "p",
                       "valid_until": "2030-01-01"}  # fmt: skip
            r = c.post("/api/v1/consents", json=consent, headers=people["window"])
            assert r.status_code == 422, r.text
        # a number no type bounds (inside a cursor) reaching SQLite: OverflowError -> 422
        cursor = f"/api/v1/exchange/status-changes?region=330100&after={2**64}:0"
        r = c.get(cursor, headers=people["issuer"])
        assert r.status_code == 422, r.text
        assert "out of range" in r.json()["detail"]


def test_no_answer_names_the_data_directory(
    server: tuple[str, Runtime, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    """A realistic session: issue, import a CSV, download, verify, amend, history, the audit
    replay, the trust list, the people; no body contains the data directory's path."""
    url, rt, people = server
    home = str(rt.settings.home)
    needles = {home, str(Path(home).resolve())}
    issuer, auditor = people["issuer"], people["auditor"]
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=url, timeout=300) as c:
        lid = str(_issue(c, issuer)["licence_id"])
        source = write_csv(tmp_path / "rows.csv", 3, start=2400, bad={1: "holder_id"})
        with open(source, "rb") as fh:
            imported = c.post("/api/v1/imports", headers=issuer, data={"type_code": "BL01"},
                              files={"file": ("rows.csv", fh, "text/csv")})  # fmt: skip
        assert imported.status_code == 200, imported.text
        answers.append(imported)
        rows = imported.json()["results"]
        good = [r for r in rows if r["status"] == "issued"]
        assert len(good) == 2 and all("pdf" not in r for r in rows)
        for row in good:  # the download URL works with the same token
            pdf = c.get(row["pdf_url"], headers=issuer)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        pdf = c.get(f"/api/v1/licences/{lid}/pdf", headers=issuer).content
        answers.append(c.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf)}))
        answers.append(c.post("/api/v1/verify/pdf", files={"file": ("x.pdf", b"%PDF-1.7 no")}))
        amend = {"fields": {"注册资本": "500万元"}, "reason": "增资"}
        answers.append(c.post(f"/api/v1/licences/{lid}/amend", json=amend, headers=issuer))
        for path in (f"/api/v1/licences/{lid}", f"/api/v1/licences/{lid}/history",
                     f"/api/v1/licences/{lid}/sharing", "/api/v1/reviews", "/api/v1/me",
                     "/api/v1/trust-list", "/api/v1/health", "/api/v1/licences/NOPE"):  # fmt: skip
            answers.append(c.get(path, headers=issuer))
        for path in ("/api/v1/audit/replay", "/api/v1/audit/stats"):
            answers.append(c.get(path, headers=auditor))
        answers.append(c.get("/api/v1/people", headers=people["admin"]))
        answers.append(c.get("/api/v1/regions", headers=people["admin"]))
    assert len(answers) > 10
    for r in answers:
        assert r.status_code < 500, (r.request.url.path, r.status_code, r.text[:300])
        for needle in needles:
            assert needle not in r.text, (r.request.url.path, needle, r.text[:300])


def test_huge_numbers_in_a_csv_are_row_errors(
    server: tuple[str, Runtime, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    """A date column or a date face field holding a 20-digit year is that row's error, the
    other rows are issued (``date(10**20, 1, 1)`` itself would raise ``OverflowError``)."""
    url, _, people = server
    source = write_csv(tmp_path / "huge.csv", 3, start=3100)
    with open(source, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["valid_until"] = f"{10**20}-01-01"
    rows[1]["成立日期"] = f"{10**20}年1月1日"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with httpx.Client(base_url=url, timeout=300) as c, open(source, "rb") as fh:
        r = c.post("/api/v1/imports", headers=people["issuer"], data={"type_code": "BL01"},
                   files={"file": ("huge.csv", fh, "text/csv")})  # fmt: skip
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["row"], x["status"], x["field"]) for x in results[:2]] == [
        (2, "error", "valid_until"),
        (3, "error", "成立日期"),
    ], results
    assert results[2]["status"] == "issued"
