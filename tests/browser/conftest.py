"""Browser-test fixtures: Debian's Chromium driven by Playwright (sync API) with a fake camera,
and a region served on loopback with a valid, a revoked and a superseded licence.

Chromium is ``/usr/bin/chromium`` (installed by ``make setup``); Playwright never downloads a
browser. A missing Chromium fails the tests with the command that fixes it, never skips them.
Screenshots go to ``test-artifacts/screenshots/`` (git-ignored; see the README)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from ledger_client.node import AnvilNode
from ledger_client.registry import LeafStatus
from licence_service.api.app import create_app
from licence_service.people.identity import PersonRole
from licence_service.people.service import add_person
from licence_service.region.bootstrap import HEALTH_AGENCY, init_region
from licence_service.region.runtime import Runtime
from licence_service.services import Amendment, amend_licence, issue_licence
from licence_service.services.issue import IssuedDocument
from licence_service.services.status import change_status
from licence_service.store.models import LicenceVersion
from tests.chain_fixtures import free_port
from tests.people_fixtures import PASSWORD, serving
from tests.service_fixtures import business_request, region_runtime

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@dataclass
class Site:
    """The served region and its licences."""

    url: str
    rt: Runtime
    valid: IssuedDocument
    revoked: IssuedDocument
    superseded: IssuedDocument  # version 1; ``current`` is its version 2
    current: IssuedDocument

    def qr(self, doc: IssuedDocument) -> str:
        with self.rt.sessions() as s:
            payload = s.scalars(
                select(LicenceVersion.qr_payload).where(
                    LicenceVersion.identifier == doc.licence_id,
                    LicenceVersion.version == doc.version,
                )
            ).one()
        assert payload, doc.licence_id
        return str(payload)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = region_runtime(tmp_path_factory.mktemp("browser-region"), anvil, public_url=url)
    # a second agency: the other approver of a food permit's cancellation (joint review)
    init_region(rt, agency_code=HEALTH_AGENCY[0], agency_name=HEALTH_AGENCY[1])
    valid = issue_licence(rt, business_request())
    revoked = issue_licence(rt, business_request())
    change_status(rt, revoked.licence_id, LeafStatus.REVOKED, 1, "test revocation")
    superseded = issue_licence(rt, business_request())
    current = amend_licence(
        rt, superseded.licence_id, Amendment({"注册资本": "900万元"}, "change", "增资")
    )
    with serving(create_app(rt, background=False), port) as served:
        yield Site(served, rt, valid, revoked, superseded, current)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API keeps an event loop running in the main thread while it is open,
    and pyHanko's signing refuses to start one inside it: so it lives only as long as the
    browser tests, and every fixture that signs (``site``) is set up before it."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium; run `make setup` "
            "(scripts/system-deps.sh installs it with apt)",
            pytrace=False,
        )
    with sync_playwright() as p:
        yield p


Launch = Callable[..., Browser]
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "?")
    + " in " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""
"""Added to every page before its own scripts (Playwright's init scripts are not subject to
the page's CSP): each violation of the page's Content-Security-Policy is logged."""


@dataclass
class CspWatch:
    """Every CSP violation seen in a browser started by :func:`launch`: the page's
    ``securitypolicyviolation`` events (logged by :data:`CSP_LISTENER`) and Chromium's own
    console reports ("Refused to …"). A test that leaves one here fails at teardown."""

    violations: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> BrowserContext:
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        return context

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if text.startswith("CSP violation") or "Content Security Policy" in text:
            self.violations.append(f"{message.page.url if message.page else '?'}: {text}")

    def guard(self, browser: Browser) -> Browser:
        """Watch every context and page ``browser`` opens (``new_context``, ``new_page``)."""
        new_context, new_page = browser.new_context, browser.new_page

        def context(*args: Any, **kwargs: Any) -> BrowserContext:
            return self.watch(new_context(*args, **kwargs))

        def page(*args: Any, **kwargs: Any) -> Page:
            opened = new_page(*args, **kwargs)
            self.watch(opened.context)
            return opened

        setattr(browser, "new_context", context)  # noqa: B010 - an instance's bound method
        setattr(browser, "new_page", page)  # noqa: B010
        return browser

    def settle(self, browsers: Iterable[Browser]) -> None:
        """Let events still in flight reach :meth:`_console` (one round trip per page)."""
        for browser in browsers:
            for context in browser.contexts:
                for opened in context.pages:
                    with suppress(PlaywrightError):
                        opened.evaluate("0")


@pytest.fixture
def csp() -> CspWatch:
    return CspWatch()


@pytest.fixture
def launch(playwright: Playwright, csp: CspWatch) -> Iterator[Launch]:
    """Start Chromium, with ``camera`` (a Y4M file) as its fake camera when given; every
    browser started is closed after the test, which fails if any page of it violated the
    Content-Security-Policy."""
    started: list[Browser] = []

    def start(camera: Path | None = None) -> Browser:
        args = list(BROWSER_ARGS)
        if camera is not None:
            args += [*FAKE_CAMERA, f"--use-file-for-fake-video-capture={camera}"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        started.append(browser)
        return csp.guard(browser)

    yield start
    csp.settle(started)
    for browser in started:
        browser.close()
    if csp.violations:
        pytest.fail("Content-Security-Policy violated:\n" + "\n".join(csp.violations))


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}  # the narrowest phone the pages are made for


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot under :data:`SCREENSHOTS` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def both_widths(page: Any, name: str) -> None:
    """Screenshots at desktop and phone width; at 360 px the page never scrolls sideways.
    The page is left at desktop width."""
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not wide, f"{name} scrolls horizontally at 360 px"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


@pytest.fixture(scope="session")
def people(site: Site) -> dict[str, str]:
    """Window staff and an issuer of the site's agency, and an issuer of the health agency
    (the other approver of a food permit's cancellation): key -> username."""
    with site.rt.sessions() as s:
        agency = site.rt.agency(s).code
    units = {
        "window": (agency, PersonRole.WINDOW_STAFF),
        "issuer": (agency, PersonRole.ISSUER),
        "health": (HEALTH_AGENCY[0], PersonRole.ISSUER),
    }
    for key, (unit, role) in units.items():
        add_person(site.rt, f"desk-{key}", unit, frozenset({role}), password=PASSWORD)
    return {key: f"desk-{key}" for key in units}


def form_token(c: httpx.Client, path: str) -> str:
    """The CSRF token of the form on ``path`` (as a browser would find it)."""
    page = c.get(path)
    found = re.search(r"name='csrf_token' value='([^']+)'", page.text)
    assert page.status_code == 200 and found, page.text
    return found.group(1)


def sign_in_http(c: httpx.Client, username: str) -> str:
    """Sign ``c`` in through the form as a browser does; returns a form token of the desk."""
    token = form_token(c, "/signin")
    r = c.post("/signin", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/desk", r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie, cookie
    assert "Secure" not in cookie  # plain http on loopback; set when served over TLS
    return form_token(c, "/desk")


def sign_in_page(page: Page, url: str, username: str) -> None:
    """Sign in through the form in the browser; waits for the desk."""
    page.goto(url + "/signin")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#roles")).to_be_visible()
