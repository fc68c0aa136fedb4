"""The licence lifecycle through the service: versions, status changes, point in time, copies,
inspections, joint review, field checks — each verified from the chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.domain.errors import ConflictError, InvalidInputError
from licence_service.people.identity import PermissionDeniedError, PersonRole
from licence_service.people.service import add_person
from licence_service.region.bootstrap import HEALTH_AGENCY, init_region
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence, licence_history
from licence_service.services.amend import Amendment, amend
from licence_service.services.attachments import make_copy, record_inspection
from licence_service.services.field_checks import check_field
from licence_service.services.status import approve, change_status, reviews
from licence_service.store.models import LicenceVersion
from tests.service_fixtures import business_request
from verifier.fields import check_field_proof
from verifier.verdicts import Verdict


@pytest.fixture(scope="module")
def rt(rt: Runtime) -> Runtime:
    """The module's region (on each database) with a second agency for joint reviews."""
    init_region(rt, agency_code=HEALTH_AGENCY[0], agency_name=HEALTH_AGENCY[1])
    return rt


def tick(rt: Runtime, seconds: int = 5) -> None:
    """Test fixture only (anvil-specific): let chain time pass."""
    rt.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]


def pdf(rt: Runtime, identifier: str) -> bytes:
    with rt.sessions() as s:
        v = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == identifier))
        assert v is not None
        return Path(v.pdf_path).read_bytes()


def verdict(rt: Runtime, data: bytes, at: datetime | None = None):
    return rt.verifier().verify_pdf(data, at)


def flush(rt: Runtime) -> None:
    AnchorWorker(rt).flush()


def test_amendment_supersedes_and_names_the_current_version(rt: Runtime) -> None:
    v1 = issue_licence(rt, business_request())
    tick(rt)
    v2 = amend(rt, v1.licence_id, Amendment({"注册资本": "200万元"}, "change", "增资"))
    assert v2.version == 2 and v2.base_id == v1.base_id
    flush(rt)
    old = verdict(rt, pdf(rt, v1.licence_id))
    assert old.verdict is Verdict.SUPERSEDED
    assert old.extra["current_version"] == 2 and "002" in old.reason
    new = verdict(rt, pdf(rt, v2.licence_id))
    assert new.verdict is Verdict.VALID
    # on-chain link, read directly from the contract
    assert rt.registry().successor_of(bytes.fromhex(v1.leaf)) == bytes.fromhex(v2.leaf)
    # point in time: valid before the amendment was linked
    assert (
        verdict(rt, pdf(rt, v1.licence_id), old.anchored_at + timedelta(seconds=1)).verdict
        is Verdict.VALID
    )  # type: ignore[operator]
    # a correction, then the oldest version names version 3
    tick(rt)
    v3 = amend(
        rt,
        v1.base_id,
        Amendment({"住所": "浙江省杭州市西湖区文三路100号"}, "correction", "地址笔误"),
    )
    flush(rt)
    assert verdict(rt, pdf(rt, v1.licence_id)).extra["current_version"] == 3
    assert v3.version == 3
    with pytest.raises(ConflictError):
        change_status(rt, v1.licence_id, LeafStatus.SUSPENDED, 1)  # a historical version
    with pytest.raises(InvalidInputError):
        amend(rt, v1.base_id, Amendment({"注册资本": "200万元"}, "upgrade", "x"))
    history = licence_history(rt, v1.base_id)
    assert [v["version"] for v in history["versions"]] == [1, 2, 3]
    assert (
        history["metadata"]["version"] == 3
        and history["metadata"]["fields"]["注册资本"] == "200万元"
    )


