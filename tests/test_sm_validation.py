"""Validation of ``sm`` PDF signatures (SM2 over SM3), which pyHanko cannot check: the same
verdicts and messages as for ``intl``. The intl validation tests of tests/test_signing.py run
here again, unchanged, on SM2 credentials (their fixtures are redefined below), and the
checks that only SM2 needs follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm

from signing import sm2
from signing.certificates import (
    certificate_fingerprint,
    create_region_ca,
    issue_agency_certificate,
)
from signing.pades import SignerConfig, sign_pdf
from signing.pdf_metadata import embed_metadata
from signing.sm2_certificates import (
    SmKeyAndCert,
    create_sm_region_ca,
    issue_sm_agency_certificate,
    suite_of_certificate,
)
from signing.suites import INTL, SM, CryptoSuiteError
from signing.validation import validate_pdf_signature
from tests.test_signing import (  # the intl tests, collected here again with sm fixtures
    METADATA,
    credential_fixtures,
    plain_pdf,
    test_any_changed_byte_is_detected,
    test_any_changed_hex_digit_in_the_signature_is_detected,
    test_appended_bytes_after_signing,
    test_approval_signature_without_certification,
    test_changed_byte_in_embedded_ca_certificate_is_detected,
    test_foreign_signer_is_not_trusted,
    test_garbage_is_reported_not_raised,
    test_incremental_update_after_signing,
    test_metadata_survives_signing,
    test_signed_pdf_validates,
    test_single_changed_byte_is_detected,
    test_subtle_container_edits_are_detected,
    test_truncated_signed_file,
    test_unsigned_pdf,
    test_validation_inside_a_running_event_loop,
    test_validation_time_override,
)

pytestmark = pytest.mark.unit

__all__ = [
    "plain_pdf",
    "test_any_changed_byte_is_detected",
    "test_any_changed_hex_digit_in_the_signature_is_detected",
    "test_appended_bytes_after_signing",
    "test_approval_signature_without_certification",
    "test_changed_byte_in_embedded_ca_certificate_is_detected",
    "test_foreign_signer_is_not_trusted",
    "test_garbage_is_reported_not_raised",
    "test_incremental_update_after_signing",
    "test_metadata_survives_signing",
    "test_signed_pdf_validates",
    "test_single_changed_byte_is_detected",
    "test_subtle_container_edits_are_detected",
    "test_truncated_signed_file",
    "test_unsigned_pdf",
    "test_validation_inside_a_running_event_loop",
    "test_validation_time_override",
]

AGENCY_CODE = "11440300MB2F12345X"


ca, agency, foreign_agency = credential_fixtures(
    create_sm_region_ca,
    issue_sm_agency_certificate,
    ("440300", "深圳市电子证照根证书"),
    (AGENCY_CODE, "深圳市市场监督管理局"),
)


@pytest.fixture(scope="module")
def signed_pdf(plain_pdf: bytes, agency: SmKeyAndCert) -> bytes:
    with_meta = embed_metadata(plain_pdf, METADATA)
    return sign_pdf(with_meta, SignerConfig(agency, reason="发证", location="深圳"))


def _signer_info(pdf: bytes) -> tuple[int, int, cms.ContentInfo]:
    emb = PdfFileReader(BytesIO(pdf)).embedded_signatures[-1]
    _, len1, start2, _ = (int(v) for v in emb.byte_range)
    return len1, start2, cms.ContentInfo.load(bytes(emb.pkcs7_content))


def _replace_container(pdf: bytes, container: cms.ContentInfo) -> bytes:
    """The file with another CMS in its gap, canonically encoded and zero-padded (so only the
    cryptographic checks can refuse it)."""
    len1, start2, _ = _signer_info(pdf)
    hex_digits = container.dump(force=True).hex().encode()
    room = start2 - len1 - 2
    assert len(hex_digits) <= room
    return pdf[: len1 + 1] + hex_digits + b"0" * (room - len(hex_digits)) + pdf[start2 - 1 :]


def test_an_sm_signature_is_certified_sm3_and_sm2(signed_pdf: bytes, agency: SmKeyAndCert) -> None:
    emb = PdfFileReader(BytesIO(signed_pdf)).embedded_signatures[-1]
    assert emb.docmdp_level is MDPPerm.NO_CHANGES  # DocMDP: no change allowed after signing
    info = emb.signer_info
    assert info["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    assert info["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    report = validate_pdf_signature(signed_pdf, [])
    assert report.signer == agency.cert and not report.trusted


def test_a_re_signed_attribute_set_needs_the_agency_key(
    signed_pdf: bytes, ca: SmKeyAndCert, agency: SmKeyAndCert
) -> None:
    """Signed attributes changed (a content type other than data) and signed again by another
    SM2 key: the digest still matches, only the signature check can refuse it."""
    _, _, container = _signer_info(signed_pdf)
    info = container["content"]["signer_infos"][0]
    info["signed_attrs"][0]["values"][0] = cms.ContentType("signed_data")
    stranger = sm2.generate_private_key()
    info["signature"] = sm2.sign(stranger, info["signed_attrs"].dump(force=True))
    report = validate_pdf_signature(_replace_container(signed_pdf, container), [ca.cert])
    assert report.intact and not report.valid and not report.ok
    assert report.detail == "the signature value does not verify against the signer's certificate"
    # signed properly by the agency, the wrong content type is still refused
    info["signature"] = sm2.sign(agency.key, info["signed_attrs"].dump(force=True))
    assert not validate_pdf_signature(_replace_container(signed_pdf, container), [ca.cert]).valid


def test_an_expired_sm_certificate_is_not_trusted(plain_pdf: bytes) -> None:
    old = create_sm_region_ca("440300", "旧根", not_before=datetime.now(UTC) - timedelta(days=30))
    expired = issue_sm_agency_certificate(
        old, AGENCY_CODE, "过期的局", "440300", valid_days=1,
        not_before=datetime.now(UTC) - timedelta(days=3),
    )  # fmt: skip
    report = validate_pdf_signature(sign_pdf(plain_pdf, SignerConfig(expired)), [old.cert])
    assert report.intact and report.valid and not report.trusted and not report.ok
    assert report.detail == "the signer's certificate (or its CA) had expired at signing time"


def test_suites_do_not_vouch_for_each_other(plain_pdf: bytes, ca: SmKeyAndCert) -> None:
    """A P-256 region CA never certifies an SM2 signer and an SM2 CA never a P-256 one, even
    under the same subject; with both roots each file is trusted by its own suite's root."""
    same_name = create_region_ca("440300", "深圳市电子证照根证书")
    p256 = issue_agency_certificate(same_name, AGENCY_CODE, "深圳市市场监督管理局", "440300")
    intl_pdf = sign_pdf(plain_pdf, SignerConfig(p256))
    report = validate_pdf_signature(intl_pdf, [ca.cert])
    assert report.valid and not report.trusted
    assert "does not chain" in report.detail
    sm_pdf = sign_pdf(
        plain_pdf,
        SignerConfig(
            issue_sm_agency_certificate(ca, AGENCY_CODE, "深圳市市场监督管理局", "440300")
        ),
    )
    assert not validate_pdf_signature(sm_pdf, [same_name.cert]).trusted
    assert validate_pdf_signature(intl_pdf, [ca.cert, same_name.cert]).ok
    assert validate_pdf_signature(sm_pdf, [same_name.cert, ca.cert]).ok


