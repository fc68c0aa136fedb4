"""The SM2/SM3 CMS signer (the building block of an ``sm`` region's PDF signature), checked by
our verifier, by gmssl and by OpenSSL 3's command line over the signed attributes."""

from __future__ import annotations

import contextlib
import random
import re
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.serialization import Encoding
from gmssl import sm3 as gm_sm3
from gmssl.func import bytes_to_list
from gmssl.sm2 import CryptSM2
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen.canvas import Canvas

from signing import sm2
from signing.errors import PdfSigningError, SigningError
from signing.pades import SignerConfig, sign_pdf
from signing.sm2_certificates import SmKeyAndCert, create_sm_region_ca, sm_public_key
from signing.sm2_cms import SmCmsTemplate, sign_detached_sm2, signer_info_parts, verify_detached_sm2
from tests.test_sm_openssl import openssl, pkeyutl_verify
from tests.test_sm_suite import gmssl_of, sm_agency, sm_ca

__all__ = ["sm_agency", "sm_ca"]  # the fixtures, shared with test_sm_suite

CONTENT = b"%PDF-1.7 byte range of a licence " * 100


@pytest.fixture(scope="module")
def signed(sm_agency: SmKeyAndCert) -> bytes:
    return sign_detached_sm2(CONTENT, sm_agency)


@pytest.mark.unit
def test_signer_info_is_sm3_and_sm2(signed: bytes, sm_agency: SmKeyAndCert) -> None:
    info = cms.ContentInfo.load(signed)["content"]["signer_infos"][0]
    assert info["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    assert info["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    names = [a["type"].native for a in info["signed_attrs"]]
    assert names == ["content_type", "message_digest", "signing_certificate_v2"]
    ess = info["signed_attrs"][2]["values"][0]["certs"][0]
    assert ess["hash_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    assert ess["cert_hash"].native == sm2.sm3(sm_agency.cert.public_bytes(Encoding.DER))
    assert verify_detached_sm2(signed, CONTENT) == sm_agency.cert
    assert verify_detached_sm2(signed, CONTENT + b" ") is None
    parts = signer_info_parts(signed)
    assert parts.message_digest.hex() == gm_sm3.sm3_hash(bytes_to_list(CONTENT))
    # gmssl checks the SM2 signature over the signed attributes, as signed (SET OF).
    gm = CryptSM2(
        private_key="", public_key=gmssl_of(sm_public_key(sm_agency.cert)).public_key, asn1=True
    )
    assert gm.verify_with_sm3(parts.signature.hex(), parts.signed_attributes)
    assert parts.signed_attributes[0] == 0x31  # universal SET, not the [0] of the SignerInfo


@pytest.mark.unit
def test_a_changed_attribute_or_a_stranger_signer_fails(
    signed: bytes, sm_agency: SmKeyAndCert
) -> None:
    content_info = cms.ContentInfo.load(signed)
    info = content_info["content"]["signer_infos"][0]
    other = sm2.sm3(b"another document")
    info["signed_attrs"][1]["values"][0] = other
    # the digest matches the changed attribute, so only the SM2 signature can refuse it
    assert verify_detached_sm2(content_info.dump(force=True), digest=other) is None
    stranger = create_sm_region_ca("440000", "假冒的根证书")
    with pytest.raises(PdfSigningError, match="does not match the certificate"):
        sign_detached_sm2(CONTENT, SmKeyAndCert(key=stranger.key, cert=sm_agency.cert))
    # A container naming the agency's certificate but signed with another key is refused.
    template = SmCmsTemplate(sm_agency)
    template.key = stranger.key
    assert verify_detached_sm2(template.sign(sm2.sm3(CONTENT)), CONTENT) is None
    with pytest.raises(SigningError, match="not a CMS SignedData"):
        signer_info_parts(b"\x30\x03\x02\x01\x00")


@pytest.mark.e2e
def test_openssl_verifies_the_signer_info(
    tmp_path: Path, signed: bytes, sm_agency: SmKeyAndCert
) -> None:
    parts = signer_info_parts(signed)
    public = sm_public_key(sm_agency.cert)
    assert pkeyutl_verify(tmp_path, public, parts.signed_attributes, parts.signature)
    assert not pkeyutl_verify(tmp_path, public, parts.signed_attributes[:-1], parts.signature)
    # OpenSSL's SM3 of the content is the messageDigest attribute.
    (tmp_path / "content").write_bytes(CONTENT)
    digest = openssl("dgst", "-sm3", "-r", str(tmp_path / "content")).stdout.split()[0]
    assert bytes.fromhex(digest) == parts.message_digest == sm2.sm3(CONTENT)
    # OpenSSL parses the whole SignedData and names the algorithms.
    (tmp_path / "sig.p7").write_bytes(signed)
    printed = openssl("cms", "-cmsout", "-print", "-noout", "-inform", "DER",
                      "-in", str(tmp_path / "sig.p7")).stdout  # fmt: skip
    signer_info = printed[printed.index("signerInfos:") :]
    assert re.search(
        r"digestAlgorithm: \n\s+algorithm: sm3 \(1\.2\.156\.10197\.1\.401\)", signer_info
    )
    assert re.search(
        r"signatureAlgorithm: \n\s+algorithm: SM2-with-SM3 \(1\.2\.156\.10197\.1\.501\)",
        signer_info,
    )
    assert "object: messageDigest (1.2.840.113549.1.9.4)" in signer_info


def _pdf() -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "licence")
    canvas.save()
    return buffer.getvalue()


@pytest.mark.e2e
def test_pades_signature_of_sm_credentials(tmp_path: Path, sm_agency: SmKeyAndCert) -> None:
    """sign_pdf with SM2 credentials: byte range, DocMDP and the SM2/SM3 container; the SM3 of
    the byte range is the messageDigest and OpenSSL checks the signer info."""
    signed_pdf = sign_pdf(_pdf(), SignerConfig(credentials=sm_agency), metadata={"v": 1})
    reader = PdfFileReader(BytesIO(signed_pdf))
    (signature,) = reader.embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "/DocMDP" in reader.root["/Perms"]
    start, first, second, length = signature.sig_object["/ByteRange"]
    assert start == 0 and second + length == len(signed_pdf)
    covered = signed_pdf[:first] + signed_pdf[second : second + length]
    container = bytes(signature.sig_object["/Contents"])
    assert verify_detached_sm2(container, covered) == sm_agency.cert
    changed = bytearray(covered)
    changed[100] ^= 1
    assert verify_detached_sm2(container, bytes(changed)) is None
    parts = signer_info_parts(container)
    assert pkeyutl_verify(
        tmp_path, sm_public_key(sm_agency.cert), parts.signed_attributes, parts.signature
    )


@pytest.mark.unit
def test_damaged_containers_give_a_typed_error_or_an_answer(signed: bytes) -> None:
    """Hostile input: random byte changes and truncations of a real container never escape as
    anything but SigningError (asn1crypto and cryptography parse lazily, deep inside)."""
    rng = random.Random(19)
    for _ in range(600):
        damaged = bytearray(signed)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.2:
            del damaged[rng.randrange(len(damaged)) :]
        with contextlib.suppress(SigningError):
            verify_detached_sm2(bytes(damaged), CONTENT)
