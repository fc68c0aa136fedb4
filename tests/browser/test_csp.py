"""Issue 24, point 4, in a real Chromium: the browser fixture's CSP guard sees a violation
(so every other browser test, which runs under the same guard, fails on one), the headers
arrive on the counter page, and the QR landing flow under the Referrer-Policy: a QR link
opened in a browser without JavaScript posts the counter's form, whose CSRF check needs the
browser's ``Origin`` header, and gets the verdict."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from licence_service.api.headers import CSP
from tests.browser.conftest import DESKTOP, CspWatch, Launch, Site

pytestmark = pytest.mark.e2e


def test_the_guard_catches_an_inline_script(site: Site, launch: Launch, csp: CspWatch) -> None:
    page = launch().new_page(viewport=DESKTOP)  # type: ignore[arg-type]
    answer = page.goto(site.url + "/verify")
    assert answer is not None and answer.headers["content-security-policy"] == CSP
    assert "camera=(self)" in answer.headers["permissions-policy"]
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.append(s); }"
    )
    page.evaluate("() => { document.body.setAttribute('style', 'color: red'); }")
    page.wait_for_timeout(300)
    csp.settle([page.context.browser] if page.context.browser else [])
    assert page.evaluate("window.injected") is None  # blocked
    seen = "\n".join(csp.violations)
    assert "script-src" in seen and "style-src" in seen, seen
    csp.violations.clear()  # caught as it should be: this test passes


def test_qr_landing_form_post_without_javascript(site: Site, launch: Launch) -> None:
    context = launch().new_context(viewport=DESKTOP, java_script_enabled=False)  # type: ignore[arg-type]
    page = context.new_page()
    link = site.qr(site.valid)
    token = link.rsplit("/", 1)[-1]
    answer = page.goto(f"{site.url}/v/{token}")
    assert answer is not None and answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["cache-control"] == "no-store"
    page.fill("#qr", site.qr(site.revoked))
    page.click("#submit")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "REVOKED", timeout=30_000)
