"""Issue 20 point 1, the counter's search box in a real Chromium: window staff signed in type
the holder's credit code as an ID-card reader does (the characters, then Enter) and see the
holder's licences with their status, the holder masked; a scanned holder code (``LLH1:``)
finds the same; a wrong check character shows the check's error naming ``holder_id``;
nobody signed in is told to sign in. Both languages; screenshots at desktop and 360 px (no
sideways scrolling); the CSP watch of every browser test fails on any violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    Launch,
    Site,
    both_widths,
    screenshot,
    sign_in_page,
)
from tests.service_fixtures import HOLDER_USCC

pytestmark = pytest.mark.e2e
BAD_USCC = HOLDER_USCC[:-1] + ("0" if HOLDER_USCC[-1] != "0" else "1")


def _search(page: Page, text: str) -> None:
    """Type ``text`` key by key and press Enter, as an ID-card reader or scanner does."""
    page.locator("#holder-id").press_sequentially(text)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_window_staff_find_a_holders_licences(
    site: Site, people: dict[str, str], launch: Launch
) -> None:
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, people["window"])
    page.goto(site.url + "/verify")
    _search(page, HOLDER_USCC)
    rows = page.locator("#holder-licences tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#holder-licences")).to_contain_text(site.valid.licence_id)
    expect(page.locator("#holder-licences")).to_contain_text(site.revoked.licence_id)
    expect(page.locator("#holder-licences")).to_contain_text(site.current.licence_id)
    body = page.locator("#holder-results").inner_text()
    assert "有效" in body and "已撤销" in body  # status, in Chinese by default
    assert HOLDER_USCC not in body and "杭州青禾科技有限公司" not in body  # window staff: masked
    assert page.locator("#holder-id").input_value() == ""  # the ID is not put back
    both_widths(page, "counter-holder-search")

    page.goto(site.url + "/verify?lang=en")
    _search(page, f"LLH1:{HOLDER_USCC}")  # a scanned holder code
    expect(page.locator("#holder-heading")).to_contain_text("Licences of")
    expect(page.locator("#holder-licences")).to_contain_text(site.valid.licence_id)
    assert "revoked" in page.locator("#holder-results").inner_text()
    both_widths(page, "counter-holder-search-en")

    _search(page, BAD_USCC)
    error = page.locator("#holder-error")
    expect(error).to_contain_text("holder_id")
    expect(error).to_contain_text("check character")
    both_widths(page, "counter-holder-search-error")


def test_nobody_signed_in_is_told_to_sign_in(site: Site, launch: Launch) -> None:
    page = launch().new_page(viewport=PHONE)  # type: ignore[arg-type]
    page.goto(site.url + "/verify")
    _search(page, HOLDER_USCC)
    expect(page.locator("#holder-error")).to_contain_text("/signin")
    assert page.locator("#holder-licences").count() == 0
    screenshot(page, "counter-holder-search-signed-out-phone")
