"""SM2 signatures and certificates of the ``sm`` suite read by OpenSSL 3's command line, an
implementation that shares no code with tongsuopy's Python layer or with gmssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from signing import sm2
from signing.compact import sign_compact
from signing.sm2_certificates import SmKeyAndCert, sm_public_key
from tests.test_sm_suite import STD_MESSAGE, STD_PRIVATE, STD_SIGNATURE, sm_agency, sm_ca

pytestmark = pytest.mark.e2e
__all__ = ["sm_agency", "sm_ca"]  # the fixtures, shared with test_sm_suite

DISTID = "distid:1234567812345678"


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("openssl")
    if binary is None:
        pytest.fail("the openssl command line is not installed: run `bash scripts/system-deps.sh`")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False, timeout=30)


def pkeyutl_verify(
    tmp_path: Path, public: sm2.PublicKey, message: bytes, der: bytes, distid: str = DISTID
) -> bool:
    (tmp_path / "pub.der").write_bytes(sm2.public_key_der(public))
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(der)
    result = openssl(
        "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pkeyopt", distid,
        "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "pub.der"),
        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"),
    )  # fmt: skip
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def as_der(compact: bytes) -> bytes:
    return encode_dss_signature(
        int.from_bytes(compact[:32], "big"), int.from_bytes(compact[32:], "big")
    )


def test_openssl_verifies_the_standards_published_signature(tmp_path: Path) -> None:
    public = sm2.private_key_from_value(STD_PRIVATE).public_key()
    assert pkeyutl_verify(tmp_path, public, STD_MESSAGE, as_der(STD_SIGNATURE))
    assert not pkeyutl_verify(tmp_path, public, STD_MESSAGE + b"!", as_der(STD_SIGNATURE))


def test_openssl_verifies_qr_and_raw_message_signatures(
    tmp_path: Path, sm_agency: SmKeyAndCert
) -> None:
    public = sm_public_key(sm_agency.cert)
    token = b'{"id":"1.2.156.3005.2.X","v":1}'
    qr_signature = as_der(sign_compact(sm_agency.key, token))
    assert pkeyutl_verify(tmp_path, public, token, qr_signature)
    assert not pkeyutl_verify(tmp_path, public, token[:-1], qr_signature)
    # The signer ID enters the digest: any other ID fails, so ours is the standard default.
    assert not pkeyutl_verify(
        tmp_path, public, token, qr_signature, distid="distid:ALICE123@YAHOO.COM"
    )
    message = "电子证照".encode() * 1000
    assert pkeyutl_verify(tmp_path, public, message, sm2.sign(sm_agency.key, message))


def test_openssl_reads_the_certificates_as_sm2(
    tmp_path: Path, sm_ca: SmKeyAndCert, sm_agency: SmKeyAndCert
) -> None:
    ca_pem, agency_pem = tmp_path / "ca.pem", tmp_path / "agency.pem"
    ca_pem.write_bytes(sm_ca.cert.public_bytes(serialization.Encoding.PEM))
    agency_pem.write_bytes(sm_agency.cert.public_bytes(serialization.Encoding.PEM))
    text = openssl("x509", "-in", str(agency_pem), "-noout", "-text").stdout
    assert text.count("Signature Algorithm: SM2-with-SM3") == 2, text
    assert "ASN1 OID: SM2" in text and "Public-Key: (256 bit)" in text
    assert "Digital Signature, Non Repudiation" in text and "1.3.6.1.5.5.7.3.36" in text
    assert "CA:TRUE, pathlen:0" in openssl("x509", "-in", str(ca_pem), "-noout", "-text").stdout
    chain = openssl("verify", "-vfyopt", DISTID, "-CAfile", str(ca_pem), str(agency_pem))
    assert chain.returncode == 0 and f"{agency_pem}: OK" in chain.stdout, chain.stderr
    # A certificate signed by another SM2 key does not chain.
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(sm_agency.cert.public_bytes(serialization.Encoding.PEM))
    assert openssl("verify", "-vfyopt", DISTID, "-CAfile", str(stranger), str(ca_pem)).returncode
