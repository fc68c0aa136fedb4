"""A region on the ``sm`` crypto suite end to end, on the session's chain: `licledger init
--crypto sm`, issue, verify the PDF and the QR code. The service-flow tests of
tests/test_service_flow.py run here again, unchanged, on an sm region (their ``rt`` fixture is
redefined below); among them a P-256 signature presented for the sm region's licence
(``test_signed_by_a_key_that_is_not_the_issuers``)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from gmssl.sm2 import CryptSM2

from ledger_client.node import AnvilNode
from licence_service.audit.replay import replay
from licence_service.domain.errors import InvalidInputError
from licence_service.region.bootstrap import init_region
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from signing import sm2
from signing.compact import verify_compact
from signing.pdf_metadata import read_metadata
from signing.sm2_certificates import sm_public_key, suite_of_certificate
from signing.suites import INTL, SM
from tests.service_fixtures import business_request, qr_of, region_runtime
from tests.test_service_flow import (  # the intl flow, collected here again on an sm region
    test_any_changed_byte_is_not_valid,
    test_incremental_update_after_signing_is_tampered,
    test_issued_licence_verifies_valid_with_all_checks,
    test_revoke_then_verify_revoked_and_point_in_time,
    test_signed_by_a_key_that_is_not_the_issuers,
)
from verifier.leaves import document_digest
from verifier.metadata import METADATA_FILE
from verifier.qr import parse_token
from verifier.verdicts import Verdict

__all__ = [
    "test_any_changed_byte_is_not_valid",
    "test_incremental_update_after_signing_is_tampered",
    "test_issued_licence_verifies_valid_with_all_checks",
    "test_revoke_then_verify_revoked_and_point_in_time",
    "test_signed_by_a_key_that_is_not_the_issuers",
]

EXE = str(Path(sys.executable).parent / "licledger")
AGENCY = "11330100002489458U"


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Runtime:
    return region_runtime(tmp_path_factory.mktemp("sm-region"), anvil, crypto="sm")


@pytest.mark.contract
def test_every_key_certificate_and_digest_of_an_sm_region_is_sm(rt: Runtime) -> None:
    keys = rt.settings.keys_dir
    for name in ("region-ca", f"agency-{AGENCY}"):
        cert = x509.load_pem_x509_certificate((keys / f"{name}.cert.pem").read_bytes())
        assert suite_of_certificate(cert) is SM
        assert cert.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
        sealed = (keys / f"{name}.key.pem").read_text()
        assert "Cipher: SM4-GCM" in sealed and "Suite: sm" in sealed  # SM4 at rest
    doc = issue_licence(rt, business_request())
    pdf = doc.pdf_path.read_bytes()
    # the anchored digest binds SM3 beside SHA-256: neither alone is the leaf's
    assert doc.document_digest == document_digest(pdf, SM).hex()
    assert (
        doc.document_digest != hashlib.sha256(pdf).hexdigest() == document_digest(pdf, INTL).hex()
    )
    assert rt.verifier().verify_pdf(pdf).verdict is Verdict.VALID
    # the QR token is SM2-signed: gmssl (pure Python, not ours) verifies it, P-256 does not
    token = parse_token(qr_of(rt, doc.licence_id))
    signer = rt.agency_credentials(AGENCY).cert
    numbers = sm_public_key(signer).public_numbers()
    gm = CryptSM2(private_key="", public_key=f"{numbers.x:064x}{numbers.y:064x}")
    assert gm.verify_with_sm3(token.signature.hex(), token.message)
    assert verify_compact(sm_public_key(signer), token.message, token.signature)
    assert rt.verifier().verify_qr(qr_of(rt, doc.licence_id)).verdict is Verdict.VALID
    assert replay(rt).consistent


@pytest.mark.contract
def test_a_region_keeps_its_suite(rt: Runtime) -> None:
    before = sorted(p.name for p in rt.settings.keys_dir.iterdir())
    with pytest.raises(InvalidInputError, match="set up with crypto suite sm") as refused:
        init_region(rt, crypto="intl")
    assert refused.value.field == "crypto"
    with pytest.raises(InvalidInputError, match="unknown crypto suite 'rsa'; choose one of intl"):
        init_region(rt, crypto="rsa")
    assert sorted(p.name for p in rt.settings.keys_dir.iterdir()) == before
    # naming the region's own suite, or none, completes the set-up as before
    assert init_region(rt, crypto="sm").code == init_region(rt).code == AGENCY
    assert isinstance(rt.agency_credentials(AGENCY).key, sm2.PrivateKey)


@pytest.mark.e2e
def test_licledger_init_crypto_sm_issues_and_verifies(tmp_path: Path, anvil: AnvilNode) -> None:
    """The commands a new user types: init --crypto sm, issue, verify the PDF, verify the QR."""
    env = {
        **os.environ,
        "LICLEDGER_RPC_URL": anvil.config.rpc_url,
        "LICLEDGER_CHAIN_PORT": str(anvil.config.port),
        "LICLEDGER_EMBEDDED_CHAIN": "0",  # the session's node
    }
    for name in ("LICLEDGER_HOME", "LICLEDGER_ENV", "LICLEDGER_KEY_PASSPHRASE"):
        env.pop(name, None)
    home = str(tmp_path / "data")

    def run(*args: str, check: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [EXE, *args, "--data-dir", home], env=env, capture_output=True, text=True, timeout=180
        )
        assert proc.returncode == check, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
        return proc

    refused = run("init", "--crypto", "rsa", check=2)
    assert "unknown crypto suite 'rsa'" in refused.stderr and "[crypto]" in refused.stderr
    assert not (tmp_path / "data" / "keys").exists()  # refused before anything was made
    init = json.loads(run("init", "--crypto", "sm", "--json").stdout)
    assert init["crypto"] == "sm" and init["member"] is True
    fields = [f"--field={k}={v}" for k, v in business_request().fields.items()]
    issued = json.loads(
        run(
            "issue", "--type", "BL01", "--holder-name", "杭州青禾科技有限公司",
            "--holder-id", "91330106MA2B0XKH34", *fields, "--json",
        ).stdout
    )  # fmt: skip
    assert issued["anchored"] is True
    verdict = json.loads(run("verify", issued["pdf"], "--json").stdout)
    assert verdict["verdict"] == "VALID", verdict
    token = read_metadata(Path(issued["pdf"]).read_bytes(), METADATA_FILE)["qr_token"]
    assert json.loads(run("verify", "--qr", token, "--json").stdout)["verdict"] == "VALID"
    again = run("init", "--crypto", "intl", check=2)
    assert "set up with crypto suite sm" in again.stderr
