"""Issue 10, counter page, in a real Chromium: the fake camera plays a video made from a real
issued licence's rendered page and the page decodes the QR code with the bundled jsQR, posts
it to the public verification API and shows the verdict; a tampered PDF dropped on the page
shows TAMPERED; a phone-width viewport has no horizontal scroll; Chinese by default, English
on request. Screenshots of each state go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from licence_service.demo.licences import tamper
from licence_service.services.issue import IssuedDocument
from tests.browser.conftest import DESKTOP, PHONE, Launch, Site, screenshot
from tests.browser.media import camera_video, page_image

pytestmark = pytest.mark.e2e
VERDICT_WAIT_MS = 30_000  # generous: the machine running the suite may be shared


def _camera_on(launch: Launch, tmp_path: Path, *docs: IssuedDocument) -> Page:
    """A page of a browser whose camera films the docs' first pages in turn, scanning."""
    images = [page_image(d.pdf_path, tmp_path / f"page{i}.png") for i, d in enumerate(docs)]
    browser = launch(camera_video(images, tmp_path / "camera.y4m"))
    return browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]


def _scan(page: Page, site: Site, continuous: bool = False) -> None:
    page.goto(site.url + "/verify")
    if continuous:
        page.check("#continuous")
    page.click("#camera-start")


def _fact(page: Page, key: str) -> str:
    return page.locator(f"#verdict-box tr[data-field={key}] td").inner_text()


def test_camera_scan_of_a_valid_licence_shows_valid(
    site: Site, launch: Launch, tmp_path: Path
) -> None:
    page = _camera_on(launch, tmp_path, site.valid)
    _scan(page, site)
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "VALID", timeout=VERDICT_WAIT_MS)
    expect(verdict).to_have_class("verdict valid")
    expect(verdict).to_contain_text("有效")
    assert _fact(page, "f_licence") == site.valid.licence_id
    assert _fact(page, "f_type") == "营业执照"  # a QR verdict names the type, as a PDF's does
    assert int(_fact(page, "f_block")) > 0  # the anchoring block, beside its time
    holder = _fact(page, "f_holder")
    assert "*" in holder and holder != "杭州青禾科技有限公司"
    assert _fact(page, "f_grade").startswith("A")
    assert _fact(page, "f_tx").startswith("0x") and _fact(page, "f_anchored").endswith("UTC")
    assert page.locator("#checks tr").count() >= 3
    expect(page.locator("#history-list li")).to_have_count(1)
    expect(page.locator("#camera-start")).to_be_visible()  # one scan, then the camera stops
    screenshot(page, "counter-desktop-valid")


def test_camera_scan_of_a_revoked_licence_shows_revoked(
    site: Site, launch: Launch, tmp_path: Path
) -> None:
    page = _camera_on(launch, tmp_path, site.revoked)
    _scan(page, site)
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "REVOKED", timeout=VERDICT_WAIT_MS)
    expect(verdict).to_have_class("verdict invalid")
    expect(verdict).to_contain_text("已撤销")
    assert _fact(page, "f_licence") == site.revoked.licence_id
    screenshot(page, "counter-desktop-revoked")


def test_camera_scan_of_a_superseded_licence_shows_the_current_version(
    site: Site, launch: Launch, tmp_path: Path
) -> None:
    page = _camera_on(launch, tmp_path, site.superseded)
    _scan(page, site)
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "SUPERSEDED", timeout=VERDICT_WAIT_MS)
    assert _fact(page, "f_version") == f"{site.superseded.version:03d}"
    assert _fact(page, "f_current") == f"{site.current.version:03d}" == "002"
    screenshot(page, "counter-desktop-superseded")


def test_continuous_scanning_replaces_the_verdict_and_keeps_a_history(
    site: Site, launch: Launch, tmp_path: Path
) -> None:
    page = _camera_on(launch, tmp_path, site.valid, site.revoked)
    _scan(page, site, continuous=True)
    history = page.locator("#history-list li")
    expect(history.nth(1)).to_be_visible(timeout=VERDICT_WAIT_MS * 2)
    texts = history.all_inner_texts()
    assert any("VALID" in t for t in texts) and any("REVOKED" in t for t in texts), texts
    expect(page.locator("#camera-stop")).to_be_visible()  # still scanning for the next one
    screenshot(page, "counter-desktop-continuous")


def test_dropping_a_tampered_pdf_shows_tampered(site: Site, launch: Launch) -> None:
    page = launch().new_page(viewport=DESKTOP)
    page.goto(site.url + "/verify")
    data = tamper(site.valid.pdf_path.read_bytes())  # the demo's forged copy: a changed field
    transfer = page.evaluate_handle(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "licence.pdf", {type: "application/pdf"}));
            return dt;
        }""",
        base64.b64encode(data).decode(),
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "TAMPERED", timeout=VERDICT_WAIT_MS)
    expect(verdict).to_have_class("verdict invalid")
    screenshot(page, "counter-desktop-tampered")


def test_pasted_payload_and_english(site: Site, launch: Launch) -> None:
    page = launch().new_page(viewport=DESKTOP)
    page.goto(site.url + "/verify")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.fill("#qr", site.qr(site.revoked))
    page.click("#submit")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "REVOKED", timeout=VERDICT_WAIT_MS)
    expect(verdict).to_contain_text("Not valid")
    expect(verdict).to_contain_text("revoked")
    screenshot(page, "counter-desktop-english-revoked")


@pytest.mark.parametrize("which", ["verify", "qr-landing"])
def test_phone_width_has_no_horizontal_scroll(site: Site, launch: Launch, which: str) -> None:
    page = launch().new_page(viewport=PHONE, is_mobile=True)  # type: ignore[arg-type]
    if which == "verify":
        page.goto(site.url + "/verify")
    else:
        page.goto(site.qr(site.superseded))  # what a phone's camera app opens
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "SUPERSEDED")
        assert _fact(page, "f_current") == "002"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{which}: the page is {width} px wide at 360 px"
    screenshot(page, f"counter-phone-{which}")
