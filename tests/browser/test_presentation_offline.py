"""Issue 20.3 offline, in a real Chromium: with the network cut, the counter checks a holder's
presentation code (LP1) against the cached trust list itself: a live code is genuine with
"presented by the holder at HH:MM:SS" and the fields the holder chose, in both languages; a
code made three minutes ago (a replayed screenshot) is refused as expired."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from licence_service.domain.national_ids import HolderIdType
from licence_service.people.holders import HolderInfo
from licence_service.services.presentation import make_presentation
from signing.compact import sign_compact
from tests.browser.conftest import PHONE, Launch, Site, screenshot
from tests.service_fixtures import HOLDER_USCC
from verifier.presentation import encode_presentation, parse_presentation

pytestmark = pytest.mark.e2e
WAIT_MS = 30_000
HOLDER = HolderInfo(HOLDER_USCC, HolderIdType.USCC, "holder@example.cn")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_offline_counter_checks_a_presentation_code(
    site: Site, launch: Launch, lang: str
) -> None:
    context = launch().new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{site.url}/verify?lang={lang}")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "", timeout=WAIT_MS)
    made = make_presentation(site.rt, HOLDER, site.valid.licence_id, ["holder_name"])
    claims = parse_presentation(made["token"]).claims
    context.set_offline(True)
    page.fill("#qr", made["token"])
    page.click("#submit")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "OFFLINE_GENUINE", timeout=WAIT_MS)
    at = claims.issued.strftime("%H:%M:%S")
    note = f"持证人于 {at} UTC 亮证" if lang == "zh" else f"presented by the holder at {at} UTC"
    expect(page.locator("#document-note")).to_have_text(note)
    shown = page.locator("#presented-fields tr[data-field=holder_name] td")
    expect(shown).to_have_text(claims.fields["holder_name"][0])
    expect(page.locator("#verdict-box tr[data-field=f_licence] td")).to_have_text(
        site.valid.licence_id
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"counter-phone-offline-presentation-{lang}")

    stale = dataclasses.replace(claims, issued_at=int(datetime.now(UTC).timestamp()) - 180)
    key = site.rt.agency_credentials(claims.issuer_code).key
    page.fill("#qr", encode_presentation(stale, sign_compact(key, stale.signed_message())))
    page.click("#submit")
    expect(verdict).to_have_attribute(
        "data-verdict", "OFFLINE_PRESENTATION_EXPIRED", timeout=WAIT_MS
    )
    expect(verdict).to_have_class("verdict invalid")
    expect(page.locator("#reason")).to_contain_text("120")
    screenshot(page, f"counter-phone-offline-presentation-expired-{lang}")

    forged = made["token"][:-4] + ("AAAA" if not made["token"].endswith("AAAA") else "BBBB")
    page.fill("#qr", forged)
    page.click("#submit")
    expect(verdict).not_to_have_attribute("data-verdict", "OFFLINE_GENUINE", timeout=WAIT_MS)
    context.close()
