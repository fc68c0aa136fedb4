"""Issue 24, point 6: passwords and sign-in as NIST SP 800-63B asks, tried on a served app.

- guessable passwords are refused with the reason, whatever path adds the person, and nothing
  is created; a plain passphrase with no composition rule passes;
- a stranger failing a colleague's password from several other addresses cannot lock the
  colleague out of their usual source; a new source waits, and an administrator's unlock lets it in;
- disabling a person ends their page sessions and API tokens in the same moment.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ledger_client.node import AnvilNode
from licence_service.domain.errors import InvalidInputError
from licence_service.people.identity import PersonRole
from licence_service.people.service import add_person, list_people
from licence_service.people.sessions import SessionEnded, create_session, resolve_session
from licence_service.people.signin import SignInLimits
from tests.people_fixtures import PASSWORD, bearer, person_token
from tests.security.fixtures import A1, Region, secured_region

SIGN_IN = "/api/v1/auth/token"
GUESSABLE = ("1234567890", "aaaaaaaaaa", "qwertyuiop", "password123", "licledger2026")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Region]:
    with secured_region(tmp_path_factory.mktemp("item24-signin"), anvil) as r:
        yield r


def _from(region: Region, address: str) -> httpx.Client:
    return httpx.Client(base_url=region.url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))  # fmt: skip


def _names(region: Region) -> set[str]:
    return {p.username for p in list_people(region.rt, None)}


def test_guessable_passwords_are_refused_with_the_reason(region: Region) -> None:
    admin = region.headers["region_admin"]
    with region.client() as c:
        for i, weak in enumerate(GUESSABLE):
            body = {"username": f"weak-{i}", "unit": A1, "roles": ["issuer"], "password": weak}
            r = c.post("/api/v1/people", json=body, headers=admin)
            assert r.status_code == 422, (weak, r.text)
            assert "password" in r.text and "guess" in r.text.lower(), r.text
        body = {"username": "weak-named", "unit": A1, "roles": ["issuer"],
                "password": "weak-named-2026"}  # fmt: skip
        assert c.post("/api/v1/people", json=body, headers=admin).status_code == 422
        body = {"username": "plain-one", "unit": A1, "roles": ["issuer"],
                "password": "correct horse battery staple"}  # fmt: skip
        assert c.post("/api/v1/people", json=body, headers=admin).status_code == 201
    assert not {n for n in _names(region) if n.startswith("weak-")}  # nothing was created
    with pytest.raises(InvalidInputError) as refused:  # the CLI's path: the same service call
        add_person(region.rt, "weak-cli", A1, frozenset({PersonRole.ISSUER}), password="1234567890")
    assert refused.value.field == "password"


def test_a_stranger_cannot_lock_a_colleague_out(region: Region) -> None:
    add_person(region.rt, "colleague", A1, frozenset({PersonRole.ISSUER}), password=PASSWORD)
    right = {"username": "colleague", "password": PASSWORD}
    with region.client() as usual:  # 127.0.0.1 becomes the colleague's usual source
        assert usual.post(SIGN_IN, json=right).status_code == 201
    wrong = {"username": "colleague", "password": "not the password at all"}
    codes = []
    for address in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
        with _from(region, address) as stranger:
            codes += [stranger.post(SIGN_IN, json=wrong).status_code for _ in range(5)]
    assert codes == [401] * 10 + [429] * 5, codes  # the account's 10 free tries, then waits
    with _from(region, "127.0.0.14") as new_place:  # the account counter holds a new source back
        r = new_place.post(SIGN_IN, json=right)
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 900, r.text
    with region.client() as usual:  # ...but never the person's usual source
        assert usual.post(SIGN_IN, json=right).status_code == 201
        r = usual.post("/api/v1/people/colleague/unlock", headers=region.headers["region_admin"])
        assert r.status_code == 200 and r.json()["cleared"] >= 1, r.text
    with _from(region, "127.0.0.14") as new_place:  # after the unlock the new source gets in
        assert new_place.post(SIGN_IN, json=right).status_code == 201


def test_disabling_ends_sessions_and_tokens_at_once(region: Region) -> None:
    rt = region.rt
    token = person_token(rt, "leaving", A1, PersonRole.ISSUER)
    session = create_session(rt, "leaving")
    idle = rt.settings.session_idle_seconds
    assert resolve_session(rt, session, idle).username == "leaving"
    with region.client() as c:
        assert c.get("/api/v1/me", headers=bearer(token)).status_code == 200
        assert c.get("/api/v1/me", headers=bearer(session)).status_code == 401  # not a token
        r = c.post("/api/v1/people/leaving/disable", headers=region.headers["region_admin"])
        assert r.status_code == 200
        assert c.get("/api/v1/me", headers=bearer(token)).status_code == 401
    with pytest.raises(SessionEnded):
        resolve_session(rt, session, idle)


def test_the_throttle_doubles_its_wait_up_to_a_cap() -> None:
    """Increasing delays, not a fixed lockout that anyone can renew for everyone."""
    backoff = SignInLimits().pair
    assert [backoff.delay(n) for n in range(backoff.free + 4)] == [0] * 5 + [2, 4, 8, 16]
    assert backoff.delay(1000) == 900
