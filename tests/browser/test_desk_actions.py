"""Issue 10, the licence page's lifecycle actions over plain HTTP against the served region
(the same forms a browser posts, with the session cookie and the CSRF token): every action
needs a reason and a confirmation, nothing changes before the confirmed post, and each one
lands on the chain (its status change listed with block and transaction); a food permit's
cancellation goes to joint review and is approved on the licence page by issuers of the two
named agencies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from licence_service.domain.licence_types import get_licence_type
from licence_service.store.models import Licence
from tests.browser.conftest import Site, sign_in_http
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

pytestmark = pytest.mark.e2e


def _issue(c: httpx.Client, token: str, type_code: str, fields: dict[str, str]) -> str:
    form = {"type_code": type_code, "holder_name": "杭州青禾科技有限公司",
            "holder_id": HOLDER_USCC, "csrf_token": token}  # fmt: skip
    r = c.post("/desk/issue", data=form | {f"field:{k}": v for k, v in fields.items()})
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).removeprefix("/desk/licences/").split("?")[0]


def _status(site: Site, base_id: str) -> str:
    with site.rt.sessions() as s:
        return str(s.scalar(select(Licence.status).where(Licence.base_id == base_id)))


def _act(c: httpx.Client, token: str, base: str, action: str, **form: str) -> httpx.Response:
    """The action as a person does it: the form, the confirmation page, then confirm."""
    path = f"/desk/licences/{base}/act/{action}"
    first = c.post(path, data={**form, "csrf_token": token})
    assert first.status_code == 200 and "id='confirm-question'" in first.text, first.text
    hidden = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", first.text))
    assert hidden["confirm"] == "yes" and hidden["reason"] == form["reason"]
    return c.post(path, data=hidden)


def test_each_action_needs_a_reason_and_a_confirmation(site: Site, people: dict[str, str]) -> None:
    with httpx.Client(base_url=site.url, timeout=120) as c:
        token = sign_in_http(c, people["issuer"])
        base = _issue(c, token, "BL01", BUSINESS_FIELDS)
        r = c.post(f"/desk/licences/{base}/act/suspend", data={"reason": " ", "csrf_token": token})
        assert r.status_code == 422 and "id='suspend-reason-error'" in r.text
        assert "a reason is required" in r.text
        r = c.post(f"/desk/licences/{base}/act/suspend",
                   data={"reason": "检查", "csrf_token": token})  # fmt: skip
        assert r.status_code == 200 and _status(site, base) == "ACTIVE"  # only asked to confirm
        steps = [
            ("suspend", "SUSPENDED"),
            ("reinstate", "ACTIVE"),
            ("report-lost", "REPORTED_LOST"),
        ]
        for action, status in steps:
            done = _act(c, token, base, action, reason=f"{action} test")
            assert done.status_code == 303, done.text
            assert _status(site, base) == status
        page = c.get(f"/desk/licences/{base}").text
        statuses = re.search(r"<table id='statuses'>(.*?)</table>", page, re.S)
        assert statuses and statuses.group(1).count("0x") == 3  # each with its transaction
        assert "id='action-amend'" in page and "id='action-suspend'" not in page
        done = _act(c, token, base, "amend", reason="补发", category="reissue")
        assert done.status_code == 303 and _status(site, base) == "ACTIVE"
        until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        done = _act(c, token, base, "copy", reason="银行开户", recipient="某银行",
                    valid_until=until)  # fmt: skip
        assert done.status_code == 303, done.text
        page = c.get(f"/desk/licences/{base}").text
        link = re.search(r"href='(/desk/licences/[^']+/copies/1/pdf)'", page)
        assert link, page
        pdf = c.get(link.group(1))
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        assert _act(c, token, base, "revoke", reason="违法").status_code == 303
        assert _status(site, base) == "REVOKED"
        assert "id='actions'" not in c.get(f"/desk/licences/{base}").text
        # a state the licence is not in: refused by the use case, shown on the page
        late = c.post(f"/desk/licences/{base}/act/suspend",
                      data={"reason": "x", "confirm": "yes", "csrf_token": token})  # fmt: skip
        assert late.status_code == 409 and "REVOKED" in late.text


def test_a_cancellation_under_joint_review_is_approved_on_the_licence_page(
    site: Site, people: dict[str, str]
) -> None:
    fields = get_licence_type("FP01").example_fields()
    with httpx.Client(base_url=site.url, timeout=120) as market:
        token = sign_in_http(market, people["issuer"])
        base = _issue(market, token, "FP01", fields)
        assert _act(market, token, base, "cancel", reason="申请注销").status_code == 303
        assert _status(site, base) == "ACTIVE"  # under review, not cancelled
        page = market.get(f"/desk/licences/{base}").text
        assert "id='action-approve'" in page
        assert _act(market, token, base, "approve", reason="同意",
                    review_id=_review(page)).status_code == 303  # fmt: skip
        assert "id='action-approve'" not in market.get(f"/desk/licences/{base}").text
    assert _status(site, base) == "ACTIVE"  # one of the two approvals
    with httpx.Client(base_url=site.url, timeout=120) as health:
        token = sign_in_http(health, people["health"])
        page = health.get(f"/desk/licences/{base}")  # readable while its approval is awaited
        assert page.status_code == 200 and "id='action-cancel'" not in page.text
        done = _act(health, token, base, "approve", reason="同意", review_id=_review(page.text))
        assert done.status_code == 303, done.text
        assert health.get(f"/desk/licences/{base}").status_code == 403  # no longer its business
    assert _status(site, base) == "CANCELLED"


def _review(page: str) -> str:
    found = re.search(r"name='review_id' value='(\d+)'", page)
    assert found, page
    return found.group(1)
