"""Issue 19 point 6, the offline counter's SM2 check, in a real Chromium, against tokens the
product's own signing layer makes (``signing/compact.py``'s SM2 path, tongsuopy in C).

The page is the counter's real scripts (``static/sm2.js``, the locked sm-crypto build copied by
``make setup``, and ``static/offline.js``) under the app's own Content-Security-Policy, served
by Playwright's router from the static folder: no chain, no region, so the JavaScript is checked
on its own. Each payload's outcome in the browser must be the one ``verify_compact`` gives in
Python; genuine codes of many keys (leading zero bytes in r, s, x or y included by chance
over the run) verify, and every forgery — claims altered, another SM2 key, the ``(r, n - s)``
shape, out-of-range scalars, an intl key labelled ``sm`` and an SM2 key labelled ``intl`` — is
refused."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, Route

from licence_service.api.headers import CSP
from licence_service.api.pages.assets import STATIC
from licence_service.services.trust_list import _key_entry
from signing import sm2
from signing.certificates import create_region_ca, issue_agency_certificate
from signing.compact import sign_compact, verify_compact
from signing.sm2_certificates import (
    SmKeyAndCert,
    create_sm_region_ca,
    issue_sm_agency_certificate,
)
from tests.browser.conftest import Launch
from verifier.qr import QrClaims

pytestmark = pytest.mark.e2e

ORIGIN = "http://localhost"  # a secure context, so WebCrypto is there for the intl payloads
AGENCY = "11440000MB2F12345X"
REGION = 440000
CLAIMS = QrClaims("44000020260001234A", "a1b2c3d4e5f60718", date(2031, 5, 20), AGENCY, REGION,
                  "BL01", "深圳*科技有限公司")  # fmt: skip
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>sm2</title></head><body>
<script src="/static/sm2.js"></script><script src="/static/offline.js"></script></body></html>"""
NO_SM2_PAGE = PAGE.replace('<script src="/static/sm2.js"></script>', "")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(claims: QrClaims, key: Any, signature: bytes | None = None) -> str:
    message = claims.message()
    return f"LL1.{_b64(message)}.{_b64(signature or sign_compact(key, message))}"


def _entry(cert: Any, **extra: Any) -> dict[str, Any]:
    entry = _key_entry(cert)
    assert entry is not None
    return entry | {"issuer_code": AGENCY, "region": REGION, "compromised_at": None} | extra


