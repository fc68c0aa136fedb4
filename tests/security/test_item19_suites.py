"""Issue 19: a certificate of the wrong crypto suite for its region, in a mixed consortium
(region A on ``intl``, region B on ``sm``).

- Registration: a region whose CA was swapped for one of the other suite (an sm region handed
  a P-256 CA, an intl region an SM2 one) cannot register the agency certificate it issues: its
  own service refuses it before anything is kept, naming the certificate and both suites.
- Approval: a proposal made past the service (a raw contract call) to add a P-256 certificate
  to the sm region is refused by every other region's service when asked to approve it.
- Past every service (both regions approve with raw calls): the P-256 certificate is on-chain,
  yet a P-256 signature presented for the sm region's licence counts for nothing in any
  verifier: UNKNOWN_ISSUER, naming the suites, and no trust list of the offline counter
  offers it; the genuine SM2 code stays VALID.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from ledger_client.directory import Action, NewCertificate
from licence_service.domain.errors import InvalidInputError
from licence_service.federation.region import approve_proposal
from licence_service.region.bootstrap import init_region
from licence_service.region.runtime import REGION_CA, Runtime
from licence_service.region.settings import load_settings
from licence_service.services.trust_list import trust_list
from signing.certificates import create_region_ca, issue_agency_certificate
from signing.credentials import Credentials
from signing.keystore import save_credentials
from signing.sm2_certificates import create_sm_region_ca
from tests.security.trust_fixtures import A1, B1, Regions, issue_by, qr_token, verify_qr
from verifier.qr import encode_token, parse_token
from verifier.verdicts import Verdict

pytestmark = pytest.mark.parametrize("regions", ["sm"], indirect=True, scope="module")

NEW_AGENCY = ("11440300MB2F12345R", "深圳市卫生健康委员会")


def _copy_with_ca(rt: Runtime, tmp: Path, ca: Credentials) -> Runtime:
    """The region's data directory copied (same chain and contracts), its CA swapped."""
    shutil.copytree(rt.settings.home, tmp / "region")
    settings = load_settings(
        tmp / "region",
        rpc_url=rt.settings.rpc_url,
        chain_port=rt.settings.chain_port,
        embedded_chain=False,
        public_url=rt.settings.public_url,
    )
    copy = Runtime(settings)
    save_credentials(copy.settings.keys_dir, REGION_CA, ca, copy.passphrase.encode())
    return copy


@pytest.mark.parametrize("side", ["sm region, P-256 CA", "intl region, SM2 CA"])
def test_a_certificate_of_another_suite_is_refused_at_registration(
    regions: Regions, tmp_path: Path, side: str
) -> None:
    if side.startswith("sm"):
        rt, region, wrong = regions.b, 440300, create_region_ca("440300", "深圳市")
        said = "is of crypto suite intl, but region 440300 is an sm region"
    else:
        rt, region, wrong = regions.a, 330100, create_sm_region_ca("330100", "杭州市")
        said = "is of crypto suite sm, but region 330100 is an intl region"
    copy = _copy_with_ca(rt, tmp_path, wrong)
    before = copy.directory().region_certificates(region)
    with pytest.raises(InvalidInputError, match=said) as refused:
        init_region(copy, str(region), "名", *NEW_AGENCY)
    assert refused.value.field == "certificate"
    assert "the certificate " in str(refused.value)  # names it by fingerprint and subject
    assert copy.directory().region_certificates(region) == before
    assert not (copy.settings.keys_dir / f"agency-{NEW_AGENCY[0]}.key.pem").exists()


def test_a_p256_signature_for_an_sm_licence_counts_for_nothing(regions: Regions) -> None:
    a, b = regions.a, regions.b
    rogue = issue_agency_certificate(
        create_region_ca("440300", "深圳市"), B1, "深圳市市场监督管理局", "440300"
    )
    cert = NewCertificate(B1, rogue.cert.public_bytes(Encoding.DER))
    pid = b.directory(b.agency_account(B1)).propose(
        Action.ADD_CERTIFICATE, 440300, certificate=cert
    )
    with pytest.raises(InvalidInputError, match="is of crypto suite intl, but region 440300"):
        approve_proposal(a, pid)
    assert not a.directory().proposal(pid).executed

    # Past every service: region A approves with a raw call, and the certificate is on-chain.
    assert a.directory(a.agency_account(A1)).approve(pid).executed
    doc = issue_by(b, B1)
    genuine = qr_token(doc)
    forged = encode_token(replace(parse_token(genuine).claims), rogue.key)
    for rt in (a, b):
        assert verify_qr(rt, genuine).verdict is Verdict.VALID
        result = verify_qr(rt, forged)
        assert result.verdict is Verdict.UNKNOWN_ISSUER, result.checks
        assert "crypto suite intl, while region 440300 is an sm region" in result.reason
        # nor does the offline counter's trust list offer the certificate
        assert rogue.fingerprint not in trust_list(rt)["keys"]
