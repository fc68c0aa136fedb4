"""Issue 20 points 4-6 in a real Chromium: the desk's reminders section (the agency's licences
expiring within N days, whether the holder can be reached) and the import page's encoding
selector (a GB18030 CSV refused when UTF-8 is chosen, imported when GB18030 is), in both
languages, at desktop and 360 px phone width (no sideways scrolling), screenshots kept; the
CSP watch of every browser test fails on any violation."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bench.issue_data import holder_id, row
from licence_service.domain.licence_types import get_licence_type
from licence_service.services import issue_licence
from licence_service.services.issue import IssuedDocument, IssueRequest
from licence_service.store.models import Licence
from tests.browser.conftest import DESKTOP, Launch, Site, both_widths, screenshot, sign_in_page
from tests.service_fixtures import BUSINESS_FIELDS

pytestmark = pytest.mark.e2e
RARE = "杭州䶮𠀀贸易有限公司"  # 䶮 (U+4DAE), 𠀀 (U+20000): in GB18030, not in GBK
LANGS = (("zh", "到期提醒", "是", "无联系方式"), ("en", "Reminders", "yes", "no contact"))


@pytest.fixture(scope="module")
def expiring(site: Site) -> Iterator[list[IssuedDocument]]:
    """Two licences of the site's agency ending in 10 days, one with the holder's e-mail.
    Issued on a thread of its own: pyHanko will not sign inside Playwright's event loop."""
    today = date.today()
    until, start = today + timedelta(days=10), today - timedelta(days=300)
    requests = [
        IssueRequest(
            "BL01",
            f"杭州提醒测试{i}有限公司",
            holder_id(9700 + i),
            dict(BUSINESS_FIELDS),
            valid_from=start,
            valid_until=until,
            holder_email=email,
        )
        for i, email in enumerate(("remind@example.cn", None))
    ]
    with ThreadPoolExecutor(1) as pool:
        yield [pool.submit(issue_licence, site.rt, r).result() for r in requests]


def test_the_reminders_section_in_both_languages(
    site: Site, people: dict[str, str], launch: Launch, expiring: list[IssuedDocument]
) -> None:
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, people["issuer"])
    for lang, title, reachable, unreachable in LANGS:
        page.goto(f"{site.url}/desk?lang={lang}&within=30")
        section = page.locator("#reminders")
        expect(section.locator("h2")).to_have_text(title)
        table = page.locator("#expiring")
        for doc in expiring:
            expect(table).to_contain_text(doc.licence_id)
        by_id = {
            r.locator("td").nth(0).inner_text(): r.locator("td").nth(5).inner_text()
            for r in table.locator("tr:has(td)").all()
        }
        assert by_id[expiring[0].licence_id] == reachable, by_id
        assert by_id[expiring[1].licence_id] == unreachable, by_id
        both_widths(page, f"desk-reminders-{lang}")
        page.fill("#within", "5")  # fewer days ahead than the licences have left: none due
        page.locator("#reminders button[type='submit']").click()
        page.wait_for_url("**within=5**")
        for doc in expiring:
            expect(page.locator("#expiring")).not_to_contain_text(doc.licence_id)
        screenshot(page, f"desk-reminders-{lang}-none-phone")
    # a licence link opens that licence's page
    page.goto(f"{site.url}/desk?within=30")
    page.locator(f"#expiring a:has-text('{expiring[0].licence_id}')").click()
    expect(page.locator("#face")).to_contain_text("杭州提醒测试0有限公司")


def _gb18030_csv(path: Path) -> Path:
    ltype = get_licence_type("BL01")
    out = io.StringIO()
    writer = csv.DictWriter(out, ["holder_name", "holder_id", *ltype.field_keys],
                            extrasaction="ignore", lineterminator="\r\n")  # fmt: skip
    writer.writeheader()
    for i in range(2):
        writer.writerow(row(9800 + i) | {"holder_name": f"{RARE}{i}"})
    path.write_bytes(out.getvalue().encode("gb18030"))  # as Excel on Chinese Windows saves it
    return path