def _mixed(tbs_of: SmKeyAndCert, spki: bytes | None, algorithm: str, sign) -> x509.Certificate:  # type: ignore[no-untyped-def]
    """``tbs_of``'s certificate with another key and/or signature algorithm, signed anew."""
    tbs = asn1_x509.Certificate.load(tbs_of.cert.public_bytes(Encoding.DER))["tbs_certificate"]
    if spki is not None:
        tbs["subject_public_key_info"] = asn1_keys.PublicKeyInfo.load(spki)
    tbs["signature"] = {"algorithm": algorithm}
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": algorithm},
            "signature_value": sign(tbs.dump(force=True)),
        }
    )
    return x509.load_der_x509_certificate(cert.dump())


def test_a_certificate_mixing_the_suites_belongs_to_none(ca: SmKeyAndCert) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    spki = p256.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    p256_key_sm2_signed = _mixed(ca, spki, SM.signature_oid, lambda m: sm2.sign(ca.key, m))
    sm2_key_ecdsa_signed = _mixed(
        ca, None, INTL.signature_oid, lambda m: p256.sign(m, ec.ECDSA(hashes.SHA256()))
    )
    assert suite_of_certificate(ca.cert) is SM
    for mixed in (p256_key_sm2_signed, sm2_key_ecdsa_signed):
        with pytest.raises(CryptoSuiteError, match="belongs to no crypto suite") as refused:
            suite_of_certificate(mixed)
        assert certificate_fingerprint(mixed) in str(refused.value)
