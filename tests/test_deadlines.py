"""Issue 22 point 4, deadline cards (黄牌/红牌): every kind of card from real rows at chosen
times (the clock is an input), who sees which cards tried as attacks through the API and the
desk, a red card's alert delivered to a real SMTP server once — not again on the next round,
after a restart, or after a round that crashed — in real time, and the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ledger_client.node import AnvilNode
from ledger_client.registry import LeafStatus
from licence_service.api.app import create_app
from licence_service.cli.main import app as cli_app
from licence_service.domain.deadlines import Card, CardKind, CardState
from licence_service.notify import DeliveryWorker, Message, SmtpAdapter
from licence_service.people.identity import PermissionDeniedError, PersonInfo, PersonRole, UnitKind
from licence_service.region.bootstrap import DEFAULT_AGENCY, HEALTH_AGENCY, init_region
from licence_service.region.runtime import Runtime
from licence_service.services import issue
from licence_service.services.deadline_sources import SOURCES, SourceContext, register_source
from licence_service.services.deadlines import (
    DeadlineAlertJob,
    alert_key,
    all_cards,
    deadline_cards,
)
from licence_service.services.issue import IssueRequest
from licence_service.services.status import change_status
from licence_service.store.models import Agency, Licence, ReviewRequest
from tests.browser.conftest import sign_in_http
from tests.chain_fixtures import free_port
from tests.deadline_fixtures import add_consent, add_sharing_request
from tests.notify_fixtures import MailBox, smtp_server  # noqa: F401
from tests.people_fixtures import bearer, person_token, serving
from tests.service_fixtures import business_request, region_runtime

pytestmark = pytest.mark.e2e  # a served app on loopback, a real SMTP server

NOW = datetime.now(UTC)
TODAY = NOW.date()
MARKET, HEALTH = DEFAULT_AGENCY[0], HEALTH_AGENCY[0]
FOOD_FIELDS = {
    "法定代表人（负责人）": "李明", "住所": "浙江省杭州市西湖区文三路1号",
    "经营场所": "浙江省杭州市西湖区文三路1号", "主体业态": "食品销售经营者",
    "经营项目": "预包装食品销售", "日常监督管理机构": "西湖区市场监督管理局",
}  # fmt: skip
FOREIGN_REGION = 440300


class Items:
    """What the module's region holds, by name."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.review = 0
        self.review_start = NOW
        self.consent = 0
        self.sharing = 0
        self.foreign_review = 0


@pytest.fixture(scope="module")
def region(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, Runtime, Items]]:
    rt = region_runtime(tmp_path_factory.mktemp("deadlines"), anvil)
    init_region(rt, agency_code=HEALTH, agency_name=HEALTH_AGENCY[1])
    items = Items()

    def licence(name: str, until: date, start: date | None = None, **more: object) -> str:
        begin = start or TODAY - timedelta(days=30)
        doc = issue(rt, business_request(valid_from=begin, valid_until=until, **more))
        items.ids[name] = doc.base_id
        return doc.licence_id

    licence("soon", TODAY + timedelta(days=20))  # 20 days before expiry: yellow (90 d limit)
    licence("later", TODAY + timedelta(days=60))  # green
    licence("far", TODAY + timedelta(days=100))  # not on the board yet
    licence("health_soon", TODAY + timedelta(days=20), agency_code=HEALTH)
    # a year ago less 10 days: its annual inspection is due in 10 days (yellow)
    licence("inspect", TODAY + timedelta(days=2000), start=TODAY - timedelta(days=355))
    food = issue(rt, IssueRequest("FP01", "杭州沐阳超市有限公司", "91330106MA2B0XKH34",
                                  dict(FOOD_FIELDS)))  # fmt: skip
    items.ids["food"] = food.base_id
    opened = change_status(rt, food.licence_id, LeafStatus.CANCELLED, 2, "申请注销")
    assert opened.review_id is not None
    items.review = opened.review_id
    with rt.sessions() as s:
        created = s.get(ReviewRequest, items.review).created_at  # type: ignore[union-attr]
    items.review_start = created if created.tzinfo else created.replace(tzinfo=UTC)
    items.consent = add_consent(rt, items.ids["later"], TODAY + timedelta(days=5))
    add_consent(rt, items.ids["later"], TODAY + timedelta(days=4), withdrawn=True)
    items.sharing = add_sharing_request(rt, items.ids["later"], NOW - timedelta(days=1))
    items.foreign_review = _foreign_review(rt)
    with serving(create_app(rt, background=False), free_port()) as url:
        yield url, rt, items


