"""Issue 20 point 1 as attacks on a served region: licences by holder at the window.

One company holds four licences here: a food permit (FP01) of agency A1, a business licence
(BL01) of agency A2, and one of each type issued by an agency of another region (B). Window
staff of A1 see the two of their region, masked; each issuer sees only their own agency's, in
full; B's licences never appear here (the consent path is tests/test_holder_federation.py). A wrong
check character is a 422 naming ``holder_id``; walking ID numbers beyond the read limit is a
429 with ``Retry-After`` and an alert; every lookup is an operation-log row (who, whose, when)
that carries no full ID.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from eth_utils import keccak
from sqlalchemy import select

from ledger_client.node import AnvilNode
from licence_service.audit.oplog_view import actions_of
from licence_service.domain.national_ids import make_citizen_id
from licence_service.people.identity import PersonRole
from licence_service.services.issue import IssueRequest, issue
from licence_service.services.read_log import holder_subject
from licence_service.store.models import OpLogEntry
from licence_service.store.queries import find_licence
from licence_service.store.reads import ReadAlert
from tests.people_fixtures import bearer, person_token
from tests.security.fixtures import A1, A2, FP01, REGION_B, Region, secured_region
from tests.service_fixtures import BUSINESS_FIELDS

pytestmark = pytest.mark.e2e

LIMIT = 8
HOLDER = FP01["holder_id"]
BL01 = {"type_code": "BL01", "holder_name": FP01["holder_name"], "holder_id": HOLDER,
        "fields": BUSINESS_FIELDS}  # fmt: skip


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Region]:
    with secured_region(tmp_path_factory.mktemp("item20"), anvil, read_limit_per_minute=LIMIT) as r:
        yield r


@pytest.fixture(scope="module")
def planted(region: Region) -> dict[str, str]:
    """The holder's four licences: key -> base id."""
    out = {}
    with region.client() as c:
        for key, body, who in (("fp_a1", FP01, "issuer_a1"), ("bl_a2", BL01, "issuer_a2")):
            r = c.post("/api/v1/licences", json=body, headers=region.headers[who])
            assert r.status_code == 201, r.text
            with region.rt.sessions() as s:
                out[key] = find_licence(s, str(r.json()["licence_id"])).base_id
    for key, body in (("fp_b", FP01), ("bl_b", BL01)):
        fields = dict(body["fields"])  # type: ignore[call-overload]
        req = IssueRequest(str(body["type_code"]), str(body["holder_name"]), HOLDER, fields,
                           agency_code=REGION_B[2])  # fmt: skip
        out[key] = issue(region.rt, req).base_id  # recorded here, never anchored: enough
    return out


def _lookup(region: Region, who: str, holder: str = HOLDER) -> tuple[int, dict[str, object]]:
    with region.client() as c:
        r = c.get(f"/api/v1/holders/{holder}/licences", headers=region.headers[who])
    return r.status_code, r.json()


def _bases(answer: dict[str, object]) -> set[str]:
    return {str(e["base_id"]) for e in answer["licences"]}  # type: ignore[attr-defined]


def test_each_role_sees_what_the_rule_allows(region: Region, planted: dict[str, str]) -> None:
    status, seen = _lookup(region, "window_a")
    assert status == 200, seen
    assert _bases(seen) == {planted["fp_a1"], planted["bl_a2"]}  # never region B's
    assert all(not e["in_full"] for e in seen["licences"])  # type: ignore[attr-defined]
    text = json.dumps(seen, ensure_ascii=False)
    assert HOLDER not in text and FP01["holder_name"] not in text  # masked, ID not echoed
    assert "文三路1号" not in text  # the address is personal: masked
    statuses = {e["status"] for e in seen["licences"]}  # type: ignore[attr-defined]
    assert statuses == {"ACTIVE"}

    for issuer, key in (("issuer_a1", "fp_a1"), ("issuer_a2", "bl_a2")):
        status, seen = _lookup(region, issuer)
        assert status == 200 and _bases(seen) == {planted[key]}, seen
        assert seen["holder_id"] == HOLDER  # every licence shown is seen in full
        (entry,) = seen["licences"]  # type: ignore[misc]
        assert entry["in_full"] and entry["holder_name"] == FP01["holder_name"]

    for who, code in (("auditor", 403), ("agency_admin_a1", 403), ("region_admin", 403),
                      ("issuer_b", 403), ("anonymous", 401)):  # fmt: skip
        status, seen = _lookup(region, who)
        assert status == code, (who, seen)
        assert HOLDER not in json.dumps(seen)


