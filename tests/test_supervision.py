"""Issue 22 points 1 and 2 on a served region: workload statistics (by agency, type, window and
person, per day to year; verification counts written off the hot path) on the API, the audit
page, CSV, .xlsx and the CLI; the read log with person, subject and purpose for every view of
personal data, searched by auditors, hash-chained, anchored and checked by the replay."""

from __future__ import annotations

import csv
import gc
import io
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from ledger_client.node import AnvilNode
from licence_service.audit.replay import replay
from licence_service.audit.verify_counts import VerificationCounter, counter_of
from licence_service.cli.main import app as cli
from licence_service.services import record_read, verify_qr
from licence_service.store.models import LicenceVersion
from licence_service.store.reads import LicenceRead, VerificationCount
from tests.security.fixtures import A1, Region, secured_region
from tests.service_fixtures import qr_of

pytestmark = pytest.mark.e2e

DL01 = {
    "type_code": "DL01",
    "holder_name": "赵一鸣",
    "holder_id": "110101199003074514",
    "fields": {"性别": "男", "国籍": "中国", "住址": "浙江省杭州市上城区解放路8号",
               "出生日期": "1990-03-07", "初次领证日期": "2010-08-30", "准驾车型": "C1",
               "档案编号": "330100555666"},
}  # fmt: skip
ISSUER = f"issuer-a1@agency:{A1}"
WINDOW = f"window-a@agency:{A1}"


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Region]:
    with secured_region(tmp_path_factory.mktemp("supervision"), anvil) as r:
        yield r


@pytest.fixture(scope="module")
def work(region: Region) -> list[str]:
    """Two DL01 licences issued by issuer-a1, one amended, one suspended; QR verifications:
    three anonymous through the API, one on the status page, one by window-a at the counter."""
    h = region.headers["issuer_a1"]
    with region.client() as c:
        ids = []
        for holder in ("110101199003074514", "110101198501011239"):
            r = c.post("/api/v1/licences", json={**DL01, "holder_id": holder}, headers=h)
            assert r.status_code == 201, r.text
            ids.append(str(r.json()["licence_id"]))
        r = c.post(f"/api/v1/licences/{ids[0]}/amend", headers=h,
                   json={"fields": {"准驾车型": "C1E"}, "reason": "增驾"})  # fmt: skip
        assert r.status_code == 201, r.text
        r = c.post(f"/api/v1/licences/{ids[1]}/status", headers=h,
                   json={"action": "suspend", "reason": "暂扣"})  # fmt: skip
        assert r.status_code == 200, r.text
        payload = qr_of(region.rt, ids[1])
        for _ in range(3):
            assert c.post("/api/v1/verify/qr", json={"payload": payload}).status_code == 200
        assert c.get(f"/v/{payload.rsplit('/', 1)[-1]}").status_code == 200  # the status page
    # the counter page counts its signed-in viewer (its cookie session) the same way
    verify_qr(region.rt, payload, channel="counter", person=WINDOW)
    counter_of(region.rt, region.rt.sessions).flush()  # the background flush may come first
    return ids


def _rows(region: Region, **params: str) -> list[dict[str, object]]:
    with region.client() as c:
        r = c.get("/api/v1/audit/workload", params=params, headers=region.headers["auditor"])
    assert r.status_code == 200, r.text
    return list(r.json())


def test_workload_by_agency_type_person_and_window(region: Region, work: list[str]) -> None:
    year = str(date.today().year)
    [agency] = [r for r in _rows(region, by="agency", period="year") if r["agency"] == A1]
    assert agency["period"] == year
    assert (agency["issued"], agency["changed"], agency["status_changes"]) == (2, 1, 1)
    assert agency["verifications"] == 5 and agency["releases"] == 0
    [dl01] = [r for r in _rows(region, by="type", period="quarter") if r["type"] == "DL01"]
    assert dl01["period"].startswith(f"{year}-Q") and dl01["issued"] == 2
    people = {r["person"]: r for r in _rows(region, by="person", period="year")}
    assert (people[ISSUER]["issued"], people[ISSUER]["verifications"]) == (2, 0)
    assert people[WINDOW]["verifications"] == 1 and people["(anonymous)"]["verifications"] == 4
    windows = {r["window"]: r["verifications"] for r in _rows(region, by="window", period="day")}
    assert (windows["api"], windows["status-page"], windows[WINDOW]) == (3, 1, 1)
    # filters: another agency has no rows; a range before today none either
    assert _rows(region, by="agency", agency="11330100002489466N") == []
    assert _rows(region, by="type", to="2000-12") == []
    with region.client() as c:
        bad = c.get("/api/v1/audit/workload", params={"by": "colour"},
                    headers=region.headers["auditor"])  # fmt: skip
        assert bad.status_code == 422
        denied = c.get("/api/v1/audit/workload", headers=region.headers["window_a"])
        assert denied.status_code == 403


