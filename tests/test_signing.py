"""Tests of the generic signing package with real keys, real PDFs and real validators."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import stat
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen.canvas import Canvas

from signing.certificates import (
    KeyAndCert,
    certificate_fingerprint,
    create_region_ca,
    issue_agency_certificate,
    subject_attributes,
)
from signing.compact import sign_compact, verify_compact
from signing.errors import (
    CertificateError,
    KeystoreError,
    MetadataError,
    PdfSigningError,
    SigningError,
)
from signing.keystore import credentials_exist, load_credentials, save_credentials
from signing.pades import SignerConfig, sign_pdf
from signing.pdf_metadata import embed_metadata, read_metadata
from signing.validation import SignatureReport, validate_pdf_signature

AGENCY_CODE = "11310115MB2F12345X"
METADATA = {"identifier": "1.2.156.3005.2.X", "持证主体": "上海示例科技有限公司", "version": 1}


# ---------------------------------------------------------------- fixtures


def credential_fixtures(
    create_ca: Callable[[str, str], Any],
    issue_agency: Callable[[Any, str, str, str], Any],
    region: tuple[str, str],
    agency: tuple[str, str],
) -> tuple[Any, Any, Any]:
    """The ``ca``, ``agency`` and ``foreign_agency`` fixtures of one crypto suite, made by
    its own functions: these tests run again on SM2 credentials (tests/test_sm_validation.py)."""

    @pytest.fixture(scope="module", name="ca")
    def ca_fixture() -> Any:
        return create_ca(*region)

    @pytest.fixture(scope="module", name="agency")
    def agency_fixture(ca: Any) -> Any:
        return issue_agency(ca, agency[0], agency[1], region[0])

    @pytest.fixture(scope="module", name="foreign_agency")
    def foreign_fixture() -> Any:
        other = create_ca("440000", "广东省电子证照根证书")
        return issue_agency(other, "11440000MB2C99999Y", "广东省市场监督管理局", "440000")

    return ca_fixture, agency_fixture, foreign_fixture


ca, agency, foreign_agency = credential_fixtures(
    create_region_ca,
    issue_agency_certificate,
    ("310000", "上海市电子证照根证书"),
    (AGENCY_CODE, "上海市浦东新区市场监督管理局"),
)


@pytest.fixture(scope="module")
def plain_pdf() -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "Licence Ledger test document")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def signed_pdf(plain_pdf: bytes, agency: KeyAndCert) -> bytes:
    with_meta = embed_metadata(plain_pdf, METADATA)
    return sign_pdf(with_meta, SignerConfig(agency, reason="发证", location="上海"))


def _byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    emb = PdfFileReader(BytesIO(pdf)).embedded_signatures[-1]
    a, b, c, d = (int(v) for v in emb.byte_range)
    return a, b, c, d


def _flip(pdf: bytes, position: int, xor: int = 0x01) -> bytes:
    data = bytearray(pdf)
    data[position] ^= xor
    return bytes(data)


def _different_hex_digit(pdf: bytes, position: int) -> bytes:
    data = bytearray(pdf)
    data[position] = ord("7") if data[position] != ord("7") else ord("A")
    return bytes(data)


# ---------------------------------------------------------------- certificates


def test_region_ca_is_a_ca_with_chinese_subject(ca: KeyAndCert) -> None:
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    usage = ca.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.ca and usage.key_cert_sign and usage.crl_sign
    assert ca.chain == ()
    assert isinstance(ca.key.curve, ec.SECP256R1)
    attrs = subject_attributes(ca.cert)
    assert attrs["name"] == attrs["common_name"] == "上海市电子证照根证书"
    assert attrs["code"] == attrs["region_code"] == "310000"
    ca.cert.verify_directly_issued_by(ca.cert)


def test_agency_certificate(ca: KeyAndCert, agency: KeyAndCert) -> None:
    agency.cert.verify_directly_issued_by(ca.cert)
    assert agency.chain == (ca.cert,)
    usage = agency.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert not agency.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    attrs = subject_attributes(agency.cert)
    assert attrs["name"] == "上海市浦东新区市场监督管理局"
    assert attrs["code"] == attrs["serial_number"] == AGENCY_CODE
    assert attrs["region_code"] == "310000"
    assert attrs["country"] == "CN"


def test_fingerprint_is_lowercase_sha256_of_der(agency: KeyAndCert) -> None:
    expected = hashlib.sha256(agency.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert agency.fingerprint == certificate_fingerprint(agency.cert) == expected
    assert len(expected) == 64 and expected == expected.lower()


def test_agency_validity_is_clipped_to_the_ca(ca: KeyAndCert) -> None:
    creds = issue_agency_certificate(ca, AGENCY_CODE, "某局", "310000", valid_days=100_000)
    assert creds.cert.not_valid_after_utc == ca.cert.not_valid_after_utc


def test_issuing_needs_a_ca_and_sane_inputs(ca: KeyAndCert, agency: KeyAndCert) -> None:
    with pytest.raises(CertificateError, match="not a CA"):
        issue_agency_certificate(agency, AGENCY_CODE, "某局", "310000")
    with pytest.raises(CertificateError, match="agency_name"):
        issue_agency_certificate(ca, AGENCY_CODE, "  ", "310000")
    with pytest.raises(CertificateError, match="naive"):
        issue_agency_certificate(ca, AGENCY_CODE, "某局", "310000", not_before=datetime(2026, 1, 1))
    assert issubclass(CertificateError, SigningError)


# ---------------------------------------------------------------- keystore


def test_keystore_roundtrip_and_permissions(tmp_path: Path, agency: KeyAndCert) -> None:
    keys = tmp_path / "keys"
    assert not credentials_exist(keys, "agency")
    save_credentials(keys, "agency", agency, b"correct horse")
    assert credentials_exist(keys, "agency")
    key_file = keys / "agency.key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    assert sorted(p.name for p in keys.iterdir()) == [
        "agency.cert.pem",
        "agency.chain.pem",
        "agency.key.pem",
    ]
    loaded = load_credentials(keys, "agency", b"correct horse")
    assert loaded.cert == agency.cert
    assert loaded.chain == agency.chain
    assert loaded.key.private_numbers() == agency.key.private_numbers()


def test_keystore_ca_without_chain(tmp_path: Path, ca: KeyAndCert) -> None:
    save_credentials(tmp_path, "region", ca, b"pw")
    assert load_credentials(tmp_path, "region", b"pw").chain == ()


def test_keystore_wrong_passphrase(tmp_path: Path, agency: KeyAndCert) -> None:
    save_credentials(tmp_path, "agency", agency, b"right")
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        load_credentials(tmp_path, "agency", b"wrong")


def test_keystore_missing_and_invalid_names(tmp_path: Path, agency: KeyAndCert) -> None:
    with pytest.raises(KeystoreError, match=str(tmp_path / "nobody.key.pem")):
        load_credentials(tmp_path, "nobody", b"pw")
    with pytest.raises(KeystoreError, match="plain file name"):
        save_credentials(tmp_path, "../escape", agency, b"pw")
    with pytest.raises(KeystoreError, match="non-empty"):
        save_credentials(tmp_path, "agency", agency, b"")


def test_keystore_detects_mismatched_pair(
    tmp_path: Path, agency: KeyAndCert, foreign_agency: KeyAndCert
) -> None:
    save_credentials(tmp_path, "a", agency, b"pw")
    save_credentials(tmp_path, "b", foreign_agency, b"pw")
    (tmp_path / "a.cert.pem").write_bytes((tmp_path / "b.cert.pem").read_bytes())
    with pytest.raises(KeystoreError, match="does not belong"):
        load_credentials(tmp_path, "a", b"pw")


# ---------------------------------------------------------------- signing and validation


def test_signed_pdf_validates(signed_pdf: bytes, ca: KeyAndCert, agency: KeyAndCert) -> None:
    report = validate_pdf_signature(signed_pdf, [ca.cert])
    assert report.ok, report.detail
    assert (report.signed, report.intact, report.valid, report.covers_whole_file) == (
        True,
        True,
        True,
        True,
    )
    assert report.signer == agency.cert
    assert report.signer_fingerprint == agency.fingerprint
    assert report.signing_time is not None
    assert abs(report.signing_time - datetime.now(UTC)) < timedelta(minutes=10)
    assert report.detail.startswith("signature valid")


def test_signed_pdf_is_valid_for_pdfsig(signed_pdf: bytes, tmp_path: Path) -> None:
    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        pytest.fail("poppler's pdfsig is not installed: run `bash scripts/system-deps.sh`")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed_pdf)
    result = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid" in result.stdout, result.stdout + result.stderr
    assert "Total document signed" in result.stdout


def test_metadata_survives_signing(signed_pdf: bytes) -> None:
    assert read_metadata(signed_pdf) == METADATA


@pytest.mark.parametrize("where", ["start", "header", "signed_middle", "sig_hex", "near_end"])
def test_single_changed_byte_is_detected(signed_pdf: bytes, ca: KeyAndCert, where: str) -> None:
    _, len1, start2, _ = _byte_range(signed_pdf)
    if where == "start":
        tampered = _flip(signed_pdf, 0)
    elif where == "header":
        tampered = _flip(signed_pdf, 6)  # %PDF-1.x version digit
    elif where == "signed_middle":
        tampered = _flip(signed_pdf, len1 // 2)
    elif where == "sig_hex":
        tampered = _different_hex_digit(signed_pdf, len1 + 101)
    else:
        tampered = _flip(signed_pdf, len(signed_pdf) - 10)
    report = validate_pdf_signature(tampered, [ca.cert])
    assert not report.ok, report
    assert start2 > len1


def test_changed_byte_in_embedded_ca_certificate_is_detected(
    signed_pdf: bytes, ca: KeyAndCert
) -> None:
    """The chain copy inside the CMS is not covered by the signature; it must still count."""
    _, len1, _, _ = _byte_range(signed_pdf)
    ca_hex = ca.cert.public_bytes(serialization.Encoding.DER).hex().upper().encode()
    offset = signed_pdf.index(ca_hex, len1)
    for delta in (40, len(ca_hex) // 2, len(ca_hex) - 6):
        report = validate_pdf_signature(_different_hex_digit(signed_pdf, offset + delta), [ca.cert])
        assert not report.ok, (delta, report.detail)


def test_subtle_container_edits_are_detected(signed_pdf: bytes, ca: KeyAndCert) -> None:
    """Edits that lenient DER parsers accept: longer CMS length, BIT STRING unused bits."""
    _, len1, _, _ = _byte_range(signed_pdf)
    assert signed_pdf[len1 + 1 : len1 + 5] == b"3082"  # <30 82 LL LL ...
    longer = bytearray(signed_pdf)
    longer[len1 + 8] = ord("F") if longer[len1 + 8] != ord("F") else ord("E")
    assert not validate_pdf_signature(bytes(longer), [ca.cert]).ok

    der = ca.cert.public_bytes(serialization.Encoding.DER)
    signature_tlv = asn1_x509.Certificate.load(der)["signature_value"].dump()
    unused_bits_index = len(der) - len(signature_tlv) + 2
    assert der[unused_bits_index] == 0
    offset = signed_pdf.index(der.hex().upper().encode(), len1)
    unused = bytearray(signed_pdf)
    unused[offset + 2 * unused_bits_index + 1] = ord("1")
    report = validate_pdf_signature(bytes(unused), [ca.cert])
    assert not report.ok and "DER" in report.detail


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fraction=st.floats(min_value=0, max_value=1, exclude_max=True), xor=st.integers(1, 255))
def test_any_changed_byte_is_detected(
    signed_pdf: bytes, ca: KeyAndCert, fraction: float, xor: int
) -> None:
    position = int(fraction * len(signed_pdf))
    report = validate_pdf_signature(_flip(signed_pdf, position, xor), [ca.cert])
    assert not report.ok, (position, xor, report.detail)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_hex_digit_in_the_signature_is_detected(
    signed_pdf: bytes, ca: KeyAndCert, data: st.DataObject
) -> None:
    _, len1, start2, _ = _byte_range(signed_pdf)
    position = data.draw(st.integers(len1 + 1, start2 - 2), label="position")
    digit = data.draw(st.sampled_from(b"0123456789ABCDEFabcdef"), label="digit")
    if signed_pdf[position] == digit:
        return
    tampered = bytearray(signed_pdf)
    tampered[position] = digit
    report = validate_pdf_signature(bytes(tampered), [ca.cert])
    assert not report.ok, (position, chr(digit), report.detail)


def test_incremental_update_after_signing(signed_pdf: bytes, ca: KeyAndCert) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    writer.root["/LicenceLedgerNote"] = generic.pdf_string("changed after signing")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    report = validate_pdf_signature(out.getvalue(), [ca.cert])
    assert report.signed and report.intact and report.valid
    assert not report.covers_whole_file
    assert not report.ok
    assert "after it was signed" in report.detail


def test_appended_bytes_after_signing(signed_pdf: bytes, ca: KeyAndCert) -> None:
    report = validate_pdf_signature(signed_pdf + b"\n% trailing junk\n", [ca.cert])
    assert not report.covers_whole_file and not report.ok


def test_metadata_swapped_after_signing_is_ignored(signed_pdf: bytes) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    fake = EmbeddedFileObject.from_file_data(writer, data=b'{"identifier": "forged"}')
    embed_file(writer, FileSpec(file_spec_string="metadata.json", embedded_data=fake))
    out = BytesIO()
    writer.write(out)
    assert read_metadata(out.getvalue()) == METADATA


def test_foreign_signer_is_not_trusted(
    plain_pdf: bytes, ca: KeyAndCert, foreign_agency: KeyAndCert
) -> None:
    signed = sign_pdf(plain_pdf, SignerConfig(foreign_agency))
    report = validate_pdf_signature(signed, [ca.cert])
    assert report.intact and report.valid and report.covers_whole_file
    assert not report.trusted and not report.ok
    assert report.signer == foreign_agency.cert
    assert "does not chain" in report.detail
    assert validate_pdf_signature(signed, [foreign_agency.chain[0]]).ok
    assert not validate_pdf_signature(signed, []).trusted


def test_expired_certificate_is_not_trusted(plain_pdf: bytes) -> None:
    old_ca = create_region_ca("310000", "旧根", not_before=datetime.now(UTC) - timedelta(days=30))
    expired = issue_agency_certificate(
        old_ca,
        AGENCY_CODE,
        "过期的局",
        "310000",
        valid_days=1,
        not_before=datetime.now(UTC) - timedelta(days=3),
    )
    report = validate_pdf_signature(sign_pdf(plain_pdf, SignerConfig(expired)), [old_ca.cert])
    assert report.intact and report.valid and not report.trusted and not report.ok
    assert "expired" in report.detail


def test_validation_time_override(signed_pdf: bytes, ca: KeyAndCert) -> None:
    far_future = datetime.now(UTC) + timedelta(days=365 * 20)
    report = validate_pdf_signature(signed_pdf, [ca.cert], validation_time=far_future)
    assert report.intact and not report.trusted


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"%PDF-1.7\n", bytes(range(256)) * 4, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<"],
)
def test_garbage_is_reported_not_raised(data: bytes, ca: KeyAndCert) -> None:
    report = validate_pdf_signature(data, [ca.cert])
    assert isinstance(report, SignatureReport)
    assert not report.signed and not report.ok
    assert "not a readable PDF" in report.detail


def test_truncated_signed_file(signed_pdf: bytes, ca: KeyAndCert) -> None:
    for cut in (len(signed_pdf) // 3, len(signed_pdf) - 20):
        assert not validate_pdf_signature(signed_pdf[:cut], [ca.cert]).ok


def test_unsigned_pdf(plain_pdf: bytes, ca: KeyAndCert) -> None:
    report = validate_pdf_signature(plain_pdf, [ca.cert])
    assert not report.signed and report.detail == "the PDF carries no signature"


def test_validation_inside_a_running_event_loop(signed_pdf: bytes, ca: KeyAndCert) -> None:
    async def inside() -> SignatureReport:
        return validate_pdf_signature(signed_pdf, [ca.cert])

    assert asyncio.run(inside()).ok


def test_sign_errors(
    plain_pdf: bytes, signed_pdf: bytes, agency: KeyAndCert, ca: KeyAndCert
) -> None:
    with pytest.raises(PdfSigningError, match="not a readable PDF"):
        sign_pdf(b"not a pdf", SignerConfig(agency))
    with pytest.raises(PdfSigningError, match="already signed"):
        sign_pdf(signed_pdf, SignerConfig(agency))
    mismatched = KeyAndCert(key=ca.key, cert=agency.cert, chain=agency.chain)
    with pytest.raises(PdfSigningError, match="does not match"):
        sign_pdf(plain_pdf, SignerConfig(mismatched))


def test_approval_signature_without_certification(
    plain_pdf: bytes, agency: KeyAndCert, ca: KeyAndCert
) -> None:
    signed = sign_pdf(plain_pdf, SignerConfig(agency, field_name="Seal2", certify=False))
    assert validate_pdf_signature(signed, [ca.cert]).ok


# ---------------------------------------------------------------- metadata


def test_metadata_roundtrip_and_replace(plain_pdf: bytes) -> None:
    first = embed_metadata(plain_pdf, {"b": 2, "a": "甲"})
    assert read_metadata(first) == {"a": "甲", "b": 2}
    second = embed_metadata(first, {"a": "乙"})
    assert read_metadata(second) == {"a": "乙"}
    reader = PdfFileReader(BytesIO(second))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert [str(names[i]) for i in range(0, len(names), 2)] == ["metadata.json"]
    assert read_metadata(embed_metadata(plain_pdf, {"x": 1}, filename="other.json"), "other.json")


def test_metadata_errors(plain_pdf: bytes, signed_pdf: bytes) -> None:
    with pytest.raises(MetadataError, match="no attachment"):
        read_metadata(plain_pdf)
    with pytest.raises(MetadataError, match="no attachment"):
        read_metadata(signed_pdf, "missing.json")
    with pytest.raises(MetadataError, match="not a readable PDF"):
        read_metadata(b"garbage")
    with pytest.raises(MetadataError, match="already signed"):
        embed_metadata(signed_pdf, {"a": 1})
    with pytest.raises(MetadataError, match="JSON"):
        embed_metadata(plain_pdf, {"when": datetime.now(UTC)})
    writer = IncrementalPdfFileWriter(BytesIO(plain_pdf))
    blob = EmbeddedFileObject.from_file_data(writer, data=b"\xff not json")
    embed_file(writer, FileSpec(file_spec_string="metadata.json", embedded_data=blob))
    out = BytesIO()
    writer.write(out)
    with pytest.raises(MetadataError, match="not UTF-8 JSON"):
        read_metadata(out.getvalue())


# ---------------------------------------------------------------- compact signatures


def test_compact_roundtrip(agency: KeyAndCert, foreign_agency: KeyAndCert) -> None:
    message = "1.2.156.3005.2.X|001|数字".encode()
    signature = sign_compact(agency.key, message)
    assert len(signature) == 64
    assert verify_compact(agency.cert, message, signature)
    assert verify_compact(agency.key.public_key(), message, signature)
    assert not verify_compact(agency.cert, message + b"!", signature)
    assert not verify_compact(foreign_agency.cert, message, signature)
    assert not verify_compact(agency.cert, message, _flip(signature, 10))
    assert not verify_compact(agency.cert, message, signature[:-1])
    assert not verify_compact(agency.cert, message, b"\x00" * 64)
    assert not verify_compact(agency.cert, message, b"\xff" * 64)
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert not verify_compact(p384.public_key(), message, signature)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(message=st.binary(max_size=512), other=st.binary(max_size=512))
def test_compact_arbitrary_messages(agency: KeyAndCert, message: bytes, other: bytes) -> None:
    signature = sign_compact(agency.key, message)
    assert verify_compact(agency.cert, message, signature)
    assert verify_compact(agency.cert, other, signature) == (other == message)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(garbage=st.binary(max_size=100))
def test_compact_garbage_signature(agency: KeyAndCert, garbage: bytes) -> None:
    assert verify_compact(agency.cert, b"message", garbage) is False
