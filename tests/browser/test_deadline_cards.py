"""Issue 22 point 4, the deadline cards (黄牌/红牌) in a real Chromium: an auditor's ``/audit``
and a window clerk's desk show the red, yellow and green cards in Chinese and English, each
card inside a 360 px phone's width; the other agency's staff are not shown them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from licence_service.people.identity import PersonRole
from licence_service.people.service import add_person
from tests.browser.conftest import Launch, Site, screenshot, sign_in_page
from tests.browser.test_counter import DESKTOP, PHONE
from tests.deadline_fixtures import add_consent, add_sharing_request
from tests.people_fixtures import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def board(site: Site) -> dict[str, str]:
    """A red and a green sharing request and a yellow consent, on the site's agency's
    licences (rows only: nothing is signed once the browser runs); the people who look."""
    now = datetime.now(UTC)
    base = site.current.base_id
    red = add_sharing_request(site.rt, base, now - timedelta(days=6))
    green = add_sharing_request(site.rt, base, now - timedelta(hours=1))
    yellow = add_consent(site.rt, site.revoked.base_id, now.date() + timedelta(days=3))
    with site.rt.sessions() as s:
        agency = site.rt.agency(s).code
    units = {
        "auditor": ("audit", PersonRole.AUDITOR),
        "window": (agency, PersonRole.WINDOW_STAFF),
        "other": ("11330100002489466N", PersonRole.WINDOW_STAFF),  # the health agency
    }
    for key, (unit, role) in units.items():
        add_person(site.rt, f"cards-{key}", unit, frozenset({role}), password=PASSWORD)
    return {"red": f"sharing-{red}", "green": f"sharing-{green}", "yellow": f"consent-{yellow}"}


def _card(page: Page, board: dict[str, str], colour: str) -> Locator:
    kind, key = board[colour].split("-")
    return page.locator(f".dl-card[data-kind='{kind}'][data-key='{key}']")


def _fits(page: Page, width: int) -> None:
    """Every card lies inside the viewport's width (nothing to scroll sideways)."""
    for box in page.locator(".dl-card").all():
        b = box.bounding_box()
        assert b is not None and b["x"] >= 0 and b["x"] + b["width"] <= width, b


def test_the_audit_room_shows_the_cards_in_both_languages(
    site: Site, board: dict[str, str], launch: Launch
) -> None:
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    sign_in_page(page, site.url, "cards-auditor")
    page.goto(site.url + "/audit?lang=zh")
    expect(page.locator("#deadlines h2")).to_have_text("时限预警（黄牌/红牌）")
    for colour, word in (("red", "红牌"), ("yellow", "黄牌"), ("green", "正常")):
        card = _card(page, board, colour)
        expect(card).to_have_attribute("data-state", colour)
        expect(card.locator(".dl-state")).to_have_text(word)
    expect(_card(page, board, "red").locator(".dl-left")).to_contain_text("已超时")
    expect(_card(page, board, "red").locator(".dl-detail")).to_have_text("申请地区: 440300")
    assert page.locator(".dl-card").first.get_attribute("data-state") == "red"  # red first
    screenshot(page, "deadlines-audit-zh-desktop")
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.goto(site.url + "/audit?lang=en")
    expect(page.locator("#deadlines h2")).to_have_text("Deadline cards")
    expect(_card(page, board, "red").locator(".dl-state")).to_have_text("red card")
    expect(_card(page, board, "yellow").locator(".dl-kind")).to_have_text("Consent running out")
    expect(_card(page, board, "yellow").locator(".dl-detail")).to_have_text(
        "Granted to region: 440300"
    )
    _fits(page, PHONE["width"])
    screenshot(page, "deadlines-audit-en-phone")


def test_the_desk_shows_a_clerk_their_agency_cards_only(
    site: Site, board: dict[str, str], launch: Launch
) -> None:
    browser = launch()
    page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    sign_in_page(page, site.url, "cards-window")
    for lang, word in (("zh", "红牌"), ("en", "red card")):
        page.goto(f"{site.url}/desk?lang={lang}")
        expect(_card(page, board, "red").locator(".dl-state")).to_have_text(word)
        expect(_card(page, board, "yellow")).to_be_visible()
        _fits(page, PHONE["width"])
        screenshot(page, f"deadlines-desk-{lang}-phone")
    other = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    sign_in_page(other, site.url, "cards-other")
    other.goto(site.url + "/desk?lang=en")
    expect(other.locator("#deadlines")).to_be_visible()
    for colour in ("red", "yellow", "green"):
        expect(_card(other, board, colour)).to_have_count(0)
