"""Issue 9, item 9: person accounts instead of shared keys — argon2id passwords, personal
tokens stored hashed and shown once, revocation, expiry, disabling, a rate limit on failed
sign-ins, the operation log naming the person, and every endpoint × every kind of caller."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select, update

from ledger_client.node import AnvilNode
from licence_service.people.identity import PersonRole
from licence_service.people.models import ApiToken, Person
from licence_service.people.service import add_person, list_tokens
from licence_service.store.models import OpLogEntry
from tests.people_fixtures import PASSWORD, bearer, person_token
from tests.security.fixtures import A1, A2, CALLERS, FP01, Region, secured_region

SIGN_IN = "/api/v1/auth/token"


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Region]:
    with secured_region(tmp_path_factory.mktemp("item09"), anvil) as r:
        yield r


def _db_bytes(region: Region) -> bytes:
    """Every byte the database holds (main file and write-ahead log)."""
    db = region.rt.settings.home / "licledger.db"
    return b"".join(p.read_bytes() for p in db.parent.glob("licledger.db*") if p.is_file())


def _log(region: Region, action: str) -> list[OpLogEntry]:
    with region.rt.sessions() as s:
        return list(s.scalars(select(OpLogEntry).where(OpLogEntry.action == action)))


def test_passwords_are_argon2id_and_never_stored(region: Region) -> None:
    add_person(region.rt, "hash-check", A1, frozenset({PersonRole.WINDOW_STAFF}),
               password="a long passphrase 2026")  # fmt: skip
    with region.rt.sessions() as s:
        stored = s.scalar(select(Person.password_hash).where(Person.username == "hash-check"))
    assert stored is not None and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert b"a long passphrase 2026" not in _db_bytes(region)
    with region.client() as c:
        short = c.post(
            "/api/v1/people",
            json={"username": "short-pw", "unit": A1, "roles": ["issuer"], "password": "short"},
            headers=region.headers["region_admin"],
        )
    assert short.status_code == 422 and short.json()["field"] == "password"


def test_token_is_shown_once_and_stored_only_as_a_hash(region: Region) -> None:
    add_person(region.rt, "once", A1, frozenset({PersonRole.ISSUER}), password=PASSWORD)
    with region.client() as c:
        r = c.post(SIGN_IN, json={"username": "once", "password": PASSWORD})
        assert r.status_code == 201, r.text
        token, prefix = r.json()["token"], r.json()["prefix"]
        assert token.startswith(f"llt_{prefix}_")
        me = c.get("/api/v1/me", headers=bearer(token)).json()
        assert me["username"] == "once" and me["unit"] == f"agency:{A1}"
        listed = c.get("/api/v1/people/once/tokens", headers=bearer(token)).json()
    assert [t["prefix"] for t in listed] == [prefix] and "token" not in listed[0]
    assert token not in str(listed) and token not in str(list_tokens(region.rt))
    assert token.encode() not in _db_bytes(region)
    with region.rt.sessions() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    assert row is not None and len(row.secret_hash) == 32


def test_revoked_expired_and_disabled_credentials_get_401(region: Region) -> None:
    rt, admin = region.rt, region.headers["region_admin"]
    revoked = person_token(rt, "revoked-one", A1, PersonRole.ISSUER)
    expired = person_token(rt, "expired-one", A1, PersonRole.ISSUER)
    disabled = person_token(rt, "disabled-one", A1, PersonRole.ISSUER)
    with region.client() as c:
        for token in (revoked, expired, disabled):
            assert c.get("/api/v1/me", headers=bearer(token)).status_code == 200
        prefix = revoked.split("_")[1]
        r = c.post(f"/api/v1/people/revoked-one/tokens/{prefix}/revoke", headers=bearer(revoked))
        assert r.status_code == 204
        with rt.sessions.begin() as s:  # the token's 90 days have passed
            s.execute(update(ApiToken).where(ApiToken.prefix == expired.split("_")[1])
                      .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
        assert c.post("/api/v1/people/disabled-one/disable", headers=admin).status_code == 200
        for token in (revoked, expired, disabled, "llt_0000000000_forged", "not-a-token"):
            r = c.post("/api/v1/licences", json=FP01, headers=bearer(token))
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", token
        r = c.post(SIGN_IN, json={"username": "disabled-one", "password": PASSWORD})
        assert r.status_code == 401
    states = {t["username"]: t["state"] for t in list_tokens(rt)}
    assert states["revoked-one"] == "revoked" and states["expired-one"] == "expired"


def test_failed_sign_ins_are_rate_limited_and_logged(region: Region) -> None:
    add_person(region.rt, "target", A1, frozenset({PersonRole.ISSUER}), password=PASSWORD)
    with region.client() as c:
        for _ in range(5):
            r = c.post(SIGN_IN, json={"username": "target", "password": "guess-guess"})
            assert r.status_code == 401
        # the sixth try is refused even with the right password, with a time to wait
        r = c.post(SIGN_IN, json={"username": "target", "password": PASSWORD})
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 300
    failed = [e for e in _log(region, "auth:sign-in-failed") if e.target == "target"]
    assert len(failed) == 5 and all(e.actor == "anonymous@127.0.0.1" for e in failed)
    assert [e.target for e in _log(region, "auth:sign-in-throttled")] == ["target"]
    assert not [e for e in _log(region, "auth:sign-in") if e.target == "target"]

    # per client: one address spraying many usernames is stopped too (from 127.0.0.2)
    spray = httpx.Client(base_url=region.url, timeout=30,
                         transport=httpx.HTTPTransport(local_address="127.0.0.2"))  # fmt: skip
    with spray:
        codes = [
            spray.post(SIGN_IN, json={"username": f"user{i}", "password": "x"}).status_code
            for i in range(21)
        ]
        assert codes[:20] == [401] * 20 and codes[20] == 429
        r = spray.post(SIGN_IN, json={"username": "once", "password": PASSWORD})
        assert r.status_code == 429  # the client is throttled whatever the username
    with region.client() as c:  # other clients are not
        assert c.post(SIGN_IN, json={"username": "once", "password": PASSWORD}).status_code == 201


def test_the_operation_log_names_the_person(region: Region) -> None:
    with region.client() as c:
        r = c.post("/api/v1/licences", json=FP01, headers=region.headers["issuer_a1"])
        assert r.status_code == 201, r.text
        lid = r.json()["licence_id"]
        r = c.post(
            f"/api/v1/licences/{lid}/status",
            json={"action": "suspend", "reason": "整改"},
            headers=region.headers["issuer_a1"],
        )
        assert r.status_code == 200, r.text
    with region.rt.sessions() as s:
        rows = s.scalars(
            select(OpLogEntry).where(OpLogEntry.target.startswith(lid.rsplit(".", 2)[0]))
        )
        by_action = {e.action: (e.actor, e.role) for e in rows}
    assert by_action["issue"] == (f"issuer-a1@agency:{A1}", "issuer")
    assert by_action["status:SUSPENDED"] == (f"issuer-a1@agency:{A1}", "issuer")


def test_people_administration_is_scoped(region: Region) -> None:
    h = region.headers
    new = {"roles": ["issuer"], "display_name": "新人"}
    with region.client() as c:
        # an agency admin adds people to its own agency only
        r = c.post("/api/v1/people", json={**new, "username": "a2-new", "unit": A2},
                   headers=h["agency_admin_a1"])  # fmt: skip
        assert r.status_code == 403
        r = c.post("/api/v1/people", json={**new, "username": "a1-new", "unit": A1},
                   headers=h["agency_admin_a1"])  # fmt: skip
        assert r.status_code == 201 and r.json()["unit"] == f"agency:{A1}", r.text
        password = r.json()["password"]  # generated, shown once
        r = c.post(SIGN_IN, json={"username": "a1-new", "password": password})
        assert r.status_code == 201
        # agency roles only: an agency admin cannot make a region administrator
        r = c.post("/api/v1/people", json={"username": "a1-boss", "unit": A1,
                   "roles": ["region_admin"]}, headers=h["agency_admin_a1"])  # fmt: skip
        assert r.status_code == 422 and r.json()["field"] == "roles"
        # the region admin adds anywhere in the region
        r = c.post("/api/v1/people", json={**new, "username": "a2-new", "unit": A2},
                   headers=h["region_admin"])  # fmt: skip
        assert r.status_code == 201
        seen = {p["username"] for p in c.get("/api/v1/people", headers=h["agency_admin_a1"]).json()}
        assert "a1-new" in seen and "a2-new" not in seen and "issuer-a2" not in seen
        assert (
            c.post("/api/v1/people/a2-new/disable", headers=h["agency_admin_a1"]).status_code == 403
        )
        # no one issues a token in someone else's name, administrators included
        for caller in ("region_admin", "agency_admin_a1"):
            r = c.post("/api/v1/people/a1-new/tokens", json={}, headers=h[caller])
            assert r.status_code == 403
        assert (
            c.post("/api/v1/people/a1-new/disable", headers=h["agency_admin_a1"]).status_code == 200
        )
        r = c.post(SIGN_IN, json={"username": "a1-new", "password": password})
        assert r.status_code == 401
    with region.rt.sessions() as s:
        added = s.scalars(select(OpLogEntry).where(OpLogEntry.action == "person:add")).all()
    assert {(e.target, e.actor) for e in added} >= {
        ("a1-new", f"agency-admin-a1@agency:{A1}"),
        ("a2-new", "region-admin@region:330100"),
    }


# ------------------------------------------------------------------ the permission table

PUBLIC = frozenset(CALLERS)
PEOPLE = PUBLIC - {"anonymous"}
MEMBERS = PEOPLE - {"issuer_b"}  # everyone of this region
STAFF = frozenset({"window_a", "issuer_a1", "issuer_a2", "auditor"})
READ_A1 = frozenset({"window_a", "issuer_a1", "auditor"})  # read a licence of agency A1
ISSUERS = frozenset({"issuer_a1", "issuer_a2"})
ISSUER_A1 = frozenset({"issuer_a1"})
WINDOW = frozenset({"window_a"})
AUDITOR = frozenset({"auditor"})
REGION_ADMIN = frozenset({"region_admin"})
PEOPLE_ADMINS = frozenset({"region_admin", "agency_admin_a1"})
SELF_OR_ADMIN = frozenset({"issuer_a1", "agency_admin_a1", "region_admin"})
REVIEWER = frozenset({"reviewer_a1"})  # decides other regions' sharing requests
NOBODY: frozenset[str] = frozenset()  # other regions' signed requests only

L = "/api/v1/licences/{licence_id}"
FORM = {"form": True}  # an HTML form: posted with this browser's CSRF token, empty otherwise
# (method, path) -> (who is let through, what to send). Sent bodies are mostly empty: a
# caller let through gets 404/409/422, a refused one 401 (anonymous) or 403.
TABLE: dict[tuple[str, str], tuple[frozenset[str], dict[str, object]]] = {
    ("GET", "/api/v1/openapi.json"): (PUBLIC, {}),
    ("GET", "/api/v1/docs"): (PUBLIC, {}),
    ("GET", "/api/v1/health"): (PUBLIC, {}),
    ("GET", "/"): (PUBLIC, {}),
    ("GET", "/verify"): (PUBLIC, {}),
    ("POST", "/verify"): (PUBLIC, FORM),
    ("GET", "/v/{token}"): (PUBLIC, {}),
    ("GET", "/static/{name}"): (PUBLIC, {}),
    ("GET", "/sw.js"): (PUBLIC, {}),
    ("GET", "/manifest.webmanifest"): (PUBLIC, {}),
    ("GET", "/api/v1/trust-list"): (PUBLIC, {}),
    ("POST", "/verify/qr.json"): (PUBLIC, {"json": {}}),
    ("POST", "/verify/pdf.json"): (PUBLIC, {"data": {}}),
    ("GET", "/audit"): (AUDITOR, {}),
    ("GET", "/audit/stats.csv"): (AUDITOR, {}),
    ("GET", "/audit/workload.csv"): (AUDITOR, {}),
    ("GET", "/audit/workload.xlsx"): (AUDITOR, {}),
    ("GET", "/admin"): (PEOPLE_ADMINS, {}),
    ("POST", "/admin/people"): (PEOPLE_ADMINS, {"data": {}}),
    ("POST", "/admin/people/{username}/disable"): (PEOPLE_ADMINS, {}),
    ("POST", "/admin/people/{username}/unlock"): (PEOPLE_ADMINS, {}),
    ("POST", "/admin/tokens"): (PEOPLE_ADMINS, {"data": {}}),
    ("POST", "/admin/tokens/{prefix}/revoke"): (PEOPLE_ADMINS, {}),
    ("POST", "/admin/proposals/{proposal_id}/approve"): (REGION_ADMIN, {}),
    ("GET", "/signin"): (PUBLIC, {}),
    ("POST", "/signin"): (PUBLIC, FORM),
    ("POST", "/signout"): (PUBLIC, FORM),
    ("GET", "/desk"): (PEOPLE, {}),
    ("POST", "/desk/issue"): (ISSUERS, {"data": {}}),
    ("GET", "/desk/issue"): (ISSUERS, {}),
    ("GET", "/desk/import"): (ISSUERS, {}),
    ("POST", "/desk/import"): (ISSUERS, {"data": {}}),
    ("GET", "/desk/import/{job_id}"): (ISSUERS, {}),
    ("GET", "/desk/import/{job_id}/progress"): (ISSUERS, {}),
    ("GET", "/desk/import/{job_id}/result.csv"): (ISSUERS, {}),
    ("GET", "/desk/import/{job_id}/result.xlsx"): (ISSUERS, {}),
    ("GET", "/desk/import/templates/{name}"): (ISSUERS, {}),
    ("POST", "/desk/holders"): (WINDOW | ISSUERS, FORM),
    ("POST", "/verify/holder"): (PUBLIC, FORM),  # 307 to /desk/holders (a cached counter page)
    ("GET", "/desk/licences/{identifier}"): (READ_A1, {}),
    ("GET", "/desk/licences/{identifier}/pdf"): (ISSUER_A1, {}),  # the PDF is in full
    ("GET", "/desk/licences/{identifier}/copies/{serial}/pdf"): (ISSUER_A1, {}),
    ("POST", "/desk/licences/{identifier}/act/{action}"): (ISSUER_A1, FORM),
    ("POST", "/api/v1/verify/pdf"): (PUBLIC, {"data": {}}),
    ("POST", "/api/v1/verify/qr"): (PUBLIC, {"json": {}}),
    ("POST", "/api/v1/verify/field-proof"): (PUBLIC, {"json": {}}),
    ("POST", "/api/v1/auth/token"): (PUBLIC, {"json": {}}),
    ("GET", "/api/v1/me"): (PEOPLE, {}),
    ("POST", "/api/v1/licences"): (ISSUERS, {"json": {}}),
    ("POST", "/api/v1/imports"): (ISSUERS, {"data": {}}),
    ("GET", "/api/v1/imports/templates/{name}"): (ISSUERS, {}),
    ("GET", "/api/v1/holders/{holder_id}/licences"): (WINDOW | ISSUERS, {}),
    ("GET", "/api/v1/reminders"): (STAFF | {"agency_admin_a1"}, {}),
    ("GET", "/api/v1/deadlines"): (STAFF | {"agency_admin_a1", "reviewer_a1"}, {}),
    ("GET", L): (READ_A1, {}),
    ("GET", L + "/pdf"): (ISSUER_A1, {}),
    ("GET", L + "/history"): (READ_A1, {}),
    ("GET", L + "/sharing"): (READ_A1, {}),
    ("POST", L + "/check"): (READ_A1, {"json": {}}),
    ("GET", L + "/copies/{serial}/pdf"): (ISSUER_A1, {}),
    ("POST", L + "/revoke"): (ISSUER_A1, {"json": {}}),
    ("POST", L + "/amend"): (ISSUER_A1, {"json": {}}),
    ("POST", L + "/status"): (ISSUER_A1, {"json": {}}),
    ("POST", L + "/copies"): (ISSUER_A1, {"json": {}}),
    ("POST", L + "/copies/{serial}/revoke"): (ISSUER_A1, {"json": {}}),
    ("POST", L + "/inspections"): (ISSUER_A1, {"json": {}}),
    ("GET", "/api/v1/reviews"): (STAFF, {}),
    ("POST", "/api/v1/reviews/{review_id}/approve"): (ISSUERS, {"json": {}}),
    ("POST", "/api/v1/submissions"): (WINDOW, {"data": {}}),
    ("POST", "/api/v1/submissions/{submission_id}/upgrade"): (WINDOW, {"json": {}}),
    ("POST", "/api/v1/consents"): (WINDOW, {"json": {}}),
    ("POST", "/api/v1/consents/{consent_id}/withdraw"): (WINDOW, {}),
    ("GET", "/api/v1/exchange/status-changes"): (STAFF, {}),
    ("GET", "/api/v1/audit/replay"): (AUDITOR, {}),
    ("GET", "/api/v1/audit/state"): (AUDITOR, {}),
    ("GET", "/api/v1/audit/stats"): (AUDITOR, {}),
    ("GET", "/api/v1/audit/workload"): (AUDITOR, {}),
    ("GET", "/api/v1/audit/reads"): (AUDITOR | REGION_ADMIN, {}),
    ("GET", "/api/v1/audit/read-alerts"): (AUDITOR | REGION_ADMIN, {}),
    ("POST", "/api/v1/federation/licences/{licence_id}/release"): (NOBODY, {"json": {}}),
    ("GET", "/api/v1/federation/changes"): (NOBODY, {}),
    ("GET", "/api/v1/federation/snapshot"): (NOBODY, {}),
    ("POST", "/api/v1/federation/subscriptions"): (NOBODY, {"json": {}}),
    ("GET", "/api/v1/federation/subscriptions"): (NOBODY, {}),
    ("DELETE", "/api/v1/federation/subscriptions/{subscription_id}"): (NOBODY, {}),
    ("GET", "/api/v1/exchange/subscriptions"): (REGION_ADMIN, {}),
    ("POST", "/api/v1/federation/holders/licences"): (NOBODY, {"json": {}}),
    ("POST", "/api/v1/federation/sharing-requests"): (NOBODY, {"json": {}}),
    ("GET", "/api/v1/federation/sharing-requests/{request_id}"): (NOBODY, {}),
    ("GET", "/api/v1/sharing-requests"): (REVIEWER, {}),
    ("POST", "/api/v1/sharing-requests/{request_id}/approve"): (REVIEWER, {"json": {}}),
    ("POST", "/api/v1/sharing-requests/{request_id}/refuse"): (REVIEWER, {"json": {}}),
    ("POST", "/desk/sharing-requests/{request_id}/{decision}"): (REVIEWER, FORM),
    ("GET", "/api/v1/regions"): (MEMBERS, {}),
    ("POST", "/api/v1/regions/proposals"): (REGION_ADMIN, {"json": {}}),
    ("POST", "/api/v1/regions/proposals/{proposal_id}/approve"): (REGION_ADMIN, {}),
    ("GET", "/api/v1/people"): (PEOPLE_ADMINS, {}),
    ("POST", "/api/v1/people"): (PEOPLE_ADMINS, {"json": {}}),
    ("POST", "/api/v1/people/{username}/disable"): (PEOPLE_ADMINS, {}),
    ("POST", "/api/v1/people/{username}/unlock"): (PEOPLE_ADMINS, {}),
    ("GET", "/api/v1/people/{username}/tokens"): (SELF_OR_ADMIN, {}),
    ("POST", "/api/v1/people/{username}/tokens"): (ISSUER_A1, {"json": {"label": "table"}}),
    ("POST", "/api/v1/people/{username}/tokens/{prefix}/revoke"): (SELF_OR_ADMIN, {}),
    # the wallet's pages: sign-in is public; without a wallet session (staff included) every
    # other page sends the caller to /wallet/signin (303, nothing shown: test_item13)
    ("GET", "/wallet/signin"): (PUBLIC, {}),
    ("POST", "/wallet/signin"): (PUBLIC, FORM),
    ("POST", "/wallet/signin/code"): (NOBODY, FORM),  # no pending sign-in: 401
    ("POST", "/wallet/signout"): (PUBLIC, FORM),
    ("GET", "/wallet"): (PUBLIC, {}),
    ("GET", "/wallet/l/{base_id}"): (PUBLIC, {}),
    ("GET", "/wallet/l/{base_id}/code.svg"): (NOBODY, {}),
    ("POST", "/wallet/l/{base_id}/consents"): (PUBLIC, FORM),
    ("POST", "/wallet/l/{base_id}/copies"): (PUBLIC, FORM),
    ("POST", "/wallet/consents/{consent_id}/withdraw"): (PUBLIC, FORM),
    # the wallet: window staff and issuers vouch for holders; only a wallet session opens the rest
    ("POST", "/api/v1/wallet/activations"): (WINDOW | ISSUERS, {"json": {}}),
    ("POST", "/api/v1/wallet/register"): (PUBLIC, {"json": {}}),
    ("POST", "/api/v1/wallet/sign-in"): (PUBLIC, {"json": {}}),
    ("POST", "/api/v1/wallet/sign-in/code"): (PUBLIC, {"json": {}}),
    ("POST", "/api/v1/wallet/sign-out"): (NOBODY, {}),
    ("GET", "/api/v1/wallet/licences"): (NOBODY, {}),
    ("GET", "/api/v1/wallet/licences/{licence_id}"): (NOBODY, {}),
    ("GET", "/api/v1/wallet/licences/{licence_id}/pdf"): (NOBODY, {}),
    ("POST", "/api/v1/wallet/licences/{licence_id}/copies"): (NOBODY, {"json": {}}),
    ("POST", "/api/v1/wallet/licences/{licence_id}/consents"): (NOBODY, {"json": {}}),
    ("POST", "/api/v1/wallet/licences/{licence_id}/presentation"): (NOBODY, {"json": {}}),
    ("POST", "/api/v1/wallet/consents/{consent_id}/withdraw"): (NOBODY, {}),
}


def _form_token(c: httpx.Client) -> str:
    """The CSRF token of this client's forms (a page that is not rate-limited hands it out)."""
    found = re.search(r"name='csrf_token' value='([^']+)'", c.get("/signin").text)
    assert found
    return found.group(1)