def test_a_bad_id_is_a_422_naming_the_field_and_reads_nothing(region: Region) -> None:
    bad = HOLDER[:-1] + ("5" if HOLDER[-1] != "5" else "6")
    citizen = make_citizen_id("330106", date(1990, 3, 7), 451)
    for value in (bad, citizen[:-1] + ("1" if citizen[-1] != "1" else "2"), f"LLH1:{bad}"):
        status, body = _lookup(region, "window_a", value)
        assert status == 422, body
        assert body["field"] == "holder_id" and "check character" in str(body["detail"])
    status, body = _lookup(region, "window_a", "X" * 65)  # longer than any code: the path's cap
    assert status == 422


def test_a_scanned_holder_code_finds_the_same_licences(
    region: Region, planted: dict[str, str]
) -> None:
    _, typed = _lookup(region, "issuer_a1")
    status, scanned = _lookup(region, "issuer_a1", f"LLH1:{HOLDER.lower()}")
    assert status == 200 and _bases(scanned) == _bases(typed) == {planted["fp_a1"]}


def test_every_lookup_is_in_the_operation_log_without_the_id(
    region: Region, planted: dict[str, str]
) -> None:
    started = datetime.now(UTC)
    status, _ = _lookup(region, "window_a")
    assert status == 200
    with region.rt.sessions() as s:
        rows = s.scalars(select(OpLogEntry).where(OpLogEntry.action == "holder:lookup")).all()
    row = rows[-1]
    assert row.actor == f"window-a@agency:{A1}" and row.role == PersonRole.WINDOW_STAFF.value
    assert row.target == f"holder:{HOLDER[:4]}{'*' * 10}{HOLDER[-4:]}"
    details = json.loads(row.details_json)
    assert set(details["licences"]) == {planted["fp_a1"], planted["bl_a2"]}
    assert details["holder_subject"] == holder_subject(region.rt, HOLDER)
    assert HOLDER not in row.target + row.details_json
    # no unkeyed digest of the ID either: one is reversed by trying every date and serial
    with region.rt.sessions() as s:
        logged = " ".join(r.target + r.details_json for r in s.scalars(select(OpLogEntry)))
    for digest in (keccak(HOLDER.encode()), hashlib.sha256(HOLDER.encode()).digest()):
        assert digest.hex() not in logged and digest.hex()[:32] not in logged
    assert row.at.replace(tzinfo=UTC) >= started - timedelta(seconds=2)
    seen_by_auditor = json.dumps(actions_of(region.rt, row.actor), ensure_ascii=False)
    assert "holder:lookup" in seen_by_auditor and HOLDER not in seen_by_auditor


def test_walking_id_numbers_is_throttled(region: Region, planted: dict[str, str]) -> None:
    walker = bearer(person_token(region.rt, "window-walker", A1, PersonRole.WINDOW_STAFF))
    region.headers["window_walker"] = walker
    numbers = [make_citizen_id("330106", date(1980, 1, 1), n) for n in range(LIMIT)]
    for number in numbers:  # holders of nothing still count: the walk itself is the attack
        status, body = _lookup(region, "window_walker", number)
        assert status == 200 and body["licences"] == [], body
    status, body = _lookup(region, "window_walker", numbers[0])  # the same one again is fine
    assert status == 200
    with region.client() as c:
        r = c.get(f"/api/v1/holders/{HOLDER}/licences", headers=walker)
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1 and r.json()["field"] == "holder_id"
    assert planted["fp_a1"] not in r.text
    with region.rt.sessions() as s:
        alert = s.scalar(select(ReadAlert).where(ReadAlert.reader == f"window-walker@agency:{A1}"))
    assert alert is not None and alert.distinct_licences == LIMIT + 1
    # another person of the same agency is not held back by the walker
    assert _lookup(region, "window_a")[0] == 200
    assert A2  # (agency A2's issuer is covered above)
