"""Issue 20.3 in a real Chromium at phone width: the counter's fake camera films a holder's
presentation code (亮证) and shows it VALID with "presented by the holder at HH:MM:SS"; the
same licence's code made three minutes ago (a screenshot replayed) is refused with its own
verdict. Screenshots in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from licence_service.documents.qr_encode import qr_matrix
from licence_service.domain.national_ids import HolderIdType
from licence_service.people.holders import HolderInfo
from licence_service.services.presentation import make_presentation
from signing.compact import sign_compact
from tests.browser.conftest import PHONE, Launch, Site, screenshot
from tests.browser.media import camera_video
from tests.service_fixtures import HOLDER_USCC
from verifier.presentation import encode_presentation, parse_presentation

pytestmark = pytest.mark.e2e
WAIT_MS = 30_000
HOLDER = HolderInfo(HOLDER_USCC, HolderIdType.USCC, "holder@example.cn")


def _qr_png(token: str, out: Path, scale: int = 6) -> Path:
    """The code as the wallet shows it: black modules, a quiet zone, on a 640x480 frame."""
    matrix = qr_matrix(token.encode())
    size = (len(matrix) + 8) * scale
    img = Image.new("L", (size, size), 255)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                img.paste(0, ((x + 4) * scale, (y + 4) * scale, (x + 5) * scale, (y + 5) * scale))
    frame = Image.new("RGB", (max(640, size), max(480, size)), (255, 255, 255))
    frame.paste(img, ((frame.width - size) // 2, (frame.height - size) // 2))
    frame.save(out)
    return out


def test_a_live_presentation_code_is_valid_and_a_replayed_one_is_refused(
    site: Site, launch: Launch, tmp_path: Path
) -> None:
    made = make_presentation(site.rt, HOLDER, site.valid.licence_id, ["holder_name"])
    video = camera_video([_qr_png(made["token"], tmp_path / "code.png")], tmp_path / "cam.y4m")
    page = launch(video).new_page(viewport=PHONE)  # type: ignore[arg-type]
    page.goto(site.url + "/verify")
    page.click("#camera-start")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "VALID", timeout=WAIT_MS)
    at = parse_presentation(made["token"]).claims.issued.strftime("%H:%M:%S")
    expect(page.locator("#document-note")).to_have_text(f"持证人于 {at} UTC 亮证")  # the zh page
    shown = page.locator("#presented-fields tr[data-field=holder_name] td")
    expect(shown).to_have_text(parse_presentation(made["token"]).claims.fields["holder_name"][0])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "counter-phone-presentation-valid")

    old = parse_presentation(made["token"]).claims
    stale = dataclasses.replace(old, issued_at=int(datetime.now(UTC).timestamp()) - 180)
    key = site.rt.agency_credentials(old.issuer_code).key
    replayed = encode_presentation(stale, sign_compact(key, stale.signed_message()))
    page.fill("#qr", replayed)
    page.click("#submit")
    expect(verdict).to_have_attribute("data-verdict", "PRESENTATION_EXPIRED", timeout=WAIT_MS)
    expect(page.locator("#reason")).to_contain_text("counts for 120 s")
    screenshot(page, "counter-phone-presentation-expired")