def _serve(page: Page, html: str) -> None:
    """The counter's scripts from the static folder, and a page loading them, each with the
    app's CSP (no inline script: the page's checks run through ``evaluate``)."""

    def handle(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        headers = {"content-security-policy": CSP}
        if path.startswith("/static/"):
            body = (STATIC / path.removeprefix("/static/")).read_bytes()
            route.fulfill(body=body, content_type="text/javascript", headers=headers)
        else:
            route.fulfill(body=html, content_type="text/html", headers=headers)

    page.route(f"{ORIGIN}/**", handle)
    page.goto(f"{ORIGIN}/check")


def _outcomes(page: Page, payloads: dict[str, str], keys: list[dict[str, Any]]) -> Any:
    return page.evaluate(
        """async ([payloads, keys]) => {
            const out = {};
            for (const [name, p] of Object.entries(payloads)) {
                try {
                    out[name] = (await window.LLOffline.check(p, { keys })).outcome;
                } catch (e) {
                    out[name] = "THROWS: " + e.message;
                }
            }
            return out;
        }""",
        [payloads, keys],
    )


@pytest.fixture(scope="module")
def sm_agency() -> SmKeyAndCert:
    ca = create_sm_region_ca(str(REGION), "广东省电子证照根证书")
    return issue_sm_agency_certificate(ca, AGENCY, "广东省市场监督管理局", str(REGION))


def _python(payload_key: Any, claims: QrClaims, signature: bytes) -> str:
    return "GENUINE" if verify_compact(payload_key, claims.message(), signature) else "NOT_GENUINE"


def test_the_browser_checks_sm2_codes_as_the_signing_layer_does(
    launch: Launch, sm_agency: SmKeyAndCert
) -> None:
    page = launch().new_page()
    _serve(page, PAGE)
    genuine_sig = sign_compact(sm_agency.key, CLAIMS.message())
    r, s = genuine_sig[:32], int.from_bytes(genuine_sig[32:], "big")
    twin = r + (sm2.SM2_ORDER - s).to_bytes(32, "big")
    altered = replace(CLAIMS, valid_until=date(2099, 12, 31))
    other_key = sm2.generate_private_key()
    n_bytes = sm2.SM2_ORDER.to_bytes(32, "big")
    signatures = {
        "genuine": (CLAIMS, genuine_sig),
        "claims_altered": (altered, genuine_sig),
        "other_sm2_key": (CLAIMS, sign_compact(other_key, CLAIMS.message())),
        "n_minus_s": (CLAIMS, twin),
        "r_zero": (CLAIMS, bytes(32) + genuine_sig[32:]),
        "s_is_n": (CLAIMS, r + n_bytes),
        "r_plus_n": (CLAIMS, n_bytes + genuine_sig[32:]),
    }
    payloads = {name: _token(c, None, sig) for name, (c, sig) in signatures.items()}
    expected = {name: _python(sm_agency.cert, c, sig) for name, (c, sig) in signatures.items()}
    assert expected["genuine"] == "GENUINE"
    assert list(expected.values()).count("GENUINE") == 1, expected
    seen = _outcomes(page, payloads, [_entry(sm_agency.cert)])
    assert seen == expected

    # suites never cross: an intl key's code against an SM2 entry, and the SM2 entry relabelled
    p256 = issue_agency_certificate(create_region_ca(str(REGION), "CA"), AGENCY, "P", str(REGION))
    intl_code = _token(CLAIMS, p256.key)
    crossed = _outcomes(
        page,
        {"intl_code_sm_entry": intl_code, "sm_code_intl_label": payloads["genuine"]},
        [_entry(sm_agency.cert, suite="intl"), _entry(p256.cert, suite="sm")],
    )
    assert crossed == {"intl_code_sm_entry": "NOT_GENUINE", "sm_code_intl_label": "NOT_GENUINE"}
    both = _outcomes(
        page,
        {"intl": intl_code, "sm": payloads["genuine"]},
        [_entry(sm_agency.cert), _entry(p256.cert)],
    )
    assert both == {"intl": "GENUINE", "sm": "GENUINE"}  # a mixed trust list checks either


def test_many_sm2_keys_and_the_standards_example(launch: Launch, sm_agency: SmKeyAndCert) -> None:
    """24 fresh agencies' keys, each its own code (so leading zero bytes in coordinates and
    scalars turn up over the runs), sm-crypto itself on the signature example of
    GB/T 32918.5 Annex A, the time of one check (printed), and a page without sm2.js saying the
    verifier is missing."""
    page = launch().new_page()
    _serve(page, PAGE)
    ca = create_sm_region_ca(str(REGION), "广东省电子证照根证书")
    agencies = [issue_sm_agency_certificate(ca, AGENCY, f"机关{i}", str(REGION)) for i in range(24)]
    for i, agency in enumerate(agencies):
        code = _token(replace(CLAIMS, identifier=f"4400002026{i:07d}A"), agency.key)
        seen = _outcomes(page, {"own": code}, [_entry(agency.cert)])
        others = _outcomes(page, {"other": code}, [_entry(agencies[i - 1].cert)])
        assert (seen, others) == ({"own": "GENUINE"}, {"other": "NOT_GENUINE"}), i
    standard = page.evaluate(
        """() => window.sm2.doVerifySignature(
            Array.from(new TextEncoder().encode("message digest")),
            "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3" +
            "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA",
            "04" + "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020" +
            "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13",
            { hash: true, userId: "1234567812345678" })"""
    )
    assert standard is True
    code = _token(CLAIMS, sm_agency.key)
    ms = page.evaluate(
        """async ([code, keys]) => {
            const started = performance.now();
            for (let i = 0; i < 20; i++) await window.LLOffline.check(code, { keys });
            return (performance.now() - started) / 20;
        }""",
        [code, [_entry(sm_agency.cert)]],
    )
    print(f"offline SM2 check in Chromium: {ms:.1f} ms per code")
    assert ms < 250, f"{ms} ms per SM2 check: too slow for a counter"
    missing = launch().new_page()
    _serve(missing, NO_SM2_PAGE)
    assert _outcomes(missing, {"c": code}, [_entry(sm_agency.cert)]) == {
        "c": "THROWS: the SM2 verifier (/static/sm2.js) is not loaded"
    }


def test_a_p256_entry_without_a_suite_is_still_checked(launch: Launch) -> None:
    """A trust list cached before suites existed (no ``suite`` field) held P-256 keys only:
    the page still checks them with WebCrypto."""
    page = launch().new_page()
    _serve(page, PAGE)
    p256 = issue_agency_certificate(create_region_ca(str(REGION), "CA"), AGENCY, "P", str(REGION))
    old = {k: v for k, v in _entry(p256.cert).items() if k != "suite"}
    fake = _token(CLAIMS, ec.generate_private_key(ec.SECP256R1()))
    seen = _outcomes(page, {"genuine": _token(CLAIMS, p256.key), "fake": fake}, [old])
    assert seen == {"genuine": "GENUINE", "fake": "NOT_GENUINE"}