def test_workload_exports_page_and_cli(region: Region, work: list[str], tmp_path: Path) -> None:
    auditor = region.headers["auditor"]
    with region.client() as c:
        text = c.get("/api/v1/audit/workload", headers=auditor,
                     params={"by": "person", "period": "year", "format": "csv"}).text  # fmt: skip
        book = c.get("/audit/workload.xlsx", headers=auditor, params={"by": "type"})
        page = c.get("/audit", headers=auditor, params={"by": "window", "wperiod": "year"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["person"]: r["issued"] for r in rows}[ISSUER] == "2"
    assert book.status_code == 200 and book.content.startswith(b"PK")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    values = list(sheet.values)
    assert values[0] == ("period", "type", *_measures())
    assert any(v[1] == "DL01" and v[2] == 2 for v in values[1:])  # numbers, not text
    assert sheet._charts, "the workbook carries its chart"
    assert page.status_code == 200
    html = page.text
    assert "id='workload-chart'" in html and "<svg" in html and "id='workload-table'" in html
    assert "<script>" not in html and " style=" not in html  # the CSP allows neither inline
    out_xlsx, out_csv = tmp_path / "w.xlsx", tmp_path / "w.csv"
    res = CliRunner().invoke(cli, ["audit", "stats", "--by", "agency", "--period", "month",
                                   "--xlsx", str(out_xlsx), "--csv", str(out_csv), "--json",
                                   "--data-dir", str(region.rt.settings.home)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert out_xlsx.read_bytes().startswith(b"PK") and "verifications" in out_csv.read_text()
    res = CliRunner().invoke(cli, ["audit", "stats", "--by", "colour",
                                   "--data-dir", str(region.rt.settings.home)])  # fmt: skip
    assert res.exit_code == 2 and "by must be one of agency, type, window, person" in res.output


def _measures() -> tuple[str, ...]:
    from licence_service.audit.workload import MEASURES

    return MEASURES


def test_counts_wait_in_memory_and_survive_a_restart(region: Region) -> None:
    """Counting does no I/O; a flush appends rows that a new process (a new counter) and the
    statistics still sum: only an unflushed interval is lost with a killed process."""
    rt = region.rt
    with rt.sessions() as s:
        qr = s.scalar(select(LicenceVersion.qr_payload).limit(1))
        before = s.scalar(select(func.sum(VerificationCount.count))) or 0
    assert qr is not None
    counter = VerificationCounter(rt.sessions, interval=3600)  # no flush during the test
    result = rt.verifying.verify_qr(qr)
    started = time.perf_counter()
    for _ in range(1000):
        counter.count(result, "cli")
    per_count = (time.perf_counter() - started) / 1000
    assert counter.pending() == 1000
    assert per_count < 50e-6, f"{per_count * 1e6:.1f} µs per count"  # ~1 µs: no I/O
    with rt.sessions() as s:  # nothing written yet: the answers did no database work
        assert (s.scalar(select(func.sum(VerificationCount.count))) or 0) == before
    assert counter.flush() == 1000 and counter.pending() == 0
    restarted = VerificationCounter(rt.sessions)  # another process: its own counts from zero
    assert restarted.pending() == 0
    with rt.sessions() as s:
        assert s.scalar(select(func.sum(VerificationCount.count))) == before + 1000


def test_a_counter_stops_and_writes_its_rest_when_its_runtime_goes(region: Region) -> None:
    """The flush thread belongs to its runtime: dropping the owner stops the thread and writes
    what was counted (no thread left flushing into a database that is gone)."""
    rt = region.rt

    class Owner:  # stands for a region runtime: only its lifetime matters here
        pass

    owner = Owner()
    with rt.sessions() as s:
        qr = s.scalar(select(LicenceVersion.qr_payload).limit(1))
        before = s.scalar(select(func.sum(VerificationCount.count))) or 0
    assert qr is not None
    counter = counter_of(owner, rt.sessions)
    counter.count(rt.verifying.verify_qr(qr), "cli")
    thread = counter._thread
    assert thread is not None and thread.is_alive()
    del owner
    gc.collect()
    thread.join(5)
    assert not thread.is_alive(), "the flush thread outlived its runtime"
    assert counter.pending() == 0
    with rt.sessions() as s:
        assert s.scalar(select(func.sum(VerificationCount.count))) == before + 1


def _reads(region: Region, caller: str = "auditor", **params: str) -> list[dict[str, object]]:
    with region.client() as c:
        r = c.get("/api/v1/audit/reads", params=params, headers=region.headers[caller])
    assert r.status_code == 200, r.text
    return list(r.json())


def test_every_view_is_logged_with_person_subject_and_purpose(
    region: Region, work: list[str]
) -> None:
    lid, holder = work[0], str(DL01["holder_id"])
    h = region.headers["issuer_a1"]
    with region.client() as c:
        assert c.get(f"/api/v1/licences/{lid}", headers=h).status_code == 200
        assert c.get(f"/desk/licences/{lid}", headers=h).status_code == 200
        assert c.get(f"/api/v1/licences/{lid}/pdf", headers=h).status_code == 200
        assert c.get(f"/api/v1/licences/{lid}", headers=region.headers["window_a"]).is_success
    # a holder lookup at the window (another module's page) logs through the one function
    subject = record_read(region.rt, "window-a@agency:" + A1, "holder lookup: renewal",
                          holder_id=holder.lower(), route="window holder lookup")  # fmt: skip
    assert subject.startswith("holder:") and holder not in subject
    base = lid.rsplit(".", 2)[0]
    mine = _reads(region, reader=ISSUER, subject=lid)
    purposes = {r["purpose"] for r in mine}
    assert {"licence record", "licence page", "PDF download by staff"} <= purposes
    assert all(r["subject"] == f"licence:{base}" for r in mine)
    assert [r["purpose"] for r in _reads(region, subject=holder)] == ["holder lookup: renewal"]
    assert {r["reader"] for r in _reads(region, purpose="PDF")} == {ISSUER}
    masked = _reads(region, reader=WINDOW, subject=base, all="true")
    assert masked and not masked[-1]["unmasked"]  # window staff saw it masked: logged too
    assert _reads(region, to=(date.today() - timedelta(days=1)).isoformat()) == []
    assert _reads(region, "region_admin", reader=ISSUER)  # the region admin watches too
    with region.client() as c:
        assert c.get("/api/v1/audit/reads", headers=h).status_code == 403
        page = c.get("/audit", headers=region.headers["auditor"],
                     params={"subject": holder, "purpose": "lookup"}).text  # fmt: skip
    assert "holder lookup: renewal" in page
    assert holder not in page.replace(f"value='{holder}'", "")  # only the search term echoed


def test_the_read_log_is_chained_anchored_and_replayed(region: Region, work: list[str]) -> None:
    rt = region.rt
    with region.client() as c:
        c.get(f"/api/v1/licences/{work[1]}", headers=region.headers["issuer_a1"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the server's anchoring worker seals and anchors
        result = replay(rt)
        log = result.oplog["read_log"]
        if log["unsealed"] == 0 and log["anchored_heads"] > 0:
            break
        time.sleep(0.5)
    assert log["rows"] > 0 and log["breaks"] == 0 and log["anchored_heads"] > 0, log
    assert result.consistent, result.discrepancies
    with rt.sessions.begin() as s:  # an insider rewrites why they read a licence
        first = s.scalar(select(func.min(LicenceRead.id)))
        s.execute(update(LicenceRead).where(LicenceRead.id == first).values(purpose="audit"))
    kinds = {d.kind for d in replay(rt).discrepancies}
    assert "READLOG_BROKEN" in kinds