def _foreign_review(rt: Runtime) -> int:
    """Another region's agency and a licence of it under review naming OUR agency among its
    approvers (a database that holds more than one region's rows): its card is that region's
    and must never reach our staff or auditors."""
    with rt.sessions.begin() as s:
        agency = Agency(code="12440300MB2C3D4E5F", name="深圳市市场监督管理局",
                        region_code=FOREIGN_REGION, region_name="深圳市",
                        chain_address="0x" + "33" * 20, cert_pem="",
                        cert_fingerprint="")  # fmt: skip
        s.add(agency)
        s.flush()
        lic = Licence(base_id="FOREIGN-REVIEWED-1", type_code="FP01", agency_id=agency.id,
                      serial=1, holder_name="深圳某超市", holder_id_type="uscc",
                      holder_id="91330106MA2B0XKH34")  # fmt: skip
        s.add(lic)
        s.flush()
        review = ReviewRequest(licence_id=lic.id, action="CANCEL", required=2, reason_code=2,
                               approvers_json=json.dumps([MARKET, HEALTH]))  # fmt: skip
        s.add(review)
        s.flush()
        return review.id


def _cards(rt: Runtime, now: datetime) -> dict[str, dict[str, Any]]:
    """The cards at ``now`` by kind:key, as the service returns them."""
    return {f"{c['kind']}:{c['key']}": c for c in deadline_cards(rt, now=now)["cards"]}


