"""Cross-region recognition and sharing on one chain, in process: membership by M-of-N,
verification from the chain alone, signed requests, consent, masking, receipts, rotation and
key loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger_client.node import AnvilNode
from licence_service.documents.builder import DocumentSpec, build_document
from licence_service.domain.errors import NotFoundError
from licence_service.federation.auth import AuthError, Caller, sign_request, verify_request
from licence_service.federation.client import domain
from licence_service.federation.region import (
    approve_proposal,
    finish_rotation,
    list_regions,
    report_compromised,
    rotate_certificate,
)
from licence_service.federation.sharing import (
    SharingRefused,
    grant_consent,
    release,
    sharing_history,
    withdraw_consent,
)
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from tests.federation_fixtures import Consortium, build_consortium
from tests.service_fixtures import HOLDER_USCC, business_request
from verifier.verdicts import Verdict


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Consortium:
    root = tmp_path_factory.mktemp("consortium")
    return build_consortium(root, anvil.config.rpc_url, anvil.config.port)


def verify_at(rt: Runtime, pdf: Path):
    return rt.verifier().verify_pdf(pdf.read_bytes())


def test_membership_is_on_chain(consortium: Consortium) -> None:
    info = list_regions(consortium.b)
    codes = {r["code"]: r for r in info["regions"]}
    assert set(codes) == {330100, 440300, 110100}
    assert all(r["active"] and r["certificates"] for r in codes.values())
    assert info["effective_threshold"] == 2


def test_region_b_verifies_region_a_from_the_chain(consortium: Consortium) -> None:
    doc = issue_licence(consortium.a, business_request())
    result = verify_at(consortium.b, doc.pdf_path)
    assert result.verdict is Verdict.VALID, result.checks
    issuer = next(c for c in result.checks if c.name == "issuer")
    assert "杭州市" in issuer.detail and "on-chain directory" in issuer.detail
    # B's own database knows nothing of A's licence
    with pytest.raises(NotFoundError):
        from licence_service.services.views import licence_view

        licence_view(consortium.b, doc.licence_id)


def test_signed_requests_are_checked_against_the_directory(consortium: Consortium) -> None:
    a, c = consortium.a, consortium.c
    dom = domain(a)
    with c.sessions() as s:
        agency = c.agency(s)
    account = c.agency_account(agency.code)
    headers = sign_request(dom, account, 110100, "POST", "/x", b"{}", to_region=330100)
    region_of = a.directory().account_region
    to_a = {"audience": 330100}
    caller = verify_request(dom, headers, "POST", "/x", b"{}", region_of, a.sessions, **to_a)
    assert caller == Caller(110100, account.address)
    with pytest.raises(AuthError, match="replayed"):
        verify_request(dom, headers, "POST", "/x", b"{}", region_of, a.sessions, **to_a)
    # claims to be B
    forged = sign_request(dom, account, 440300, "POST", "/x", b"{}", to_region=330100)
    with pytest.raises(AuthError, match="not an account of region 440300"):
        verify_request(dom, forged, "POST", "/x", b"{}", region_of, a.sessions, **to_a)
    other = sign_request(dom, account, 110100, "POST", "/x", b"{}", to_region=330100)
    with pytest.raises(AuthError):
        verify_request(dom, other, "POST", "/x", b"{tampered}", region_of, a.sessions, **to_a)


def test_release_needs_consent_and_masks(consortium: Consortium) -> None:
    a, c = consortium.a, consortium.c
    doc = issue_licence(a, business_request())
    with c.sessions() as s:
        caller = Caller(110100, c.agency_account(c.agency(s).code).address)
    with pytest.raises(SharingRefused, match="no valid consent"):
        release(a, caller, doc.licence_id, "办理分支机构登记")
    until = datetime.now(UTC).date() + timedelta(days=30)
    consent = grant_consent(a, HOLDER_USCC, 110100, "办理分支机构登记", until, doc.licence_id)
    assert consent.tx_hash
    with pytest.raises(SharingRefused):
        release(a, caller, doc.licence_id, "另一个用途")
    data = release(a, caller, doc.licence_id, "办理分支机构登记")
    assert data["fields"]["holder_id"] != HOLDER_USCC and "holder_id" in data["masked"]
    assert data["fields"]["住所"].endswith("****")
    assert data["fields"]["注册资本"] == "100万元"
    on_chain = a.sharing().release(bytes.fromhex(data["receipt"]["hash"]))
    assert on_chain is not None and on_chain.to_region == 110100
    history = sharing_history(a, doc.licence_id)
    assert [h["to_region"] for h in history] == [110100] and history[0]["anchored"]
    # the release is a view of personal data: in the read log, by region, subject and purpose
    from licence_service.services.read_log import ReadQuery, read_log, search_subject

    reads = read_log(a, ReadQuery("region:110100", search_subject(a, doc.licence_id)))
    assert [r["purpose"] for r in reads] == ["release to region 110100: 办理分支机构登记"]
    # consent covering the ID in full releases it unmasked; withdrawal stops releases
    full = grant_consent(a, HOLDER_USCC, 110100, "开户", until, doc.licence_id, None, ["holder_id"])
    assert release(a, caller, doc.licence_id, "开户")["fields"]["holder_id"] == HOLDER_USCC
    withdraw_consent(a, full.consent_id)
    with pytest.raises(SharingRefused):
        release(a, caller, doc.licence_id, "开户")
    with pytest.raises(SharingRefused, match="only the licence's holder"):
        grant_consent(a, "91330106MA2B0XKH51", 110100, "x", until, doc.licence_id)


def test_rotation_by_m_of_n_keeps_old_licences_valid_and_key_loss(consortium: Consortium) -> None:
    a, b = consortium.a, consortium.b
    old = issue_licence(a, business_request())
    with a.sessions() as s:
        agency = a.agency(s)
    old_creds = a.agency_credentials(agency.code)
    proposal = rotate_certificate(a)
    assert not proposal.executed and proposal.needed == 2
    assert approve_proposal(b, proposal.proposal_id).executed
    assert finish_rotation(a) == [agency.code]  # B's approval executed it; A switches
    new_creds = a.agency_credentials(agency.code)
    assert new_creds.fingerprint != old_creds.fingerprint
    new = issue_licence(a, business_request())
    assert verify_at(b, new.pdf_path).verdict is Verdict.VALID
    assert verify_at(b, old.pdf_path).verdict is Verdict.VALID
    # the old key is reported lost now: what it signed before stays valid, anything anchored
    # after is refused
    anchored_at = verify_at(b, old.pdf_path).anchored_at
    assert anchored_at is not None
    a.w3.provider.make_request("evm_increaseTime", [5])  # type: ignore[arg-type] # test fixture
    a.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    report_compromised(a, old_creds.fingerprint, anchored_at + timedelta(seconds=2))
    assert verify_at(b, old.pdf_path).verdict is Verdict.VALID
    from licence_service.domain.identifiers import LicenceIdentifier
    from licence_service.domain.licence_types import get_licence_type
    from licence_service.services.issue import face_values

    ltype = get_licence_type("BL01")
    req = business_request()
    today = datetime.now(UTC).date()
    end = today + timedelta(days=365)
    values = face_values(ltype, req.holder_name, req.holder_id, today, end, req.fields)
    ident = LicenceIdentifier.create("BL01", agency.code, 888_888)
    spec = DocumentSpec(agency, old_creds, ltype, ident, values, req.fields, today, today, end)
    forged = build_document(a.settings.public_url, spec)
    account = a.agency_account(agency.code)
    a.registry(account).anchor([forged.leaf.key], [forged.leaf.body()])
    late = b.verifier().verify_pdf(forged.pdf)
    assert late.verdict is Verdict.UNKNOWN_ISSUER, late.checks
    assert any("compromised" in c.detail for c in late.checks)


def test_replay_traces_where_data_went_and_who_governs(consortium: Consortium) -> None:
    from licence_service.audit.replay import replay
    from licence_service.audit.stats import statistics
    from licence_service.audit.summary import report_json

    a, c = consortium.a, consortium.c
    doc = issue_licence(a, business_request())
    until = datetime.now(UTC).date() + timedelta(days=10)
    grant_consent(a, HOLDER_USCC, 110100, "审计追溯", until, doc.licence_id)
    with c.sessions() as s:
        caller = Caller(110100, c.agency_account(c.agency(s).code).address)
    receipt = release(a, caller, doc.licence_id, "审计追溯")["receipt"]["hash"]
    result = replay(a)
    report = report_json(a, result)
    # the only discrepancy is the document anchored behind the service's back in the key-loss
    # test above: replay finds it too
    assert [d.kind for d in result.discrepancies] == ["UNKNOWN_LEAF"]
    lic = next(x for x in report["licences"] if doc.licence_id.startswith(x["licence"]))
    assert [s["receipt"] for s in lic["versions"][0]["shared_with"]] == [receipt]
    added = {g["region"] for g in report["governance"] if g["event"] == "region added"}
    assert added == {330100, 440300, 110100}
    assert any(g["event"] == "key compromised" for g in report["governance"])
    assert any(row["event"] == "release" and row["receipt"] == receipt for row in report["sharing"])
    assert sum(row["shares"] for row in statistics(a, result.history)) >= 1