def test_the_import_pages_encoding_selector_in_both_languages(
    site: Site, people: dict[str, str], launch: Launch, tmp_path: Path
) -> None:
    source = _gb18030_csv(tmp_path / "gb18030.csv")
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, people["issuer"])
    for lang in ("zh", "en"):
        page.goto(f"{site.url}/desk/import?lang={lang}")
        page.select_option("#import-type", "BL01")
        page.set_input_files("#csv", str(source))
        page.select_option("#encoding", "utf-8")  # the wrong encoding named: refused
        page.click("#import-submit")
        expect(page.locator("#import-state")).to_have_attribute("data-state", "failed",
                                                                timeout=60_000)  # fmt: skip
        expect(page.locator("#import-error")).to_contain_text("not UTF-8 text")
        expect(page.locator("#import-error")).to_contain_text("nothing was issued")
        both_widths(page, f"desk-import-encoding-refused-{lang}")
    with site.rt.sessions() as s:
        names = set(s.scalars(select(Licence.holder_name)))
    assert not any(n.startswith(RARE) for n in names)  # nothing of the file was issued

    page.goto(f"{site.url}/desk/import?lang=zh")
    page.select_option("#import-type", "BL01")
    page.set_input_files("#csv", str(source))
    page.select_option("#encoding", "gb18030")
    expect(page.locator("#encoding")).to_have_value("gb18030")
    both_widths(page, "desk-import-encoding-gb18030-zh")
    page.click("#import-submit")
    state = page.locator("#import-state")
    expect(state).to_have_attribute("data-state", "done", timeout=120_000)
    expect(page.locator("progress")).to_have_attribute("value", "2")
    both_widths(page, "desk-import-encoding-done-zh")
    with site.rt.sessions() as s:
        names = set(s.scalars(select(Licence.holder_name)))
    assert {f"{RARE}0", f"{RARE}1"} <= names  # every character read as GB18030 wrote it
    page.goto(f"{site.url}/desk/import?lang=en")  # the selector's labels in English
    expect(page.locator("label[for='encoding']")).to_have_text("Encoding of a CSV file")
    expect(page.locator("#encoding option").first).to_have_text("Detect (UTF-8 or GB18030)")
    both_widths(page, "desk-import-encoding-en")


def test_the_issue_form_takes_the_holders_contact(
    site: Site, people: dict[str, str], launch: Launch
) -> None:
    """The optional e-mail and phone on the desk's issue form: a bad one is refused beside its
    field (422, nothing issued), a good one is kept on the licence (for the reminders)."""
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, people["issuer"])
    for lang, label in (("en", "Holder's e-mail"), ("zh", "持证人电子邮箱")):
        page.goto(f"{site.url}/desk/issue?type_code=BL01&lang={lang}")
        expect(page.locator("label[for='holder_email']")).to_contain_text(label)
    page.fill("#holder_name", "杭州联系测试有限公司")
    page.fill("#holder_id", holder_id(9900))
    for key, value in BUSINESS_FIELDS.items():
        page.fill(f"[name='field:{key}']", value)
    page.fill("#holder_email", "not-an-address")
    page.fill("#holder_phone", "12ab")
    with page.expect_response(lambda r: r.url.endswith("/desk/issue")) as answer:
        page.click("#issue-submit")
    assert answer.value.status == 422
    expect(page.locator("#holder_email-error")).to_contain_text("holder_email")
    expect(page.locator("#holder_phone-error")).to_contain_text("phone number")
    both_widths(page, "desk-issue-contact-errors-zh")
    page.fill("#holder_email", "lianxi@example.cn")
    page.fill("#holder_phone", "13700137000")
    page.click("#issue-submit")
    expect(page.locator("#done")).to_be_visible(timeout=30_000)
    with site.rt.sessions() as s:
        kept = [(lic.holder_email, lic.holder_phone) for lic in s.scalars(select(Licence))
                if lic.holder_name == "杭州联系测试有限公司"]  # fmt: skip
    assert kept == [("lianxi@example.cn", "13700137000")]
