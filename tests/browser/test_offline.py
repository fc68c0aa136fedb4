"""Issue 10, the offline counter, in a real Chromium: the counter page installs its service
worker and caches the trust list while online; with the network cut (Playwright's offline
mode) a genuine QR code shows "signature genuine, status not checked" (never VALID, even for
a revoked licence, whose status cannot be known offline), a forged one (claims altered, or
signed by another P-256 key) "signature NOT genuine"; back online the session's offline scans
are re-checked with the server and the real verdict (REVOKED) is shown.

The forgeries are made here for real: the genuine token's claims changed and re-encoded with
its old signature, and the changed claims signed with a fresh P-256 key by the product's own
encoder, as an attacker with their own key would."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import BrowserContext, Page, expect

from signing.compact import verify_compact
from tests.browser.conftest import DESKTOP, PHONE, Launch, Site, screenshot
from tests.browser.test_counter import VERDICT_WAIT_MS
from tests.hostile.corpus import _b64, _forged, _high_s, _with_claims
from verifier.errors import VerificationError
from verifier.qr import encode_token, parse_token

pytestmark = pytest.mark.e2e
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _public_key(jwk: dict[str, str]) -> ec.EllipticCurvePublicKey:
    def coord(v: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")

    return ec.EllipticCurvePublicNumbers(
        coord(jwk["x"]), coord(jwk["y"]), ec.SECP256R1()
    ).public_key()


def _altered(url: str) -> str:
    """The genuine token with its validity extended, re-encoded, its signature kept."""
    prefix, _, signature = url.rsplit("/", 1)[-1].split(".")
    claims = replace(parse_token(url).claims, valid_until=date(2099, 12, 31))
    raw = base64.urlsafe_b64encode(claims.message()).rstrip(b"=").decode()
    return f"{prefix}.{raw}.{signature}"


def _signed_by_another_key(token: str) -> str:
    claims = replace(parse_token(token).claims, holder_masked="冒*名")
    return encode_token(claims, ec.generate_private_key(ec.SECP256R1()))


def test_trust_list_holds_the_key_that_signs_the_agencys_qr_codes(site: Site) -> None:
    token = site.qr(site.valid).rsplit("/", 1)[-1]
    parsed = parse_token(token)
    listing = httpx.get(site.url + "/api/v1/trust-list", timeout=30).json()
    assert listing["as_of"]["block"] > 0 and listing["types"]["BL01"] == "营业执照"
    keys = [
        k
        for k in listing["keys"]
        if k["issuer_code"] == parsed.claims.issuer_code and k["region"] == parsed.claims.region
    ]
    assert keys, listing["keys"]
    assert any(
        verify_compact(_public_key(k["jwk"]), parsed.message, parsed.signature) for k in keys
    )
    assert all(k["compromised_at"] is None for k in keys)
    assert all(k["suite"] == "intl" and k["jwk"]["crv"] == "P-256" for k in keys)
    assert listing["format"] == "licledger-trust-list/2"
    assert "holder" not in json.dumps(listing)  # public keys only, no personal data


def _online_counter(
    launch: Launch, site: Site, viewport: dict[str, int]
) -> tuple[Page, BrowserContext]:
    """A counter page loaded online with its service worker installed and the trust list
    cached (the page marks both on ``<html>``)."""
    context = launch().new_context(viewport=viewport)  # type: ignore[arg-type]
    # every tone the page plays (WebAudio), by frequency: 880 Hz is the VALID tone
    context.add_init_script(
        """window.__tones = [];
        const start = OscillatorNode.prototype.start;
        OscillatorNode.prototype.start = function (...args) {
            window.__tones.push(this.frequency.value);
            return start.apply(this, args);
        };"""
    )
    page = context.new_page()
    page.goto(site.url + "/verify")
    expect(page.locator("html")).to_have_attribute(
        "data-offline-ready", "", timeout=VERDICT_WAIT_MS
    )
    return page, context


def _paste(page: Page, payload: str) -> None:
    page.fill("#qr", payload)
    page.click("#submit")


def test_offline_scan_checks_the_signature_and_rechecks_when_back_online(
    site: Site, launch: Launch
) -> None:
    page, context = _online_counter(launch, site, DESKTOP)
    genuine = site.qr(site.revoked)
    context.set_offline(True)
    verdict = page.locator("#verdict")

    _paste(page, _altered(genuine))
    expect(verdict).to_have_attribute(
        "data-verdict", "OFFLINE_NOT_GENUINE", timeout=VERDICT_WAIT_MS
    )
    expect(verdict).to_have_class("verdict invalid")
    expect(verdict).to_contain_text("签名不真实")
    screenshot(page, "counter-offline-desktop-altered")

    _paste(page, _signed_by_another_key(genuine))
    expect(verdict).to_have_attribute(
        "data-verdict", "OFFLINE_NOT_GENUINE", timeout=VERDICT_WAIT_MS
    )

    _paste(page, genuine)  # a revoked licence: offline nothing can say so, and nothing says VALID
    expect(verdict).to_have_attribute("data-verdict", "OFFLINE_GENUINE", timeout=VERDICT_WAIT_MS)
    expect(verdict).to_have_class("verdict attention")
    expect(verdict).to_contain_text("签名真实，状态未核验")
    expect(page.locator("#network-status")).to_be_visible()
    fact = page.locator("#verdict-box tr[data-field=f_licence] td")
    assert fact.inner_text() == site.revoked.licence_id
    type_fact = page.locator("#verdict-box tr[data-field=f_type] td")
    assert type_fact.inner_text() == "营业执照"
    expect(page.locator("#history-list li[data-offline]")).to_have_count(3)
    assert page.evaluate("window.__tones") == [220, 220, 220]  # a tone each, never VALID's
    screenshot(page, "counter-offline-desktop-genuine")

    context.set_offline(False)  # the "online" event: the three scans go to the server
    expect(verdict).to_have_attribute("data-verdict", "REVOKED", timeout=VERDICT_WAIT_MS)
    expect(page.locator("#rechecked")).to_be_visible()
    expect(page.locator("#history-list li[data-offline]")).to_have_count(0)
    expect(page.locator("#history-list .rechecked")).to_have_count(3)
    expect(page.locator("#network-status")).to_be_hidden()
    screenshot(page, "counter-offline-desktop-rechecked")


def test_a_qr_link_opened_offline_at_phone_width(site: Site, launch: Launch) -> None:
    """The service worker answers a QR link (/v/…) offline with the cached counter, which
    checks the link's code itself; at 360 px nothing scrolls sideways."""
    page, context = _online_counter(launch, site, PHONE)
    context.set_offline(True)
    page.goto(site.qr(site.valid))
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "OFFLINE_GENUINE", timeout=VERDICT_WAIT_MS)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the offline verdict is {width} px wide at 360 px"
    screenshot(page, "counter-offline-phone-genuine")


