"""Issue 10, sign-in and roles (first slice): a person signs in with a password in a real
browser and gets a session cookie that is HttpOnly and SameSite=Strict; a window-staff session
posting the issue form directly is refused with 403 (and nothing is issued); an issuer's
session without the form's CSRF token, or from another site, is refused; an issuer's session
with it issues; signing out ends the session."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from licence_service.api.app import create_app
from licence_service.people.sessions import live_sessions
from licence_service.store.models import LicenceVersion
from tests.browser.conftest import Launch, Site, form_token, screenshot, sign_in_http
from tests.chain_fixtures import free_port
from tests.people_fixtures import PASSWORD, serving
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

pytestmark = pytest.mark.e2e


def _issue_form(token: str | None) -> dict[str, str]:
    form = {"type_code": "BL01", "holder_name": "杭州青禾科技有限公司", "holder_id": HOLDER_USCC}
    form |= {f"field:{k}": v for k, v in BUSINESS_FIELDS.items()}
    return form | ({"csrf_token": token} if token else {})


def _licences(site: Site) -> int:
    with site.rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(LicenceVersion)) or 0)


def test_window_staff_posting_the_issue_form_gets_403(site: Site, people: dict[str, str]) -> None:
    before = _licences(site)
    with httpx.Client(base_url=site.url, timeout=60) as c:
        token = sign_in_http(c, people["window"])
        assert c.get("/desk").status_code == 200
        r = c.post("/desk/issue", data=_issue_form(token))
        assert r.status_code == 403 and "issuer" in r.text, r.text
    assert _licences(site) == before


def test_issue_form_needs_the_csrf_token_and_this_site(site: Site, people: dict[str, str]) -> None:
    before = _licences(site)
    with httpx.Client(base_url=site.url, timeout=60) as c:
        token = sign_in_http(c, people["issuer"])
        assert c.post("/desk/issue", data=_issue_form(None)).status_code == 403
        evil = {"Origin": "http://evil.example"}
        assert c.post("/desk/issue", data=_issue_form(token), headers=evil).status_code == 403
        assert _licences(site) == before
        r = c.post("/desk/issue", data=_issue_form(token))
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith("/desk/licences/"), r.headers
        assert _licences(site) == before + 1
        # signing out deletes the session: the same cookie no longer opens the desk
        stolen = dict(c.cookies)
        assert c.post("/signout", data={"csrf_token": token}).status_code == 303
    with httpx.Client(base_url=site.url, cookies=stolen) as replay:
        assert replay.get("/desk").status_code == 401


def test_wrong_password_is_refused_on_the_form(site: Site, people: dict[str, str]) -> None:
    with httpx.Client(base_url=site.url) as c:
        token = form_token(c, "/signin")
        r = c.post("/signin", data={"username": people["issuer"], "password": "nope",
                                    "csrf_token": token})  # fmt: skip
        assert r.status_code == 401 and "wrong password" in r.text
        assert "ll_session" not in r.headers.get("set-cookie", "")


def test_sign_in_in_the_browser(site: Site, people: dict[str, str], launch: Launch) -> None:
    page = launch().new_page(viewport={"width": 1280, "height": 800})
    page.goto(site.url + "/signin")
    screenshot(page, "signin-desktop")
    page.fill("#username", people["window"])
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#roles")).to_have_text("window_staff")
    session = next(c for c in page.context.cookies() if c["name"] == "ll_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("ll_session") == -1  # not readable by scripts
    screenshot(page, "desk-desktop")


def test_an_idle_session_ends_and_is_deleted(site: Site, people: dict[str, str]) -> None:
    """The same region served by a second app whose idle timeout is one second (what
    ``LICLEDGER_SESSION_IDLE_SECONDS`` sets): a session left idle is refused on its next
    request and its row is gone; the cookie never was a bearer token for the API."""
    app = create_app(site.rt, background=False)
    app.state.idle_timeout = 1.0
    with serving(app, free_port()) as url, httpx.Client(base_url=url, timeout=60) as c:
        sign_in_http(c, people["window"])
        session_id = str(c.cookies["ll_session"]).strip('"')
        assert session_id.startswith("lls_")
        bearer = {"Authorization": f"Bearer {session_id}"}
        assert httpx.get(f"{url}/api/v1/me", headers=bearer).status_code == 401
        assert c.get("/desk").status_code == 200  # in use: the idle clock restarts
        assert live_sessions(site.rt, people["window"]) >= 1
        before = live_sessions(site.rt, people["window"])
        time.sleep(1.6)  # idle for longer than the timeout
        refused = c.get("/desk")
        assert refused.status_code == 401 and "idle" in refused.text, refused.text
        assert live_sessions(site.rt, people["window"]) == before - 1
        c.cookies.clear()
        sign_in_http(c, people["window"])  # signing in again starts a new session
        assert c.get("/desk").status_code == 200
