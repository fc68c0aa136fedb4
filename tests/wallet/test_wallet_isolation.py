"""Issue 20.2/20.3 on a served region: what a holder does in the wallet, and that a holder
sees nothing of anybody else (another holder's licence id in every wallet route, a staff
credential on wallet routes, a wallet session on staff routes). The wallet routes are read
from the app itself, so a new one is covered without editing this test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.services.presentation import verify_presentation
from signing.compact import sign_compact
from tests.service_fixtures import qr_of
from tests.wallet.fixtures import CITIZEN, HOLDER_USCC, WalletRegion, wallet_region
from verifier.presentation import encode_presentation, parse_presentation
from verifier.verdicts import Verdict

pytestmark = pytest.mark.e2e
PUBLIC = ("/api/v1/wallet/", "/api/v1/verify", "/api/v1/trust-list", "/api/v1/health")
SOON = (date.today() + timedelta(days=30)).isoformat()
BODIES = {
    "copies": {"purpose": "办理银行开户", "recipient": "某银行", "valid_until": SOON},
    "consents": {
        "grantee_region": 440300,
        "purpose": "跨省办事",
        "valid_until": SOON,
    },
    "presentation": {"fields": ["holder_name"]},
}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[WalletRegion]:
    with wallet_region(tmp_path_factory.mktemp("wallet-isolation"), anvil) as r:
        for holder, contact in ((CITIZEN, "wang@example.cn"), (HOLDER_USCC, "13800138000")):
            body = {"holder_id": holder, "activation_code": r.activate(holder),
                    "password": "violet harbour lantern seven", "contact": contact}  # fmt: skip
            with r.client() as c:
                assert c.post("/api/v1/wallet/register", json=body).status_code == 201
        yield r


def _wallet_routes(region: WalletRegion) -> list[tuple[str, str]]:
    paths = create_app(region.rt, background=False).openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() if p.startswith("/api/v1/wallet/")
            for m in ops]  # fmt: skip


def _call(c: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = next((b for k, b in BODIES.items() if path.endswith(k)), {})
    return c.request(method, path, json=body if method == "POST" else None, headers=headers)


def test_a_holder_sees_nothing_of_another_holder(region: WalletRegion) -> None:
    citizen, csrf = region.signed_in(CITIZEN, "wang@example.cn")
    company, company_csrf = region.signed_in(HOLDER_USCC, "13800138000")
    with closing(company):  # the company grants a consent the citizen will try to withdraw
        r = company.post(f"/api/v1/wallet/licences/{region.company}/consents",
                         json=BODIES["consents"], headers=company_csrf)  # fmt: skip
        assert r.status_code == 201, r.text
        consent = r.json()["consent_id"]
    routes = [(m, p) for m, p in _wallet_routes(region) if "{licence_id}" in p]
    assert len(routes) >= 5, routes
    with closing(citizen):
        for method, template in routes:
            r = _call(citizen, method, template.format(licence_id=region.company), csrf)
            assert r.status_code == 404, (method, template, r.status_code, r.text)
            assert HOLDER_USCC not in r.text and "青禾" not in r.text, r.text
        r = citizen.post(f"/api/v1/wallet/consents/{consent}/withdraw", headers=csrf)
        assert r.status_code == 404, r.text
        # a document of another holder's licence named through one's own licence
        r = citizen.get(f"/api/v1/wallet/licences/{region.citizen}/pdf",
                        params={"document": region.company})  # fmt: skip
        assert r.status_code == 404, r.text
        listed = citizen.get("/api/v1/wallet/licences").json()
        assert {x["licence_id"] for x in listed} == {region.citizen}
        # without the CSRF header a state change is refused
        r = citizen.post(f"/api/v1/wallet/licences/{region.citizen}/presentation", json={})
        assert r.status_code == 403, r.text


def test_a_wallet_page_not_found_is_a_page_in_the_holders_language(region: WalletRegion) -> None:
    citizen, _ = region.signed_in(CITIZEN, "wang@example.cn")
    unknown = region.company[:-6] + "999999"  # shaped like a licence id, held by nobody
    with closing(citizen):
        for lang, tag, words in (("zh", "zh-CN", "您的证照夹中没有证照"),
                                 ("en", "en", "There is no licence")):  # fmt: skip
            bodies = []
            for base in (region.company, unknown):  # another holder's, and nobody's
                r = citizen.get(f"/wallet/l/{base}", params={"lang": lang})
                assert r.status_code == 404, (base, r.status_code, r.text)
                assert r.headers["content-type"].startswith("text/html"), r.headers
                assert words in r.text and f"<html lang='{tag}'>" in r.text, r.text[:300]
                assert HOLDER_USCC not in r.text and "青禾" not in r.text, r.text
                bodies.append(r.text.replace(base, "<id>"))
            assert bodies[0] == bodies[1]  # no oracle of who holds what
        r = citizen.get(f"/api/v1/wallet/licences/{region.company}")  # the API keeps JSON
        assert r.status_code == 404 and r.json()["field"] == "licence_id", r.text


def test_staff_credentials_open_no_wallet_and_a_wallet_opens_no_staff_route(
    region: WalletRegion,
) -> None:
    routes = _wallet_routes(region)
    with region.client() as c:
        for method, template in routes:
            if template.endswith(("/register", "/sign-in", "/sign-in/code", "/activations")):
                continue
            path = template.format(licence_id=region.citizen, consent_id=1)
            for who in ("window", "issuer", "auditor"):
                r = _call(c, method, path, region.staff[who])
                assert r.status_code == 401, (who, method, path, r.status_code, r.text)
    paths = create_app(region.rt, background=False).openapi()["paths"]
    staff_gets = [p for p, ops in paths.items() if "get" in ops and not p.startswith(PUBLIC)]
    assert len(staff_gets) > 10, staff_gets
    citizen, csrf = region.signed_in(CITIZEN, "wang@example.cn")
    with closing(citizen):
        for template in [*staff_gets, "/desk", f"/desk/licences/{region.citizen}"]:
            path = re.sub(r"{\w+}", "1", template.replace("{licence_id}", region.citizen))
            r = citizen.get(path, headers=csrf, follow_redirects=False)
            assert r.status_code in (303, 401, 403, 422), (path, r.status_code, r.text)
            assert "莫干山路777号" not in r.text and CITIZEN not in r.text, path
        r = citizen.post("/api/v1/wallet/activations", json={"holder_id": CITIZEN}, headers=csrf)
        assert r.status_code == 401, r.text  # a holder cannot vouch for anybody, even themself


def test_the_holder_uses_their_wallet(region: WalletRegion) -> None:
    with region.client() as c:  # two verifications at a counter, counted per day
        for _ in range(2):
            r = c.post("/api/v1/verify/qr", json={"payload": qr_of(region.rt, region.citizen)})
            assert r.status_code == 200 and r.json()["verdict"] == "VALID", r.text
    citizen, csrf = region.signed_in(CITIZEN, "wang@example.cn")
    base = f"/api/v1/wallet/licences/{region.citizen}"
    with closing(citizen):
        view = citizen.get(base).json()
        assert view["metadata"]["fields"]["住址"] == "浙江省杭州市拱墅区莫干山路777号"  # in full
        today = datetime.now(UTC).date().isoformat()
        assert {"day": today, "count": 2} in view["uses"]["verifications"], view["uses"]
        pdf = citizen.get(f"{base}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.status_code
        for bad in ("办", "用" * 61, "办理\u202e开户"):  # too short, too long, invisible
            r = citizen.post(f"{base}/copies", json={**BODIES["copies"], "purpose": bad},
                             headers=csrf)  # fmt: skip
            assert r.status_code == 422 and r.json()["field"] == "purpose", r.text
        r = citizen.post(f"{base}/copies", json=BODIES["copies"], headers=csrf)
        assert r.status_code == 201, r.text
        r = citizen.post(f"{base}/copies", json={**BODIES["copies"], "purpose": "办理出国签证"},
                         headers=csrf)  # fmt: skip
        assert r.status_code == 201, r.text  # free text: the sources name no list of purposes
        copy_pdf = citizen.get(f"{base}/pdf", params={"document": r.json()["identifier"]})
        assert copy_pdf.status_code == 200 and copy_pdf.content != pdf.content
        r = citizen.post(f"{base}/consents", json=BODIES["consents"], headers=csrf)
        assert r.status_code == 201, r.text
        consent = r.json()["consent_id"]
        r = citizen.post(f"/api/v1/wallet/consents/{consent}/withdraw", headers=csrf)
        assert r.status_code == 200, r.text
        consents = citizen.get(base).json()["consents"]
        assert [c["withdrawn"] for c in consents if c["consent_id"] == consent] == [True]


def test_presentation_codes(region: WalletRegion) -> None:
    citizen, csrf = region.signed_in(CITIZEN, "wang@example.cn")
    with closing(citizen):
        r = citizen.post(f"/api/v1/wallet/licences/{region.citizen}/presentation",
                         json={"fields": ["holder_name", "准驾车型"]}, headers=csrf)  # fmt: skip
        assert r.status_code == 200, r.text
        token = r.json()["token"]
    with region.client() as c:
        r = c.post("/api/v1/verify/qr", json={"payload": token})
        answer = r.json()
        assert answer["verdict"] == "VALID", answer
        assert answer["document_note"].startswith("presented by the holder at "), answer
        assert answer["presentation"]["fields"] == {"holder_name": "王小明",
                                                             "准驾车型": "C1"}  # fmt: skip
    later = datetime.now(UTC) + timedelta(seconds=121)  # the screenshot replayed
    assert verify_presentation(region.rt, token, later).verdict is Verdict.PRESENTATION_EXPIRED
    # moved to another licence and signed again with the agency's key (an insider, a bug):
    claims = parse_presentation(token).claims
    moved = type(claims)(**{**claims.__dict__, "identifier": region.company})
    key = region.rt.agency_credentials(claims.issuer_code).key
    forged = encode_presentation(moved, sign_compact(key, moved.signed_message()))
    assert verify_presentation(region.rt, forged).verdict is Verdict.PRESENTATION_WRONG_LICENCE
    # moved without the key: the signature no longer matches
    edited = encode_presentation(moved, parse_presentation(token).signature)
    assert verify_presentation(region.rt, edited).verdict is Verdict.TAMPERED
    # a presentation signature never passes for a printed QR code (domain separated)
    printed = parse_presentation(token)
    assert printed.claims.signed_message().startswith(b"LP1\x00")
