"""Issue 10, the audit room and the administration in a real Chromium, and who sees what.

- An auditor's ``/audit`` shows the replay (consistent), a chart (inline SVG), the statistics
  filtered by licence type, the state at a point in time, the operation log by person, and
  the CSV export downloads the rows the CLI writes; window staff get 403 on both pages, a
  visitor 401, an auditor 403 on the administration.
- An administrator creates a personal API token: shown once, it works as a bearer token,
  is not on the page again, and its revocation stops it; a form posted without the page's
  CSRF token is refused and creates nothing.
- The counter shows the holder's full name to window staff, masked to the public and to
  auditors, and never for a forged code naming a real licence.
"""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, expect

from licence_service.people.identity import PersonRole
from licence_service.people.service import add_person, list_tokens
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    Launch,
    Site,
    form_token,
    screenshot,
    sign_in_http,
    sign_in_page,
)
from tests.people_fixtures import PASSWORD
from tests.service_fixtures import business_request
from verifier.qr import encode_token, parse_token

pytestmark = pytest.mark.e2e
FULL_NAME = business_request().holder_name


@pytest.fixture(scope="module")
def staff(site: Site) -> dict[str, str]:
    with site.rt.sessions() as s:
        agency = site.rt.agency(s).code
    units = {
        "window": (agency, PersonRole.WINDOW_STAFF),
        "auditor": ("audit", PersonRole.AUDITOR),
        "admin": ("region", PersonRole.REGION_ADMIN),
    }
    for key, (unit, role) in units.items():
        add_person(site.rt, f"room-{key}", unit, frozenset({role}), password=PASSWORD)
    return {key: f"room-{key}" for key in units}


def _browser_sign_in(launch: Launch, site: Site, username: str, viewport: dict[str, int]) -> Page:
    page = launch().new_page(viewport=viewport)  # type: ignore[arg-type]
    sign_in_page(page, site.url, username)
    return page


def test_audit_room_for_an_auditor(site: Site, staff: dict[str, str], launch: Launch) -> None:
    page = _browser_sign_in(launch, site, staff["auditor"], DESKTOP)
    page.goto(site.url + "/audit")
    expect(page.locator("#replay-state")).to_have_attribute("data-consistent", "true")
    expect(page.locator("#chart svg rect").first).to_be_attached()
    expect(page.locator("#type-chart svg")).to_contain_text("营业执照")
    assert page.locator("#stats tr").count() >= 2  # header and at least one period
    first = page.locator("#oplog-people tr:nth-child(2) td")
    actor, count = first.nth(0).inner_text(), int(first.nth(1).inner_text())
    screenshot(page, "audit-desktop")

    page.select_option("#f-type", "BL01")
    page.fill("#f-at", "2099-01-01T00:00:00Z")
    page.fill("#f-actor", actor)
    page.click("#apply")
    expect(page.locator("#oplog-actions tr")).to_have_count(min(count, 200) + 1)  # and header
    expect(page.locator("#state")).to_contain_text(site.revoked.licence_id.rsplit(".", 2)[0])
    state_rows = page.locator("#state tr").all_inner_texts()
    assert any("REVOKED" in r for r in state_rows), state_rows
    with page.expect_download() as download:
        page.click("#csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8"))))
    assert rows and {r["type"] for r in rows} == {"BL01"}
    assert sum(int(r["issued"]) for r in rows) >= 3 and sum(int(r["revoked"]) for r in rows) >= 1

    page.set_viewport_size(PHONE)  # the same page reflowed: wide tables scroll in their box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the audit page is {width} px wide at 360 px"
    screenshot(page, "audit-phone")


def test_only_auditors_enter_the_audit_room(site: Site, staff: dict[str, str]) -> None:
    with httpx.Client(base_url=site.url, timeout=120) as visitor:
        assert visitor.get("/audit").status_code == 401
        assert visitor.get("/admin").status_code == 401
    with httpx.Client(base_url=site.url, timeout=120) as window:
        sign_in_http(window, staff["window"])
        for path in ("/audit", "/audit/stats.csv", "/admin"):
            r = window.get(path)
            assert r.status_code == 403 and "may not" in r.text, (path, r.text)
    with httpx.Client(base_url=site.url, timeout=120) as auditor:
        sign_in_http(auditor, staff["auditor"])
        assert auditor.get("/admin").status_code == 403
        bad = auditor.get("/audit", params={"from": "March"})
        assert bad.status_code == 422 and bad.json()["field"] == "from"


