"""Issue → sign → anchor → verify → revoke through the service, on a real chain and real PDFs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger_client.registry import LeafStatus
from licence_service.anchoring.worker import AnchorWorker
from licence_service.domain.errors import ConflictError, InvalidInputError, NotFoundError
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.issue import issue
from licence_service.services.status import change_status
from licence_service.store.models import AnchorBatch, Licence, OutboxEntry
from tests.service_fixtures import business_request, qr_of
from verifier.errors import VerificationError
from verifier.verdicts import Verdict


def verify(rt: Runtime, data: bytes, at: datetime | None = None):
    return rt.verifier().verify_pdf(data, at)


def test_issued_licence_verifies_valid_with_all_checks(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    assert doc.anchored and doc.tx_hash and doc.tx_hash.startswith("0x")
    data = doc.pdf_path.read_bytes()
    result = verify(rt, data)
    assert result.verdict is Verdict.VALID, result.checks
    assert {c.name for c in result.checks} >= {"signature", "issuer", "digest", "anchor", "status"}
    assert all(c.ok for c in result.checks)
    assert result.licence_id == doc.licence_id and result.version == 1
    assert result.issuer == "杭州市市场监督管理局"
    assert result.anchor_tx == doc.tx_hash
    # the direct chain read agrees with the index
    assert rt.verifier(direct=True).verify_pdf(data).verdict is Verdict.VALID
    qr = rt.verifier().verify_qr(qr_of(rt, doc.licence_id))
    assert qr.verdict is Verdict.VALID, qr.checks
    assert qr.licence_id == doc.licence_id


def test_pending_until_the_worker_anchors(rt: Runtime) -> None:
    doc = issue(rt, business_request())
    data = doc.pdf_path.read_bytes()
    assert verify(rt, data).verdict is Verdict.PENDING
    assert rt.verifier().verify_qr(qr_of(rt, doc.licence_id)).verdict is Verdict.PENDING
    AnchorWorker(rt).flush()
    assert verify(rt, data).verdict is Verdict.VALID


@pytest.mark.parametrize("where", [0.02, 0.3, 0.5, 0.8, -40])
def test_any_changed_byte_is_not_valid(rt: Runtime, where: float) -> None:
    doc = issue_licence(rt, business_request())
    data = bytearray(doc.pdf_path.read_bytes())
    at = int(len(data) * where) if where > 0 else len(data) + int(where)
    data[at] ^= 0x20
    result = verify(rt, bytes(data))
    assert result.verdict is not Verdict.VALID
    assert result.verdict in (Verdict.TAMPERED, Verdict.NOT_ANCHORED)


def test_incremental_update_after_signing_is_tampered(rt: Runtime) -> None:
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    doc = issue_licence(rt, business_request())
    writer = IncrementalPdfFileWriter(BytesIO(doc.pdf_path.read_bytes()))
    writer.set_info(
        generic.DictionaryObject({generic.NameObject("/Title"): generic.TextStringObject("伪造")})
    )
    out = BytesIO()
    writer.write(out)
    result = verify(rt, out.getvalue())
    assert result.verdict is Verdict.TAMPERED
    assert not next(c for c in result.checks if c.name == "signature").ok


def test_signed_by_a_key_that_is_not_the_issuers(rt: Runtime) -> None:
    from licence_service.documents.builder import DocumentSpec, build_document
    from licence_service.domain.identifiers import LicenceIdentifier
    from licence_service.domain.licence_types import get_licence_type
    from licence_service.services.issue import face_values
    from signing.certificates import create_region_ca, issue_agency_certificate

    with rt.sessions() as s:
        agency = rt.agency(s)
    rogue_ca = create_region_ca("330100", "杭州市")
    rogue = issue_agency_certificate(rogue_ca, agency.code, agency.name, "330100")
    ltype = get_licence_type("BL01")
    req = business_request()
    today = datetime.now(UTC).date()
    end = today + timedelta(days=365)
    values = face_values(ltype, req.holder_name, req.holder_id, today, end, req.fields)
    ident = LicenceIdentifier.create("BL01", agency.code, 999_999)
    spec = DocumentSpec(agency, rogue, ltype, ident, values, req.fields, today, today, end)
    forged = build_document(rt.settings.public_url, spec)
    result = verify(rt, forged.pdf)
    assert result.verdict is Verdict.UNKNOWN_ISSUER
    # the genuine key, but never anchored
    genuine = build_document(
        rt.settings.public_url, replace(spec, creds=rt.agency_credentials(agency.code))
    )
    assert verify(rt, genuine.pdf).verdict is Verdict.NOT_ANCHORED


def test_revoke_then_verify_revoked_and_point_in_time(rt: Runtime) -> None:
    doc = issue_licence(rt, business_request())
    data = doc.pdf_path.read_bytes()
    anchored_at = verify(rt, data).anchored_at
    assert anchored_at is not None
    # test fixture only (anvil-specific): let chain time pass before the revocation
    rt.w3.provider.make_request("evm_increaseTime", [5])  # type: ignore[arg-type]
    res = change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1, "test revocation")
    assert res.status == "REVOKED" and res.tx_hash.startswith("0x")
    result = verify(rt, data)
    assert result.verdict is Verdict.REVOKED
    assert result.status_since is not None
    assert rt.verifier(direct=True).verify_pdf(data).verdict is Verdict.REVOKED
    assert rt.verifier().verify_qr(qr_of(rt, doc.licence_id)).verdict is Verdict.REVOKED
    # between anchoring and revocation it was valid; before anchoring it did not exist
    assert res.block_time >= anchored_at + timedelta(seconds=5)
    assert verify(rt, data, anchored_at + timedelta(seconds=1)).verdict is Verdict.VALID
    assert verify(rt, data, res.block_time).verdict is Verdict.REVOKED
    assert verify(rt, data, anchored_at - timedelta(seconds=1)).verdict is Verdict.NOT_ANCHORED
    with pytest.raises(ConflictError):
        change_status(rt, doc.licence_id, LeafStatus.REVOKED, 1, "again")
    with pytest.raises(NotFoundError):
        change_status(rt, doc.licence_id + "0", LeafStatus.REVOKED, 1, "x")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"holder_id": "91330106MA2B0XKH35"}, "holder_id"),
        ({"type_code": "XX99"}, "type_code"),
        ({"fields": {"类型": "有限责任公司"}}, None),
        ({"holder_name": "  "}, "holder_name"),
        ({"fields": {"未知字段": "x"}}, None),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(rt: Runtime, changes, field) -> None:
    with rt.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Licence))
    with pytest.raises(InvalidInputError) as info:
        issue(rt, business_request(**changes))
    if field:
        assert info.value.field == field
    assert str(info.value)
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Licence)) == before


def test_not_a_pdf_is_an_error(rt: Runtime) -> None:
    with pytest.raises(VerificationError):
        verify(rt, b"hello, not a pdf")
    with pytest.raises(VerificationError):
        rt.verifier().verify_qr("LL1.garbage")


def test_worker_resumes_after_crash_without_anchoring_twice(rt: Runtime) -> None:
    docs = [issue(rt, business_request()) for _ in range(3)]
    registry = rt.registry()
    count_before = registry.batch_count()
    # crash 1: the batch was chosen and its transaction signed, never broadcast
    crashed = AnchorWorker(rt, oplog_every=10**9)
    batch_id = crashed._prepare_next()
    assert batch_id is not None
    # crash 2: a second batch broadcast, the worker died before recording the receipt
    docs += [issue(rt, business_request()) for _ in range(2)]
    second = crashed._prepare_next()
    assert second is not None
    with rt.sessions() as s:
        b2 = s.get(AnchorBatch, second)
        assert b2 is not None
        from ledger_client.transactions import SignedTx

        signed = SignedTx(b2.raw_tx or b"", b2.tx_hash or "", b2.nonce or 0, "")
    registry_for_agency = rt.registry(rt.agency_account(rt.agency(rt.sessions()).code))
    assert registry_for_agency.sender is not None
    registry_for_agency.sender.broadcast(signed)

    result = AnchorWorker(rt, oplog_every=10**9).flush()  # a fresh worker after the "restart"
    assert result.batches == 2 and result.leaves == 5
    assert registry.batch_count() == count_before + 2
    assert AnchorWorker(rt, oplog_every=10**9).flush().batches == 0
    with rt.sessions() as s:
        states = s.scalars(
            select(OutboxEntry.state).where(
                OutboxEntry.leaf.in_([bytes.fromhex(d.leaf) for d in docs])
            )
        ).all()
    assert states == ["anchored"] * 5
    for d in docs:
        assert verify(rt, Path(d.pdf_path).read_bytes()).verdict is Verdict.VALID


def test_two_workers_racing_anchor_everything_once(rt: Runtime) -> None:
    import threading

    from licence_service.region.runtime import Runtime as RuntimeCls

    docs = [issue(rt, business_request()) for _ in range(6)]
    before = rt.registry().batch_count()
    other = RuntimeCls(rt.settings)  # like a second process: own lock, own nonce cache
    errors: list[BaseException] = []

    def run(runtime: Runtime) -> None:
        try:
            AnchorWorker(runtime, batch_size=2, oplog_every=10**9).flush()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in (rt, other, rt)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    AnchorWorker(rt, oplog_every=10**9).flush()  # whatever a loser left behind
    assert not errors, errors
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxEntry).where(OutboxEntry.leaf.in_([bytes.fromhex(d.leaf) for d in docs]))
        ).all()
        assert [r.state for r in rows] == ["anchored"] * 6
        assert len({r.batch_id for r in rows}) == 3
    assert rt.registry().batch_count() - before == 3


def test_worker_adopts_a_batch_the_database_lost(rt: Runtime) -> None:
    """The same leaves already on-chain (e.g. the DB was restored from an older backup):
    recorded from the chain, not anchored a second time."""
    docs = [issue(rt, business_request()) for _ in range(2)]
    with rt.sessions() as s:
        entries = s.scalars(
            select(OutboxEntry).where(OutboxEntry.leaf.in_([bytes.fromhex(d.leaf) for d in docs]))
        ).all()
        docs_sorted = sorted((e.leaf, e.key, e.body) for e in entries)
    registry = rt.registry(rt.agency_account(rt.agency(rt.sessions()).code))
    behind = registry.anchor([d[1] for d in docs_sorted], [d[2] for d in docs_sorted])
    before = registry.batch_count()
    AnchorWorker(rt, oplog_every=10**9).flush()
    assert registry.batch_count() == before
    with rt.sessions() as s:
        batch = s.scalar(select(AnchorBatch).where(AnchorBatch.chain_batch_id == behind.batch_id))
        assert batch is not None and batch.state == "confirmed"
        assert batch.tx_hash == behind.tx.tx_hash
    for d in docs:
        assert verify(rt, Path(d.pdf_path).read_bytes()).verdict is Verdict.VALID