def test_the_browser_check_refuses_a_compromised_key_and_a_high_s_twin(
    site: Site, launch: Launch
) -> None:
    """The page's own check (``LLOffline.check``, what a scan offline runs) on the served
    trust list: a key the directory reports compromised makes a genuine signature count for
    nothing, and the signature's high-S twin, which WebCrypto alone would accept, is refused
    as verifier/qr.py refuses it."""
    page, _ = _online_counter(launch, site, DESKTOP)
    url = site.qr(site.valid)
    prefix, claims, signature = url.rsplit("/", 1)[-1].split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    s = int.from_bytes(raw[32:], "big")
    twin = raw[:32] + (P256_ORDER - s).to_bytes(32, "big")
    high_s = f"{prefix}.{claims}.{base64.urlsafe_b64encode(twin).rstrip(b'=').decode()}"
    outcomes = page.evaluate(
        """async ([genuine, highS]) => {
            const list = await (await fetch("/api/v1/trust-list")).json();
            const lost = structuredClone(list);
            lost.keys.forEach((k) => (k.compromised_at = "2026-01-01T00:00:00+00:00"));
            const check = (t, l) => window.LLOffline.check(t, l).then((o) => o.outcome);
            return [await check(genuine, list), await check(genuine, lost),
                    await check(highS, list), await check(genuine + "x", list)];
        }""",
        [url, high_s],
    )
    assert outcomes == ["GENUINE", "KEY_COMPROMISED", "NOT_GENUINE", "UNREADABLE"], outcomes