def test_admin_creates_a_token_shown_once(
    site: Site, staff: dict[str, str], launch: Launch
) -> None:
    page = _browser_sign_in(launch, site, staff["admin"], DESKTOP)
    page.goto(site.url + "/admin")
    expect(page.locator("#people")).to_contain_text(staff["window"])
    screenshot(page, "admin-desktop")
    with site.rt.sessions() as s:
        agency = site.rt.agency(s).code
    page.fill("#p-username", "room-new-clerk")
    page.fill("#p-unit", agency)
    page.check("input[name=roles][value=window_staff]")
    page.click("#p-add")
    expect(page.locator("#new-password")).not_to_be_empty()  # generated, shown once
    expect(page.locator("#people")).to_contain_text("room-new-clerk")
    page.fill("#t-label", "counter laptop")
    page.click("#t-create")
    token = page.locator("#new-token").inner_text()
    screenshot(page, "admin-desktop-token-shown-once")
    me = httpx.get(site.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == staff["admin"]
    page.goto(site.url + "/admin")
    assert token not in page.content()  # shown once: only its prefix is listed
    mine = list_tokens(site.rt, staff["admin"])
    prefix = next(t["prefix"] for t in mine if t["label"] == "counter laptop")
    page.click(f"#revoke-{prefix}")
    expect(page.locator("#tokens")).to_contain_text("revoked")
    me = httpx.get(site.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-phone")


def test_admin_forms_need_the_csrf_token(site: Site, staff: dict[str, str]) -> None:
    with httpx.Client(base_url=site.url, timeout=60) as c:
        token = sign_in_http(c, staff["admin"])
        before = len(list_tokens(site.rt, staff["admin"]))
        r = c.post("/admin/tokens", data={"label": "forged", "days": "5"})
        assert r.status_code == 403, r.text
        evil = {"Origin": "http://evil.example"}
        r = c.post("/admin/tokens", data={"days": "5", "csrf_token": token}, headers=evil)
        assert r.status_code == 403, r.text
        assert len(list_tokens(site.rt, staff["admin"])) == before
        r = c.post("/admin/tokens", data={"days": "5", "csrf_token": form_token(c, "/admin")})
        assert r.status_code == 201 and "id='new-token'" in r.text
    with httpx.Client(base_url=site.url, timeout=60) as window:
        token = sign_in_http(window, staff["window"])
        r = window.post("/admin/tokens", data={"days": "5", "csrf_token": token})
        assert r.status_code == 403  # the role is checked on the server, not by hiding forms


def test_holder_name_depends_on_who_looks(site: Site, staff: dict[str, str]) -> None:
    payload = {"payload": site.qr(site.valid)}
    with httpx.Client(base_url=site.url, timeout=60) as public:
        seen = public.post("/verify/qr.json", json=payload).json()
        assert seen["holder_full"] is False and seen["holder_name"] != FULL_NAME
        assert "*" in seen["holder_name"] and seen["type_name"] == "营业执照"
    with httpx.Client(base_url=site.url, timeout=60) as auditor:
        sign_in_http(auditor, staff["auditor"])
        assert auditor.post("/verify/qr.json", json=payload).json()["holder_full"] is False
    with httpx.Client(base_url=site.url, timeout=60) as window:
        sign_in_http(window, staff["window"])
        seen = window.post("/verify/qr.json", json=payload).json()
        assert seen["verdict"] == "VALID" and seen["holder_full"] is True
        assert seen["holder_name"] == FULL_NAME
        forged = parse_token(payload["payload"]).claims  # a real licence, another signer
        token = encode_token(forged, ec.generate_private_key(ec.SECP256R1()))
        seen = window.post("/verify/qr.json", json={"payload": token}).json()
        assert seen["verdict"] != "VALID" and seen["holder_name"] != FULL_NAME
        page = window.get("/v/" + site.qr(site.valid).rsplit("/", 1)[-1]).text
        assert FULL_NAME in page  # the QR link's server-rendered page, too
