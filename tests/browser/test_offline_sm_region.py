"""Issue 19 point 6 end to end: an ``sm`` region (``init_region(crypto="sm")``: SM2 CA and
agency certificates, SM2-signed QR codes) served on loopback, its counter page in a real
Chromium. Online, the page caches the trust list (the agency's key listed with suite ``sm``)
and its SM2 verifier; then the network is cut and the fake camera films the issued licence's
printed page: the page decodes the QR code and checks its SM2 signature itself ("signature
genuine, status not checked"); a forged code (claims altered, or signed by another SM2 key)
pasted offline is refused; back online the scans are re-checked and the server says VALID."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import IssuedDocument
from signing import sm2
from signing.compact import sign_compact, verify_compact
from tests.browser.conftest import DESKTOP, Launch, screenshot
from tests.browser.media import camera_video, page_image
from tests.browser.test_counter import VERDICT_WAIT_MS
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving
from tests.service_fixtures import business_request, qr_of, region_runtime
from verifier.qr import parse_token

pytestmark = pytest.mark.e2e


@dataclass
class SmSite:
    url: str
    rt: Runtime
    licence: IssuedDocument
    qr: str


@pytest.fixture(scope="module")
def sm_site(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[SmSite]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = tmp_path_factory.mktemp("sm-browser-region")
    rt = region_runtime(home, anvil, crypto="sm", public_url=url)
    licence = issue_licence(rt, business_request())
    with serving(create_app(rt, background=False), port) as served:
        yield SmSite(served, rt, licence, qr_of(rt, licence.licence_id))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forgeries(qr: str) -> dict[str, str]:
    """The genuine code's claims extended to 2099 with its signature kept, and the same
    claims signed by an SM2 key of the forger's own."""
    token = parse_token(qr)
    message = replace(token.claims, valid_until=date(2099, 12, 31)).message()
    signature = _b64(token.signature)
    own = _b64(sign_compact(sm2.generate_private_key(), message))
    return {"altered": f"LL1.{_b64(message)}.{signature}", "own_key": f"LL1.{_b64(message)}.{own}"}


def test_the_trust_list_of_an_sm_region_lists_sm2_keys(sm_site: SmSite) -> None:
    listing = httpx.get(sm_site.url + "/api/v1/trust-list", timeout=30).json()
    token = parse_token(sm_site.qr)
    keys = [k for k in listing["keys"] if k["issuer_code"] == token.claims.issuer_code]
    assert keys and all(k["suite"] == "sm" and k["jwk"]["crv"] == "SM2" for k in keys), keys
    spki = [sm2.load_public_key_der(base64.b64decode(k["spki"])) for k in keys]
    assert any(verify_compact(key, token.message, token.signature) for key in spki)
    static = httpx.get(sm_site.url + "/static/sm2.js", timeout=30)
    assert static.status_code == 200 and "doVerifySignature" in static.text
    assert static.headers["content-type"].startswith("text/javascript")


def test_an_sm_regions_qr_code_is_checked_offline_from_the_camera(
    sm_site: SmSite, launch: Launch, tmp_path: Path
) -> None:
    frame = page_image(sm_site.licence.pdf_path, tmp_path / "page.png")
    browser = launch(camera_video([frame], tmp_path / "camera.y4m"))
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(sm_site.url + "/verify")
    expect(page.locator("html")).to_have_attribute(
        "data-offline-ready", "", timeout=VERDICT_WAIT_MS
    )
    context.set_offline(True)
    verdict = page.locator("#verdict")

    page.click("#camera-start")  # the camera films the printed page; the page decodes it
    expect(verdict).to_have_attribute("data-verdict", "OFFLINE_GENUINE", timeout=VERDICT_WAIT_MS)
    expect(verdict).to_contain_text("签名真实，状态未核验")
    fact = page.locator("#verdict-box tr[data-field=f_licence] td")
    assert fact.inner_text() == sm_site.licence.licence_id
    screenshot(page, "counter-offline-sm-genuine")

    for name, forged in _forgeries(sm_site.qr).items():
        page.fill("#qr", forged)
        page.click("#submit")
        expect(verdict).to_have_attribute(
            "data-verdict", "OFFLINE_NOT_GENUINE", timeout=VERDICT_WAIT_MS
        )
        expect(verdict).to_contain_text("签名不真实")
        screenshot(page, f"counter-offline-sm-{name}")
    expect(page.locator("#history-list li[data-offline]")).to_have_count(3)

    context.set_offline(False)  # back online: the scans go to the server, which knows the status
    expect(page.locator("#history-list li[data-offline]")).to_have_count(0, timeout=VERDICT_WAIT_MS)
    texts = page.locator("#history-list li").all_inner_texts()
    assert any("VALID" in t for t in texts), texts