def test_each_kind_of_card_and_its_colour_at_chosen_times(
    region: tuple[str, Runtime, Items],
) -> None:
    _, rt, items = region
    ids = items.ids
    board = _cards(rt, NOW)
    expiry = {k.split(":", 1)[1].rsplit(":", 1)[0]: c for k, c in board.items()
              if k.startswith("expiry:")}  # fmt: skip
    assert expiry[ids["soon"]]["state"] == "yellow" and expiry[ids["later"]]["state"] == "green"
    assert ids["far"] not in expiry
    inspections = [c for k, c in board.items() if k.startswith(f"inspection:{ids['inspect']}:")]
    assert [c["state"] for c in inspections] == ["yellow"]
    assert board[f"consent:{items.consent}"]["state"] == "yellow"  # 5 days of 30 left
    assert sum(k.startswith("consent:") for k in board) == 1  # the withdrawn one is not there
    assert board[f"sharing:{items.sharing}"]["state"] == "green"  # 1 day of its 5
    # the joint review (5 days by default): green, yellow from two thirds, red past the limit
    start = items.review_start
    key = f"review:{items.review}"
    assert _cards(rt, start + timedelta(days=1))[key]["state"] == "green"
    assert _cards(rt, start + timedelta(days=3, hours=8))[key]["state"] == "yellow"
    assert _cards(rt, start + timedelta(days=5))[key]["state"] == "yellow"
    assert _cards(rt, start + timedelta(days=5, seconds=1))[key]["state"] == "red"
    # a licence two days past its expiry: red; past keep_days (30): off the board
    until = TODAY + timedelta(days=20)
    lapsed = datetime.combine(until + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    assert f"expiry:{ids['soon']}:{until.isoformat()}" in _cards(rt, lapsed)
    assert _cards(rt, lapsed)[f"expiry:{ids['soon']}:{until.isoformat()}"]["state"] == "red"
    gone = lapsed + timedelta(days=30)
    assert f"expiry:{ids['soon']}:{until.isoformat()}" not in _cards(rt, gone)
    # the overdue inspection stays red until it is recorded
    inspect_key = inspections[0]["key"]
    assert _cards(rt, gone)[f"inspection:{inspect_key}"]["state"] == "red"
    assert _cards(rt, NOW + timedelta(days=6))[f"sharing:{items.sharing}"]["state"] == "red"


def _api(url: str, token: str, **params: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=60) as c:
        return c.get("/api/v1/deadlines", params=params, headers=bearer(token))


def test_who_sees_which_cards_tried_as_attacks(region: tuple[str, Runtime, Items]) -> None:
    url, rt, items = region
    ids = items.ids
    market_clerk = person_token(rt, "dl-market-window", MARKET, PersonRole.WINDOW_STAFF)
    health_clerk = person_token(rt, "dl-health-window", HEALTH, PersonRole.WINDOW_STAFF)
    auditor = person_token(rt, "dl-auditor", "audit", PersonRole.AUDITOR)
    admin = person_token(rt, "dl-admin", "region", PersonRole.REGION_ADMIN)

    def licences(token: str, **params: str) -> set[str]:
        r = _api(url, token, **params)
        assert r.status_code == 200, r.text
        return {c["licence"] for c in r.json()["cards"]}

    everything = licences(auditor)
    assert {ids["soon"], ids["health_soon"], ids["food"], ids["later"]} <= everything
    assert "FOREIGN-REVIEWED-1" not in everything  # another region's item, even naming us
    assert ids["health_soon"] not in licences(auditor, agency=MARKET)  # narrowed on asking
    market = licences(market_clerk)
    assert ids["soon"] in market and ids["food"] in market
    assert ids["health_soon"] not in market and "FOREIGN-REVIEWED-1" not in market
    health = licences(health_clerk)
    assert ids["health_soon"] in health
    assert ids["food"] in health  # the health agency must still approve the review
    assert not {ids["soon"], ids["later"], ids["inspect"], "FOREIGN-REVIEWED-1"} & health
    # asking for another agency's cards, or as someone who may see none
    refused = _api(url, health_clerk, agency=MARKET)
    assert refused.status_code == 403 and "only" in refused.text
    assert _api(url, admin).status_code == 403
    assert _api(url, auditor, state="purple").status_code == 422
    with httpx.Client(base_url=url, timeout=60) as c:
        assert c.get("/api/v1/deadlines").status_code == 401
        # the desk: the health agency's clerk is not shown the market's items either
        person_token(rt, "dl-health-desk", HEALTH, PersonRole.WINDOW_STAFF)
        sign_in_http(c, "dl-health-desk")
        page = c.get("/desk").text
    desk = page[page.index("<section id='deadlines'>") :].split("</section>", 1)[0]
    assert "id='deadlines'" in desk and ids["health_soon"] in desk
    assert ids["soon"] not in desk and "FOREIGN-REVIEWED-1" not in desk
    # the service itself, for a person the HTTP layer would stop: the other region's auditor
    foreign = PersonInfo("sz-auditor", "", UnitKind.AUDIT, None, FOREIGN_REGION,
                         frozenset({PersonRole.AUDITOR}))  # fmt: skip
    theirs = deadline_cards(rt, foreign)["cards"]
    assert [c["licence"] for c in theirs] == ["FOREIGN-REVIEWED-1"]  # type: ignore[index]
    nobody = PersonInfo(
        "x", "", UnitKind.REGION, None, 330100, frozenset({PersonRole.REGION_ADMIN})
    )
    with pytest.raises(PermissionDeniedError):
        deadline_cards(rt, nobody)


def _deliver(rt: Runtime, port: int) -> None:
    smtp = SmtpAdapter("127.0.0.1", port, "licledger@example.cn", 5.0)
    worker = DeliveryWorker(rt.sessions, {"email": smtp})
    for _ in range(20):
        if not worker.run_once().sent:
            return


def _alerts_for(box: MailBox, review_id: int) -> list[str]:
    return [
        str(m["To"]) for m in box.messages if f"joint review #{review_id}:" in str(m["Subject"])
    ]


def test_a_red_card_is_alerted_once_in_real_time(
    region: tuple[str, Runtime, Items],
    smtp_server: tuple[MailBox, int],  # noqa: F811
) -> None:
    _, rt, _ = region
    box, port = smtp_server
    food = issue(rt, IssueRequest("FP01", "杭州沐阳超市有限公司", "91330106MA2B0XKH34",
                                  dict(FOOD_FIELDS)))  # fmt: skip
    review = change_status(rt, food.licence_id, LeafStatus.CANCELLED, 2, "申请注销").review_id
    assert review is not None
    limits = {**rt.settings.deadlines.limits, CardKind.REVIEW: timedelta(seconds=6)}
    contacts = {MARKET: "market@example.cn", "*": "supervisor@example.cn"}
    settings = replace(rt.settings.deadlines, limits=limits, contacts=contacts)
    clock = lambda: datetime.now(UTC)  # noqa: E731 - the real clock, injected
    job = DeadlineAlertJob(rt.sessions, settings, clock)

    def card() -> Card:
        with rt.sessions() as s:
            return next(c for c in all_cards(s, settings, clock())
                        if c.kind is CardKind.REVIEW and c.key == str(review))  # fmt: skip

    first = card()
    assert first.state(clock()) is CardState.GREEN
    job.run_once()
    time.sleep(max((first.yellow_from - clock()).total_seconds(), 0) + 0.05)
    assert first.state(clock()) is CardState.YELLOW and card().state(clock()) is CardState.YELLOW
    job.run_once()
    with rt.sessions() as s:
        assert s.scalar(select(Message.id).where(Message.dedupe_key == alert_key(first))) is None
    time.sleep(max((first.deadline - clock()).total_seconds(), 0) + 0.05)
    assert card().state(clock()) is CardState.RED

    def crash(s: object, ctx: SourceContext) -> Iterator[Card]:
        raise RuntimeError("the process dies in the middle of a round")
        yield  # a generator, as sources are

    register_source(crash)  # after the real sources: their red cards are enqueued first
    try:
        with pytest.raises(RuntimeError):
            job.run_once()
    finally:
        SOURCES.remove(crash)
    with rt.sessions() as s:  # the crashed round's transaction left nothing behind
        assert s.scalar(select(Message.id).where(Message.dedupe_key == alert_key(first))) is None
    assert job.run_once().enqueued >= 1
    _deliver(rt, port)
    assert _alerts_for(box, review) == ["market@example.cn"]  # the licence's agency
    message = next(m for m in box.messages if f"joint review #{review}:" in str(m["Subject"]))
    assert "红牌" in str(message["Subject"]) and food.base_id in message.get_content()
    # the next round, and a restarted service (a new runtime on the same data directory)
    again = job.run_once()
    assert again.already >= 1 and again.enqueued == 0
    restarted = Runtime(rt.settings)
    assert DeadlineAlertJob(restarted.sessions, settings, clock).run_once().enqueued == 0
    _deliver(restarted, port)
    assert _alerts_for(box, review) == ["market@example.cn"]
    with rt.sessions() as s:
        keys = s.scalars(select(Message.dedupe_key).where(Message.dedupe_key.like("deadline:%")))
        assert list(keys).count(alert_key(first)) == 1


def test_the_cli_lists_the_cards_and_queues_alerts(region: tuple[str, Runtime, Items]) -> None:
    _, rt, items = region
    home = str(rt.settings.home)
    runner = CliRunner()
    at = (items.review_start + timedelta(days=6)).isoformat()
    r = runner.invoke(cli_app, ["audit", "deadlines", "--data-dir", home, "--at", at, "--json"])
    assert r.exit_code == 0, r.output
    found = json.loads(r.output)
    review = next(
        c for c in found["cards"] if c["key"] == str(items.review) and c["kind"] == "review"
    )
    assert review["kind"] == "review" and review["state"] == "red"
    assert found["counts"]["red"] >= 1
    r = runner.invoke(cli_app, ["audit", "deadlines", "--data-dir", home, "--state", "purple"])
    assert r.exit_code == 2 and "state must be green, yellow or red" in r.output
    r = runner.invoke(cli_app, ["audit", "deadlines", "--data-dir", home, "--agency", HEALTH,
                                "--json"])  # fmt: skip
    health = {c["licence"] for c in json.loads(r.output)["cards"]}
    assert items.ids["health_soon"] in health and items.ids["food"] in health  # an approver
    assert items.ids["soon"] not in health
    r = runner.invoke(cli_app, ["audit", "deadlines", "--data-dir", home])
    assert r.exit_code == 0 and " red, " in r.output and "yellow" in r.output.lower()
    # alerts are queued at the present only; with no contact set, each red card is counted
    r = runner.invoke(cli_app, ["audit", "deadlines", "--data-dir", home, "--alert", "--at", at])
    assert r.exit_code == 2 and "--alert" in r.output
    r = runner.invoke(cli_app, ["audit", "deadlines", "--data-dir", home, "--alert", "--json"])
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)["alerts"]) == {"enqueued", "already", "unaddressed"}
