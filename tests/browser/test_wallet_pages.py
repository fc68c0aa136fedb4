"""Issue 20.2/20.3/20.6 in a real Chromium: a holder signs in to the wallet pages (ID number
and password, then the one-time code the notifier sent), sees their licences and one licence
with its presentation code, at phone width (360 px) and on a desktop, in both languages;
screenshots in ``test-artifacts/screenshots/``. And the attacks: a holder's session opens no
other holder's licence page (404), a staff credential opens no wallet page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from ledger_client.node import AnvilNode
from tests.browser.conftest import DESKTOP, PHONE, Launch, screenshot
from tests.people_fixtures import PASSWORD as STAFF_PASSWORD
from tests.wallet.fixtures import CITIZEN, HOLDER_USCC, PASSWORD, WalletRegion, wallet_region

pytestmark = pytest.mark.e2e
CONTACTS = {CITIZEN: "wang@example.cn", HOLDER_USCC: "13800138000"}


@pytest.fixture(scope="module")
def wr(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[WalletRegion]:
    with wallet_region(tmp_path_factory.mktemp("wallet-pages"), anvil) as region:
        with region.client() as c:
            for holder, contact in CONTACTS.items():
                body = {"holder_id": holder, "activation_code": region.activate(holder),
                        "password": PASSWORD, "contact": contact}  # fmt: skip
                assert c.post("/api/v1/wallet/register", json=body).status_code == 201
        yield region


def _sign_in(page: Page, wr: WalletRegion, holder: str, lang: str) -> None:
    page.goto(f"{wr.url}/wallet/signin?lang={lang}")
    page.fill("#holder_id", holder)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#sent-to")).to_be_visible()
    page.fill("#code", wr.codes.last_code(CONTACTS[holder]))
    page.click("#submit")
    expect(page.locator("#wallet-licences")).to_be_visible()


@pytest.mark.parametrize(("width", "lang"), [("phone", "zh"), ("desktop", "en")])
def test_a_holder_signs_in_and_sees_their_licence_with_a_fresh_code(
    wr: WalletRegion, launch: Launch, width: str, lang: str
) -> None:
    page = launch().new_page(viewport=PHONE if width == "phone" else DESKTOP)  # type: ignore[arg-type]
    _sign_in(page, wr, CITIZEN, lang)
    rows = page.locator("#wallet-licences a")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text(wr.citizen)
    assert page.locator("#wallet-licences").inner_text().count(wr.company) == 0
    screenshot(page, f"wallet-{width}-{lang}-list")
    rows.first.click()
    code = page.locator("#presentation-code")
    expect(code).to_be_visible()
    for _ in range(100):  # the drawn code has arrived (no wait_for_function: the CSP bars eval)
        if page.evaluate("document.getElementById('presentation-code').naturalWidth") > 100:
            break
        page.wait_for_timeout(200)
    else:
        pytest.fail("the presentation code was not drawn")
    first = code.get_attribute("src")
    page.locator(".present-field").nth(1).check()  # a second field shown: a new code
    expect(code).not_to_have_attribute("src", first or "", timeout=10_000)
    assert code.get_attribute("data-fields") == "holder_name,holder_id"
    expect(page.locator("#wallet-status")).to_have_text("ACTIVE")
    expect(page.locator("#copy-form")).to_be_visible()
    expect(page.locator("#consent-form")).to_be_visible()
    if width == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"wallet-{width}-{lang}-licence")
    if width == "desktop":  # a use-specific copy made from the form (signed, anchored)
        page.select_option("#purpose", "办理银行开户")
        page.fill("#recipient", "中国银行杭州分行")
        page.fill("#copy_until", str(date.today() + timedelta(days=30)))
        page.click("#copy-submit")
        expect(page.locator("#wallet-copies tr:not(.empty) td").first).to_contain_text(
            wr.citizen + "/", timeout=30_000
        )
        screenshot(page, f"wallet-{width}-{lang}-copy-made")
        page.fill("#grantee_region", "440300")  # consent to region B, then withdrawn
        page.fill("#consent_purpose", "异地办理政务服务")
        page.fill("#consent_until", str(date.today() + timedelta(days=30)))
        page.click("#consent-submit")
        consents = page.locator("#wallet-consents")
        expect(consents).to_contain_text("异地办理政务服务", timeout=30_000)
        expect(consents).to_contain_text("active")
        page.click("#wallet-consents .withdraw")
        expect(consents).to_contain_text("withdrawn", timeout=30_000)
        expect(page.locator("#wallet-consents .withdraw")).to_have_count(0)
    pdf = page.request.get(wr.url + page.locator("#wallet-pdf").get_attribute("href"))  # type: ignore[operator]
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.click("#wallet-signout")
    page.goto(f"{wr.url}/wallet/l/{wr.citizen}")
    expect(page.locator("#wallet-signin")).to_be_visible()  # the session ended


def test_no_other_holders_page_and_no_wallet_page_for_staff(
    wr: WalletRegion, launch: Launch
) -> None:
    client, _ = wr.signed_in(CITIZEN, CONTACTS[CITIZEN])
    try:
        for path in (f"/wallet/l/{wr.company}", f"/wallet/l/{wr.company}/code.svg"):
            r = client.get(path)
            assert r.status_code == 404, (path, r.text)
            assert HOLDER_USCC not in r.text
        assert client.get(f"/wallet/l/{wr.citizen}").status_code == 200
    finally:
        client.close()
    with httpx.Client(base_url=wr.url, headers=wr.staff["window"]) as staff:
        for path in ("/wallet", f"/wallet/l/{wr.company}"):
            r = staff.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/wallet/signin", path
        assert staff.get(f"/wallet/l/{wr.company}/code.svg").status_code == 401

    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    page.goto(f"{wr.url}/signin")  # a staff cookie session, signed in on the desk's page
    page.fill("#username", "window-w")
    page.fill("#password", STAFF_PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(f"{wr.url}/desk")
    page.goto(f"{wr.url}/wallet/l/{wr.company}")
    expect(page.locator("#wallet-signin")).to_be_visible()
    assert HOLDER_USCC not in page.content()
