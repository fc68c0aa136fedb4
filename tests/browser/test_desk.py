"""Issue 10, the agency desk in a real Chromium: issuing through the form generated from the
licence type, then amending on the licence page (confirmation step, required reason) shows
version 002 current and 001 superseded; a per-field error appears while a bad ID number is
typed and the server refuses the bad form naming the field; a CSV of 50 rows with 2 bad rows
issues 48 and reports the 2 with their field; a window-staff session sees no issuing or
lifecycle actions and posting them directly is refused (403), as is a post without the CSRF
token. Screenshots of every desk page at desktop and 360 px phone width."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from bench.issue_data import write_csv
from licence_service.store.models import Licence, LicenceVersion
from tests.browser.conftest import (
    DESKTOP,
    Launch,
    Site,
    both_widths,
    sign_in_http,
    sign_in_page,
)
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

pytestmark = pytest.mark.e2e
WAIT_MS = 30_000  # generous: the machine running the suite may be shared
BAD_USCC = HOLDER_USCC[:-1] + ("0" if HOLDER_USCC[-1] != "0" else "1")


def _issuer_page(launch: Launch, site: Site, people: dict[str, str]) -> Page:
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, people["issuer"])
    return page


def _count(site: Site, model: type) -> int:
    with site.rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_issue_through_the_form_then_amend(
    site: Site, people: dict[str, str], launch: Launch
) -> None:
    page = _issuer_page(launch, site, people)
    both_widths(page, "desk-list")
    page.goto(site.url + "/desk/issue?type_code=BL01")
    page.fill("#holder_name", "杭州青禾科技有限公司")
    page.fill("#holder_id", HOLDER_USCC)
    for key, value in BUSINESS_FIELDS.items():
        page.fill(f"[name='field:{key}']", value)
    both_widths(page, "desk-issue-form")
    page.click("#issue-submit")
    expect(page.locator("#done")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#versions tr")).to_have_count(2)  # header and version 001
    assert "王晓东" in page.locator("#face").inner_text()  # the issuer sees the face in full

    page.click("#action-amend summary")
    page.fill("#action-amend [name='field:注册资本']", "500万元")
    page.fill("#amend-reason", "增资")
    page.click("#amend-submit")
    expect(page.locator("#confirm-question")).to_be_visible()
    assert "500万元" in page.locator("#confirm-summary").inner_text()
    both_widths(page, "desk-confirm")
    page.click("#confirm")
    expect(page.locator("#done")).to_be_visible(timeout=WAIT_MS)
    rows = page.locator("#versions tr")
    expect(rows).to_have_count(3)  # header, 001, 002
    assert rows.nth(1).locator("td").nth(0).inner_text() == "001"
    assert rows.nth(1).locator("td").nth(2).inner_text() == "SUPERSEDED"
    assert rows.nth(2).locator("td").nth(0).inner_text() == "002"
    assert rows.nth(2).locator("td").nth(2).inner_text() == "ACTIVE"
    assert rows.nth(2).locator("td").nth(7).inner_text().startswith("0x")  # its transaction
    assert "500万元" in page.locator("#face").inner_text()
    both_widths(page, "desk-licence")


def test_bad_id_number_is_named_while_typing_and_refused_by_the_server(
    site: Site, people: dict[str, str], launch: Launch
) -> None:
    page = _issuer_page(launch, site, people)
    page.goto(site.url + "/desk/issue?type_code=BL01")
    page.locator("#holder_id").press_sequentially(BAD_USCC)
    expect(page.locator("#holder_id-error")).to_contain_text("校验码")
    expect(page.locator("#holder_id")).to_have_attribute("aria-invalid", "true")
    both_widths(page, "desk-issue-errors")
    before = _count(site, Licence)
    # past the page's script: the form as a hostile or script-less browser would send it
    with page.expect_response(lambda r: r.url.endswith("/desk/issue")) as answer:
        page.evaluate(
            "HTMLFormElement.prototype.submit.call(document.getElementById('issue-form'))"
        )
    assert answer.value.status == 422
    expect(page.locator("#form-errors")).to_contain_text("holder_id")
    expect(page.locator("#holder_id-error")).to_contain_text("check character")
    expect(page.locator("#holder_name-error")).not_to_be_empty()  # every field, not the first
    assert _count(site, Licence) == before


def test_csv_of_50_rows_with_2_bad_issues_48(
    site: Site, people: dict[str, str], launch: Launch, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "batch.csv", 50, start=9100, bad={7: "holder_id", 31: "成立日期"})
    page = _issuer_page(launch, site, people)
    page.goto(site.url + "/desk/import")
    both_widths(page, "desk-import-form")
    page.select_option("#import-type", "BL01")
    page.set_input_files("#csv", str(source))
    page.click("#import-submit")
    state = page.locator("#import-state")
    expect(state).to_have_attribute("data-state", "done", timeout=120_000)
    expect(page.locator("progress")).to_have_attribute("value", "50")
    expect(state).to_contain_text("48")
    errors = page.locator("#import-errors tr")
    expect(errors).to_have_count(3)
    assert errors.nth(1).locator("td").nth(0).inner_text() == "9"  # line 9: the 8th data row
    assert errors.nth(1).locator("td").nth(1).inner_text() == "holder_id"
    assert errors.nth(2).locator("td").nth(1).inner_text() == "成立日期"
    both_widths(page, "desk-import-done")
    with page.expect_download() as download:
        page.click("#result-file")
    with open(download.value.path(), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50
    issued = [r for r in rows if r["status"] == "issued"]
    assert len(issued) == 48 and all(r["pdf"].endswith(f"/{r['licence_id']}/pdf") for r in issued)
    assert [(r["row"], r["field"]) for r in rows if r["status"] == "error"] == [
        ("9", "holder_id"),
        ("33", "成立日期"),
    ]
    pdf = page.request.get(issued[0]["pdf"])
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"


def test_window_staff_sees_no_actions_and_cannot_post_them(
    site: Site, people: dict[str, str], launch: Launch
) -> None:
    target = site.valid.licence_id
    versions = _count(site, LicenceVersion)
    with httpx.Client(base_url=site.url, timeout=60) as c:
        token = sign_in_http(c, people["window"])
        licence = c.get(f"/desk/licences/{target}")
        assert licence.status_code == 200, licence.text
        assert "id='actions'" not in licence.text and "/act/" not in licence.text
        assert "/desk/issue" not in licence.text and "杭州青禾科技有限公司" not in licence.text
        assert c.get("/desk/issue").status_code == 403
        assert c.get("/desk/import").status_code == 403
        for action, form in (
            ("revoke", {"reason": "window staff trying"}),
            ("amend", {"reason": "x", "field:注册资本": "1元", "category": "change"}),
        ):
            for confirm in ("", "yes"):
                r = c.post(f"/desk/licences/{target}/act/{action}",
                           data={**form, "confirm": confirm, "csrf_token": token})  # fmt: skip
                assert r.status_code == 403 and "issuer" in r.text, r.text
    with httpx.Client(base_url=site.url, timeout=60) as c:
        token = sign_in_http(c, people["issuer"])
        data = {"reason": "no token", "confirm": "yes"}
        r = c.post(f"/desk/licences/{target}/act/revoke", data=data)
        assert r.status_code == 403 and "token" in r.text, r.text
        evil = {"Origin": "http://evil.example"}
        r = c.post(f"/desk/licences/{target}/act/revoke", data=data | {"csrf_token": token},
                   headers=evil)  # fmt: skip
        assert r.status_code == 403 and "cross-site" in r.text, r.text
    with site.rt.sessions() as s:
        status = s.scalar(select(Licence.status).where(Licence.base_id == site.valid.base_id))
    assert status == "ACTIVE" and _count(site, LicenceVersion) == versions
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, people["window"])
    page.goto(f"{site.url}/desk/licences/{target}")
    expect(page.locator("#face")).to_contain_text("*")  # the holder masked for window staff
    assert page.locator("#actions").count() == 0
    both_widths(page, "desk-licence-window-staff")
