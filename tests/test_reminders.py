"""Issue 20 point 4, reminders: the holder's contact kept off the PDF and masked; an agency's
licences expiring soon and inspections due (use case, CLI, API, desk in both languages); each
holder told once per licence and threshold through the outbox, delivered for real by e-mail
and SMS; one reminder job and one delivery worker per region (the leases)."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pypdf
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.cli.main import app as cli_app
from licence_service.notify import DeliveryWorker, Message, WebhookAdapter, delivery_worker
from licence_service.notify.reminders import ReminderJob, threshold_of
from licence_service.people.identity import PersonRole
from licence_service.region.bootstrap import DEFAULT_AGENCY, HEALTH_AGENCY, init_region
from licence_service.region.runtime import Runtime
from licence_service.region.settings import NotifySettings
from licence_service.services import issue, record_inspection, reminders_list
from licence_service.services.issue import IssuedDocument
from licence_service.store.lease import Lease
from licence_service.store.models import LicenceVersion
from tests.browser.conftest import sign_in_http
from tests.chain_fixtures import free_port
from tests.notify_fixtures import Gateway, MailBox, gateway, smtp_server  # noqa: F401
from tests.people_fixtures import bearer, person_token, serving
from tests.service_fixtures import business_request, region_runtime

pytestmark = pytest.mark.e2e  # a served app on loopback, real SMTP and webhook receivers

TODAY = datetime.now(UTC).date()
AGENCY = DEFAULT_AGENCY[0]
OTHER = HEALTH_AGENCY


@pytest.fixture(scope="module")
def region(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, Runtime]]:
    """A region served without its background workers: the tests drive the reminder job and
    the delivery worker themselves, on chosen days."""
    rt = region_runtime(tmp_path_factory.mktemp("reminders"), anvil)
    init_region(rt, agency_code=OTHER[0], agency_name=OTHER[1])  # a second agency
    with serving(create_app(rt, background=False), free_port()) as url:
        yield url, rt


def _issue(rt: Runtime, until: date, start: date | None = None, **contact: str) -> IssuedDocument:
    begin = start or TODAY - timedelta(days=30)  # its first inspection is 11 months away
    return issue(rt, business_request(valid_from=begin, valid_until=until, **contact))


def _base(doc: IssuedDocument) -> str:
    return doc.base_id


def test_the_contact_is_kept_off_the_pdf_and_masked_like_the_name(
    region: tuple[str, Runtime],
) -> None:
    url, rt = region
    issuer = bearer(person_token(rt, "rem-issuer", AGENCY, PersonRole.ISSUER))
    window = bearer(person_token(rt, "rem-window", AGENCY, PersonRole.WINDOW_STAFF))
    body = {"type_code": "BL01", "holder_name": "杭州青禾科技有限公司",
            "holder_id": "91330106MA2B0XKH34", "fields": business_request().fields,
            "holder_email": "qinghe@example.cn", "holder_phone": "138 0013 8000",
            "wait": False}  # fmt: skip
    with httpx.Client(base_url=url, timeout=60) as c:
        bad = c.post("/api/v1/licences", json={**body, "holder_email": "qinghe"}, headers=issuer)
        assert bad.status_code == 422 and "holder_email" in bad.text and "e-mail" in bad.text
        made = c.post("/api/v1/licences", json=body, headers=issuer)
        assert made.status_code == 201, made.text
        licence_id = made.json()["licence_id"]
        full = c.get(f"/api/v1/licences/{licence_id}", headers=issuer).json()
        masked = c.get(f"/api/v1/licences/{licence_id}", headers=window).json()
    assert full["holder_contact"] == {"email": "qinghe@example.cn", "phone": "13800138000"}
    assert masked["holder_contact"] == {"email": "q***@example.cn", "phone": "138****8000"}
    with rt.sessions() as s:
        version = s.scalars(
            select(LicenceVersion).where(LicenceVersion.identifier == licence_id)
        ).one()
        stored = (version.licence.holder_email, version.licence.holder_phone)
        pdf = open(version.pdf_path, "rb").read()  # noqa: SIM115
        fields = version.fields_json
    assert stored == ("qinghe@example.cn", "13800138000")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for secret in ("qinghe", "13800138000", "example.cn"):
        assert secret not in text and secret.encode() not in pdf and secret not in fields


def test_an_agency_lists_its_expiring_licences_and_inspections_due(
    region: tuple[str, Runtime],
) -> None:
    url, rt = region
    soon = _issue(rt, TODAY + timedelta(days=20), holder_email="a@example.cn")
    later = _issue(rt, TODAY + timedelta(days=100))
    # issued a year ago less 10 days: its annual inspection (BL01: every year) is due in 10
    inspect_start = TODAY - timedelta(days=355)
    due = _issue(rt, TODAY + timedelta(days=2000), start=inspect_start)
    done = _issue(rt, TODAY + timedelta(days=2000), start=inspect_start)
    record_inspection(rt, done.licence_id, TODAY.year, "合格")  # the next one: a year on
    found = reminders_list(rt, 30, AGENCY)
    expiring = {r["base_id"]: r for r in found["expiring"]}
    inspections = {r["base_id"]: r for r in found["inspections"]}
    assert _base(soon) in expiring and _base(later) not in expiring
    assert expiring[_base(soon)]["days_left"] == 20 and expiring[_base(soon)]["reachable"]
    assert expiring[_base(soon)]["holder_name"] == "杭州青禾科技有限公司"  # the CLI: in full
    expected_due = inspect_start.replace(year=inspect_start.year + 1)
    assert inspections[_base(due)]["due"] == expected_due.isoformat()
    assert _base(done) not in inspections or inspect_start.year == TODAY.year
    assert _base(due) not in expiring and _base(soon) not in inspections

    runner = CliRunner()
    env = {"LICLEDGER_DATABASE_URL": rt.settings.database_url}
    cli = runner.invoke(cli_app, ["reminders", "list", "--within", "30", "--json",
                                  "--data-dir", str(rt.settings.home)], env=env)  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert {r["base_id"] for r in json.loads(cli.output)["expiring"]} == set(expiring)
    wrong = runner.invoke(cli_app, ["reminders", "list", "--within", "-1",
                                    "--data-dir", str(rt.settings.home)], env=env)  # fmt: skip
    assert wrong.exit_code == 2 and "within" in wrong.output

    issuer = bearer(person_token(rt, "list-issuer", AGENCY, PersonRole.ISSUER))
    window = bearer(person_token(rt, "list-window", AGENCY, PersonRole.WINDOW_STAFF))
    other = bearer(person_token(rt, "list-other", OTHER[0], PersonRole.ISSUER))
    with httpx.Client(base_url=url, timeout=60) as c:
        mine = c.get("/api/v1/reminders", params={"within": 30}, headers=issuer)
        seen = c.get("/api/v1/reminders", params={"within": 30}, headers=window).json()
        refused = c.get("/api/v1/reminders", params={"agency": AGENCY}, headers=other)
        too_far = c.get("/api/v1/reminders", params={"within": 99999}, headers=issuer)
        anonymous = c.get("/api/v1/reminders")
        sign_in_http(c, "list-window")
        pages = {lang: c.get("/desk", params={"lang": lang, "within": 30}) for lang in ("zh", "en")}
    assert mine.status_code == 200 and mine.json()["expiring"] == found["expiring"]
    masked = {r["base_id"]: r for r in seen["expiring"]}[_base(soon)]
    assert masked["holder_name"] != "杭州青禾科技有限公司" and "*" in masked["holder_id"]
    assert refused.status_code == 403 and "reminders of agency" in refused.text
    assert too_far.status_code == 422 and "within" in too_far.text
    assert anonymous.status_code == 401
    for lang, words in (("zh", ("到期提醒", "即将到期", "待年检")),
                        ("en", ("Reminders", "Expiring", "Inspections due"))):  # fmt: skip
        page = pages[lang]
        assert page.status_code == 200 and all(w in page.text for w in words), page.text[:300]
        assert soon.licence_id in page.text and "杭州青禾科技有限公司" not in page.text
        assert "<script>" not in page.text  # no inline script


@pytest.mark.unit
def test_the_smallest_threshold_reached_counts() -> None:
    assert [threshold_of(d, (90, 30, 7)) for d in (91, 90, 31, 30, 8, 7, 0, -1)] == [
        None, 90, 90, 30, 30, 7, 7, None,
    ]  # fmt: skip


def _reminders_of(rt: Runtime, base_id: str) -> list[str]:
    with rt.sessions() as s:
        keys = s.scalars(select(Message.dedupe_key).where(Message.dedupe_key.like(f"%{base_id}%")))
        return sorted(keys)


def test_each_holder_is_told_once_per_licence_and_threshold(region: tuple[str, Runtime]) -> None:
    _, rt = region
    until = TODAY + timedelta(days=200)
    doc = _issue(rt, until, start=TODAY, holder_email="once@example.cn")
    job = ReminderJob(rt.sessions, rt.settings.notify)
    told = []
    for days_before in (120, 95, 90, 89, 60, 31, 30, 29, 8, 7, 3, 0):
        job.run_once(until - timedelta(days=days_before))
        job.run_once(until - timedelta(days=days_before))  # a second run the same day
        told.append(len(_reminders_of(rt, doc.base_id)))
    assert told == [0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    keys = _reminders_of(rt, doc.base_id)
    assert [k.rsplit(":", 1)[1] for k in keys] == ["30", "7", "90"]
    with rt.sessions() as s:
        rows = s.scalars(select(Message).where(Message.dedupe_key.in_(keys))).all()
    assert {m.recipient for m in rows} == {"once@example.cn"} and {m.channel for m in rows} == {
        "email"
    }
    # a licence first seen 20 days before its expiry gets the 30-day reminder only
    late = _issue(rt, TODAY + timedelta(days=20), holder_phone="13900139000")
    ReminderJob(rt.sessions, rt.settings.notify).run_once(TODAY)
    [key] = _reminders_of(rt, late.base_id)
    assert key.endswith(":expiry:" + (TODAY + timedelta(days=20)).isoformat() + ":30")


def test_reminders_are_delivered_by_email_and_sms(
    region: tuple[str, Runtime],
    smtp_server: tuple[MailBox, int],  # noqa: F811
    gateway: tuple[Gateway, str],  # noqa: F811
) -> None:
    _, rt = region
    box, port = smtp_server
    gw, url = gateway
    day = TODAY + timedelta(days=1000)  # a day no other test's licence is due
    by_mail = _issue(rt, day + timedelta(days=7), start=TODAY, holder_email="mail@example.cn")
    by_sms = _issue(rt, day + timedelta(days=7), start=TODAY, holder_phone="13700137000")
    ReminderJob(rt.sessions, rt.settings.notify).run_once(day)
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="n@hz.example.cn",
                              webhook_url=url, timeout=5)  # fmt: skip
    delivery_worker(rt.sessions, settings).run_once()
    mail = next(m for m in box.messages if m["To"] == "mail@example.cn")
    assert mail["Subject"] == "营业执照将于7天后到期"
    assert by_mail.licence_id in mail.get_content()  # type: ignore[attr-defined]
    [sms] = [b for b in gw.delivered.values() if b["to"] == "13700137000"]
    assert by_sms.licence_id in sms["text"] and "7天" in sms["text"]


def test_one_reminder_job_and_one_delivery_worker_per_region(
    region: tuple[str, Runtime],
    gateway: tuple[Gateway, str],  # noqa: F811
) -> None:
    _, rt = region
    gw, url = gateway
    phones = [f"1360013600{i}" for i in range(3)]
    for phone in phones:
        _issue(rt, TODAY + timedelta(days=5), holder_phone=phone)
    settings = replace(rt.settings.notify, reminder_interval=0.2, holder_channel="sms")
    stop = threading.Event()
    jobs = [ReminderJob(rt.sessions, settings, name=n) for n in ("job-a", "job-b")]
    workers = [
        DeliveryWorker(rt.sessions, {"sms": WebhookAdapter(f"{url}/{n}")}, name=n)
        for n in ("worker-a", "worker-b")
    ]
    threads = [
        threading.Thread(target=j.run, args=(stop, Lease(rt.sessions, "reminders", j.name, 1.0)))
        for j in jobs
    ] + [
        threading.Thread(target=w.run, args=(stop, 0.1, Lease(rt.sessions, "notify", w.name, 1.0)))
        for w in workers
    ]  # fmt: skip
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while not _reached(gw, phones) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a few more rounds of both
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert _reached(gw, phones)  # each holder told by text message
    assert sorted(j.rounds > 0 for j in jobs) == [False, True]  # one job ran its rounds
    assert len(set(gw.paths)) == 1  # one worker sent everything
    assert len(gw.requests) == len(gw.delivered)  # each message once


def _reached(gw: Gateway, phones: list[str]) -> bool:
    return {b["to"] for b in gw.delivered.values()} >= set(phones)
