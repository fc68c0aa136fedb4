"""Issue 8, item 8: one credential passed the FP01 joint review as both named agencies, and
one key could issue or revoke for any agency of the region. Performed for real over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from ledger_client.node import AnvilNode
from licence_service.people.identity import PersonRole
from licence_service.store.models import OpLogEntry
from tests.people_fixtures import bearer, person_token
from tests.security.fixtures import A1, A2, FP01, REGION_B, Region, secured_region
from tests.security.trust_fixtures import agency_suite


@pytest.fixture(scope="module", params=["intl", "sm"])
def region(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[Region]:
    """The region, whose two agencies review and seal together, on ``intl`` then on ``sm``."""
    home = tmp_path_factory.mktemp(f"item08-{request.param}")
    with secured_region(home, anvil, crypto=request.param) as r:
        assert agency_suite(r.rt, A1) == agency_suite(r.rt, A2) == request.param
        yield r


def _status(region: Region, lid: str) -> str:
    with region.client() as c:
        r = c.get(f"/api/v1/licences/{lid}", headers=region.headers["auditor"])
    assert r.status_code == 200, r.text
    return str(r.json()["status"])


def _verdict(region: Region, lid: str) -> str:
    with region.client() as c:
        # the PDF carries personal data in full: only the issuing agency's issuers download it
        pdf = c.get(f"/api/v1/licences/{lid}/pdf", headers=region.headers["issuer_a1"]).content
        return str(c.post("/api/v1/verify/pdf", files={"file": ("l.pdf", pdf)}).json()["verdict"])


def test_one_credential_cannot_approve_as_both_agencies(region: Region) -> None:
    h = region.headers
    second_a1 = bearer(person_token(region.rt, "issuer-a1-bis", A1, PersonRole.ISSUER))
    with region.client() as c:
        lid = c.post("/api/v1/licences", json=FP01, headers=h["issuer_a1"]).json()["licence_id"]
        r = c.post(
            f"/api/v1/licences/{lid}/status",
            json={"action": "cancel", "reason": "持证人申请注销"},
            headers=h["issuer_a1"],
        )
        assert r.status_code == 200 and r.json()["status"] == "PENDING_REVIEW", r.text
        rid = r.json()["review_id"]
        approve = f"/api/v1/reviews/{rid}/approve"

        # the attack of item 8: the approver named in the body → refused, nothing recorded
        r = c.post(approve, json={"agency_code": A2}, headers=h["issuer_a1"])
        assert r.status_code == 422 and "agency_code" in r.text
        # A1's own approval counts once...
        r = c.post(approve, json={"note": "同意"}, headers=h["issuer_a1"])
        assert r.status_code == 200 and (r.json()["approvals"], r.json()["required"]) == (1, 2)
        # ...and the same person, or another person of the same agency, cannot add the second
        for who in (h["issuer_a1"], second_a1):
            r = c.post(approve, json={}, headers=who)
            assert r.status_code == 409 and "already approved" in r.json()["detail"], r.text
        # nor can people without the issuer role of a named agency
        for caller in ("window_a", "agency_admin_a1", "region_admin", "auditor", "issuer_b"):
            assert c.post(approve, json={}, headers=h[caller]).status_code == 403, caller
    assert _status(region, lid) == "ACTIVE"
    assert _verdict(region, lid) == "VALID"  # not CANCELLED
    with region.rt.sessions() as s:
        actors = s.scalars(select(OpLogEntry.actor).where(OpLogEntry.action == "review:approve"))
        assert list(actors) == [f"issuer-a1@agency:{A1}"]

    # the legitimate path: a person of the other named agency gives the second approval
    with region.client() as c:
        r = c.post(approve, json={}, headers=h["issuer_a2"])
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED", r.text
    assert _verdict(region, lid) == "CANCELLED"
    with region.rt.sessions() as s:
        rows = s.scalars(select(OpLogEntry).where(OpLogEntry.action == "review:approve")).all()
        assert [e.actor for e in rows] == [f"issuer-a1@agency:{A1}", f"issuer-a2@agency:{A2}"]


def test_issuing_and_revoking_for_another_agency_is_refused(region: Region) -> None:
    h = region.headers
    body = {**FP01, "holder_id": "91330106MA2B0XKH34"}
    with region.client() as c:
        # an issuer of A2 issues in A1's name → 403, nothing issued
        r = c.post("/api/v1/licences", json={**body, "agency_code": A1}, headers=h["issuer_a2"])
        assert r.status_code == 403 and A2 in r.json()["detail"], r.text
        # region B's issuer issues for its own agency here → 403 (another region)
        r = c.post(
            "/api/v1/licences", json={**body, "agency_code": REGION_B[2]}, headers=h["issuer_b"]
        )
        assert r.status_code == 403 and "440300" in r.json()["detail"]

        issued = c.post("/api/v1/licences", json=body, headers=h["issuer_a1"])
        assert issued.status_code == 201, issued.text
        lid = issued.json()["licence_id"]
        revoke = {"reason": "跨机构撤销", "code": 1}
        for caller in ("issuer_a2", "issuer_b", "region_admin", "agency_admin_a1", "window_a"):
            r = c.post(f"/api/v1/licences/{lid}/revoke", json=revoke, headers=h[caller])
            assert r.status_code == 403, (caller, r.text)
            r = c.post(
                f"/api/v1/licences/{lid}/status",
                json={"action": "suspend", "reason": "x"},
                headers=h[caller],
            )
            assert r.status_code == 403, (caller, r.text)
        r = c.post(
            f"/api/v1/licences/{lid}/amend",
            json={"fields": {"经营项目": "散装食品销售"}, "reason": "x"},
            headers=h["issuer_a2"],
        )
        assert r.status_code == 403
    assert _status(region, lid) == "ACTIVE"
    assert _verdict(region, lid) == "VALID"
    with region.client() as c:
        shown = c.get(f"/api/v1/licences/{lid}", headers=h["auditor"]).json()
    assert shown["issuer_code"] == A1 and shown["current_version"] == 1
    with region.client() as c:  # and A1's own issuer can
        r = c.post(f"/api/v1/licences/{lid}/revoke", json=revoke, headers=h["issuer_a1"])
    assert r.status_code == 200 and r.json()["status"] == "REVOKED"