def test_suspend_reinstate_revoke_and_refused_transitions(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    data = pdf(rt, doc.licence_id)
    tick(rt)
    s1 = change_status(rt, doc.licence_id, LeafStatus.SUSPENDED, 1, "整改")
    assert verdict(rt, data).verdict is Verdict.SUSPENDED
    with pytest.raises(ConflictError):
        amend(rt, doc.licence_id, Amendment({"注册资本": "1万元"}, "change", "x"))
    tick(rt)
    r = change_status(rt, doc.licence_id, LeafStatus.ACTIVE, 9, "整改完成")
    assert verdict(rt, data).verdict is Verdict.VALID
    assert s1.block_time and r.block_time
    assert verdict(rt, data, s1.block_time + timedelta(seconds=1)).verdict is Verdict.SUSPENDED
    tick(rt)
    change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1, "吊销")
    assert verdict(rt, data).verdict is Verdict.REVOKED
    for to in (LeafStatus.ACTIVE, LeafStatus.SUSPENDED, LeafStatus.CANCELLED):
        with pytest.raises(ConflictError):
            change_status(rt, doc.licence_id, to, 1)
    with pytest.raises(ConflictError):
        amend(rt, doc.licence_id, Amendment({"注册资本": "1万元"}, "change", "x"))


def test_report_lost_then_reissue(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    change_status(rt, doc.licence_id, LeafStatus.REPORTED_LOST, 4, "遗失")
    with pytest.raises(ConflictError):
        amend(rt, doc.licence_id, Amendment({"注册资本": "1万元"}, "change", "x"))
    new = (
        amend(
            rt,
            doc.licence_id,
            Amendment({"注册资本": "100万元 "}, "reissue", "补发"),
        )
        if False
        else None
    )
    new = amend(
        rt, doc.licence_id, Amendment({}, "reissue", "补发", date.today() + timedelta(days=3000))
    )
    flush(rt)
    lost = verdict(rt, pdf(rt, doc.licence_id))
    assert lost.verdict is Verdict.REPORTED_LOST and lost.extra["current_version"] == 2
    assert verdict(rt, pdf(rt, new.licence_id)).verdict is Verdict.VALID


def test_cancel_and_expiry(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    change_status(rt, doc.licence_id, LeafStatus.CANCELLED, 2, "注销")
    assert verdict(rt, pdf(rt, doc.licence_id)).verdict is Verdict.CANCELLED
    short = issue_licence(
        rt, business_request(valid_from=date(2020, 1, 1), valid_until=date(2021, 1, 1))
    )
    data = pdf(rt, short.licence_id)
    assert verdict(rt, data).verdict is Verdict.EXPIRED  # no transaction needed
    assert licence_history(rt, short.licence_id)["status"] == "EXPIRED"


def test_use_specific_copy(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    until = datetime.now(UTC).date() + timedelta(days=30)
    copy = make_copy(rt, doc.licence_id, "办理银行开户", "中国工商银行杭州分行", until)
    flush(rt)
    assert copy.identifier.endswith("/C001") and copy.pdf_path
    data = Path(copy.pdf_path).read_bytes()
    result = verdict(rt, data)
    assert result.verdict is Verdict.VALID, result.checks
    assert result.extra["attachment"]["purpose"] == "办理银行开户"
    assert result.extra["attachment"]["recipient"] == "中国工商银行杭州分行"
    assert result.valid_until == until.isoformat()
    later = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    assert verdict(rt, data, later).verdict is Verdict.EXPIRED
    # QR of the copy
    qr = rt.verifier().verify_qr(_qr(rt, data))
    assert qr.verdict is Verdict.VALID
    # revoked on its own: the licence stays valid
    change_status(rt, copy.identifier, LeafStatus.REVOKED, 9, "用途已完成")
    assert verdict(rt, data).verdict is Verdict.REVOKED
    assert verdict(rt, pdf(rt, doc.licence_id)).verdict is Verdict.VALID
    with pytest.raises(InvalidInputError):
        make_copy(rt, doc.licence_id, "x", "y", datetime.now(UTC).date() + timedelta(days=91))
    # a copy of a licence later revoked is not valid either
    copy2 = make_copy(rt, doc.licence_id, "招投标", "某采购中心", until)
    flush(rt)
    change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1)
    assert verdict(rt, Path(copy2.pdf_path or "").read_bytes()).verdict is Verdict.REVOKED


def test_copy_cap(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICLEDGER_COPY_CAP", "2")
    doc = issue_licence(rt, business_request())
    until = datetime.now(UTC).date() + timedelta(days=10)
    make_copy(rt, doc.licence_id, "用途a", "某银行", until)
    make_copy(rt, doc.licence_id, "用途b", "某银行", until)
    with pytest.raises(ConflictError, match="cap 2"):
        make_copy(rt, doc.licence_id, "用途c", "某银行", until)


def _qr(rt: Runtime, data: bytes) -> str:
    """The QR token printed on the document (its metadata carries the same signed token)."""
    from signing.pdf_metadata import read_metadata
    from verifier.metadata import METADATA_FILE

    return str(read_metadata(data, METADATA_FILE)["qr_token"])


def test_annual_inspection_is_anchored_not_a_version(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    year = datetime.now(UTC).year
    res = record_inspection(rt, doc.licence_id, year, "合格", "按期年检")
    flush(rt)
    assert res.identifier.endswith("/I001")
    with pytest.raises(ConflictError):
        record_inspection(rt, doc.licence_id, year, "合格")
    history = licence_history(rt, doc.licence_id)
    assert history["current_version"] == 1
    assert history["attachments"][0]["kind"] == "INSPECTION"
    assert history["attachments"][0]["anchor_state"] == "anchored"
    rt.indexer.sync()
    assert rt.index.find_leaf(bytes.fromhex(res.leaf)) is not None


def test_joint_review_before_cancellation(rt: Runtime) -> None:
    from licence_service.services.issue import IssueRequest

    req = IssueRequest(
        "FP01", "杭州沐阳超市有限公司", "91330106MA2B0XKH34",
        {"法定代表人（负责人）": "李明", "住所": "浙江省杭州市西湖区文三路1号",
         "经营场所": "浙江省杭州市西湖区文三路1号", "主体业态": "食品销售经营者",
         "经营项目": "预包装食品销售", "日常监督管理机构": "西湖区市场监督管理局"},
    )  # fmt: skip
    doc = issue_licence(rt, req)
    pending = change_status(rt, doc.licence_id, LeafStatus.CANCELLED, 2, "申请注销")
    assert pending.status == "PENDING_REVIEW" and pending.tx_hash is None
    assert verdict(rt, pdf(rt, doc.licence_id)).verdict is Verdict.VALID
    rid = pending.review_id
    assert rid is not None
    assert any(r["review_id"] == rid for r in reviews(rt))
    market = add_person(rt, "jr-market", "11330100002489458U", frozenset({PersonRole.ISSUER}))
    health = add_person(rt, "jr-health", HEALTH_AGENCY[0], frozenset({PersonRole.ISSUER}))
    clerk = add_person(rt, "jr-clerk", HEALTH_AGENCY[0], frozenset({PersonRole.WINDOW_STAFF}))
    with pytest.raises(PermissionDeniedError):
        approve(rt, rid, clerk)  # window staff do not approve
    first = approve(rt, rid, market)
    assert (first.status, first.approvals, first.required) == ("PENDING_REVIEW", 1, 2)
    with pytest.raises(ConflictError):
        approve(rt, rid, market)
    done = approve(rt, rid, health)
    assert done.status == "CANCELLED" and done.tx_hash
    assert verdict(rt, pdf(rt, doc.licence_id)).verdict is Verdict.CANCELLED
    kinds = [a["kind"] for a in licence_history(rt, doc.licence_id)["attachments"]]
    assert kinds == ["APPROVAL", "APPROVAL"]


def test_field_check_discloses_nothing_else(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    yes = check_field(rt, doc.licence_id, "注册资本", "100万元")
    assert yes.match and yes.proof is not None
    assert set(yes.proof) >= {"salt", "field_proof", "data_root", "leaf_proof", "batch_id"}
    assert "法定代表人" not in str(yes.proof) and "王晓东" not in str(yes.proof)
    assert check_field_proof(yes.proof, rt.index).ok
    forged = dict(yes.proof, value="1000万元")
    assert not check_field_proof(forged, rt.index).ok
    no = check_field(rt, doc.licence_id, "注册资本", "999万元")
    assert not no.match and no.proof is None
    with pytest.raises(InvalidInputError):
        check_field(rt, doc.licence_id, "不存在", "x")
    # after an amendment the old proof no longer proves the current version
    amend(rt, doc.licence_id, Amendment({"注册资本": "300万元"}, "change", "增资"))
    flush(rt)
    rt.indexer.sync()
    assert not check_field_proof(yes.proof, rt.index).ok
    assert check_field(rt, doc.licence_id, "注册资本", "300万元").match