def _routes(home: Path) -> set[tuple[str, str]]:
    from licence_service.api.app import create_app
    from licence_service.region.runtime import Runtime
    from licence_service.region.settings import load_settings

    app = create_app(Runtime(load_settings(home)), background=False)  # nothing is connected
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_every_endpoint_is_in_the_permission_table(tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    assert routes - set(TABLE) == set(), "new endpoint(s): add them to the table"
    assert set(TABLE) - routes == set(), "the table names endpoints that no longer exist"


def test_every_endpoint_for_every_kind_of_caller(region: Region) -> None:
    with region.client() as c:
        lid = c.post("/api/v1/licences", json=FP01, headers=region.headers["issuer_a1"]).json()[
            "licence_id"
        ]
    # the disable endpoint really disables: aim it at someone nobody else here needs
    add_person(region.rt, "victim-a1", A1, frozenset({PersonRole.WINDOW_STAFF}))
    params = {
        "licence_id": lid, "serial": "1", "review_id": "999999", "submission_id": "999999",
        "consent_id": "999999", "proposal_id": "999999", "token": "LL1.garbage",
        "subscription_id": "999999",
        "prefix": "0000000000", "username": "issuer-a1", "name": "counter.js",
        "identifier": lid, "action": "revoke", "job_id": "no-such-job",
        "holder_id": "91330106MA1DUP0015", "base_id": lid.rsplit(".", 2)[0],
        "request_id": "999999", "decision": "approve",
    }  # fmt: skip
    wrong: list[str] = []
    with region.client() as c:
        for (method, path), (allowed, send) in sorted(TABLE.items()):
            target = path.format(**params)
            if path.endswith("/disable"):
                target = path.format(username="victim-a1")
            for caller in CALLERS:
                sent = {"data": {"csrf_token": _form_token(c)}} if send is FORM else send
                r = c.request(method, target, headers=region.headers[caller], **sent)  # type: ignore[arg-type]
                let_through = r.status_code not in (401, 403)
                expected_refusal = 401 if caller == "anonymous" or not allowed else 403
                if r.status_code >= 500 or let_through != (caller in allowed):
                    wrong.append(f"{method} {path} {caller}: {r.status_code} {r.text[:80]}")
                elif not let_through and r.status_code != expected_refusal:
                    wrong.append(
                        f"{method} {path} {caller}: {r.status_code}, not {expected_refusal}"
                    )
    assert not wrong, "\n".join(wrong)