def _python_outcome(site: Site, payload: str) -> str:
    """What verifier/qr.py says of ``payload`` against the agency's own key: the reference
    the browser's check must agree with."""
    try:
        token = parse_token(payload)
    except VerificationError:
        return "UNREADABLE"
    cert = site.rt.trust_store().agencies.get(token.claims.issuer_code)
    if cert is None:
        return "UNKNOWN_ISSUER"
    return "GENUINE" if verify_compact(cert, token.message, token.signature) else "NOT_GENUINE"


def test_the_browser_check_agrees_with_verifier_qr_on_hostile_codes(
    site: Site, launch: Launch
) -> None:
    """The hostile corpus's QR mutations of a genuine code (re-encodings, altered claims,
    forged and high-S signatures, truncation, a lone surrogate that Python cannot encode),
    each judged by verifier/qr.py and by the page's ``LLOffline.check``: the same answer."""
    tok = site.qr(site.valid).rsplit("/", 1)[-1]
    prefix, claims_b64, sig_b64 = tok.split(".")
    raw = base64.urlsafe_b64decode(claims_b64 + "=" * (-len(claims_b64) % 4))
    body = json.loads(raw)
    unicode_escaped = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    holder = f'"h":"{body["h"]}"'.encode()
    lone_surrogate = raw.replace(holder, b'"h":"\\ud800"')  # JSON's escape of a lone surrogate
    assert lone_surrogate != raw
    payloads = {
        "genuine": tok,
        "as_url": site.qr(site.valid),
        "truncated_last_char": tok[:-1],
        "truncated_half": tok[: len(tok) // 2],
        "padded_base64": f"{prefix}.{claims_b64}==.{sig_b64}",
        "standard_base64": f"{prefix}.{base64.b64encode(raw).decode()}.{sig_b64}",
        "unicode_escaped": f"{prefix}.{_b64(unicode_escaped)}.{sig_b64}",
        "region_as_text": _with_claims(tok, {"r": str(body["r"])}),
        "region_as_float": _with_claims(tok, {"r": float(body["r"])}),
        "lone_surrogate": f"{prefix}.{_b64(lone_surrogate)}.{sig_b64}",
        "extra_claim": _with_claims(tok, {"z": 1}),
        "claims_extended": _with_claims(tok, {"x": "20991231"}),
        "other_agency_code": _with_claims(tok, {"a": "91330000000000000X"}),
        "high_s_twin": _high_s(tok),
        "forged": _forged(tok),
    }
    expected = {name: _python_outcome(site, p) for name, p in payloads.items()}
    assert expected["genuine"] == expected["as_url"] == "GENUINE"
    assert expected["lone_surrogate"] == "UNREADABLE"  # a typed refusal, no longer a crash
    r = httpx.post(site.url + "/api/v1/verify/qr", json={"payload": payloads["lone_surrogate"]})
    assert r.status_code == 422 and "damaged" in r.json()["detail"], r.text
    page, _ = _online_counter(launch, site, DESKTOP)
    seen = page.evaluate(
        """async (payloads) => {
            const list = await (await fetch("/api/v1/trust-list")).json();
            const out = {};
            for (const [name, p] of Object.entries(payloads)) {
                out[name] = (await window.LLOffline.check(p, list)).outcome;
            }
            return out;
        }""",
        payloads,
    )
    assert seen == expected
