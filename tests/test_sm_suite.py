"""The ``sm`` crypto suite (SM2 / SM3 / SM4) of the signing package, checked against the
standards' own examples and against code that is not ours: the pure-Python ``gmssl`` and
OpenSSL 3's command line. Nothing is mocked: real keys, real certificates, real key files."""

from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from gmssl import sm3 as gm_sm3
from gmssl import sm4 as gm_sm4
from gmssl.func import bytes_to_list
from gmssl.sm2 import CryptSM2
from tongsuopy.crypto.ciphers import Cipher, algorithms, modes
from tongsuopy.crypto.ciphers.aead import SM4GCM

from signing import sm2
from signing.certificates import KeyAndCert, create_region_ca, subject_attributes
from signing.compact import sign_compact, verify_compact
from signing.errors import CertificateError, KeystoreError
from signing.key_envelope import BEGIN, END, sealed_suite
from signing.keystore import load_credentials, load_sm_credentials, save_credentials
from signing.sm2_certificates import (
    SmKeyAndCert,
    create_sm_region_ca,
    issue_sm_agency_certificate,
    sm_public_key,
    verify_sm_certificate_signature,
)
from signing.suites import INTL, SM, CryptoSuiteError, get_suite, suite_of_key

pytestmark = pytest.mark.unit

# GB/T 32918.5-2016 (= GM/T 0003.5-2012) Annex A: signature example on the recommended curve,
# default signer ID 1234567812345678.
STD_PRIVATE = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
STD_PUBLIC_X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
STD_PUBLIC_Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
STD_MESSAGE = b"message digest"
STD_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
STD_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
STD_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
STD_SIGNATURE = bytes.fromhex(STD_R + STD_S)


def gmssl_of(key: sm2.PrivateKey | sm2.PublicKey) -> CryptSM2:
    """The same key in gmssl's hex form (public point x || y, private scalar)."""
    public = key.public_key() if isinstance(key, sm2.PrivateKey) else key
    numbers = public.public_numbers()
    private = (
        f"{key.private_numbers().private_value:064x}" if isinstance(key, sm2.PrivateKey) else ""
    )
    return CryptSM2(private_key=private, public_key=f"{numbers.x:064x}{numbers.y:064x}")


@pytest.fixture(scope="module")
def sm_ca() -> SmKeyAndCert:
    return create_sm_region_ca("440000", "广东省电子证照根证书")


@pytest.fixture(scope="module")
def sm_agency(sm_ca: SmKeyAndCert) -> SmKeyAndCert:
    return issue_sm_agency_certificate(
        sm_ca, "11440000MB2F12345X", "广东省市场监督管理局", "440000"
    )


# ---------------------------------------------------------------- standards' examples


def test_sm3_examples_of_gbt_32905() -> None:
    examples = {
        b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
        b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    }
    for message, digest in examples.items():
        assert sm2.sm3(message).hex() == digest
        assert gm_sm3.sm3_hash(bytes_to_list(message)) == digest
    assert sm2.sm3(b"abd") != sm2.sm3(b"abc")


def test_sm4_example_of_gbt_32907_and_sm4_gcm_of_rfc_8998() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    block = encryptor.update(key) + encryptor.finalize()
    assert block.hex() == "681edf34d206965e86b3e94f536e4246"
    gm = gm_sm4.CryptSM4(padding_mode=gm_sm4.ZERO)
    gm.set_key(key, gm_sm4.SM4_ENCRYPT)
    assert gm.crypt_ecb(key)[:16] == block
    # SM4-GCM, the envelope cipher of sm key files: RFC 8998 A.1.
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex("AA" * 8 + "BB" * 8 + "CC" * 8 + "DD" * 8 + "EE" * 8 + "FF" * 8)
    plaintext += bytes.fromhex("EE" * 8 + "AA" * 8)
    sealed = SM4GCM(key).encrypt(nonce, plaintext, aad)
    assert sealed.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )


def test_sm2_signature_example_of_gbt_32918() -> None:
    key = sm2.private_key_from_value(STD_PRIVATE)
    numbers = key.public_key().public_numbers()
    assert (f"{numbers.x:064X}", f"{numbers.y:064X}") == (STD_PUBLIC_X, STD_PUBLIC_Y)
    public = key.public_key()
    # Tongsuo verifies the published signature, and refuses it changed in any part.
    assert sm2.verify_compact(public, STD_MESSAGE, STD_SIGNATURE)
    assert not sm2.verify_compact(public, b"message digesT", STD_SIGNATURE)
    for index in (0, 31, 32, 63):
        damaged = bytearray(STD_SIGNATURE)
        damaged[index] ^= 0x01
        assert not sm2.verify_compact(public, STD_MESSAGE, bytes(damaged))
    # gmssl, given the standard's nonce k, produces exactly the published (r, s) and verifies it.
    gm = gmssl_of(key)
    assert gm.sign_with_sm3(STD_MESSAGE, STD_K).upper() == STD_R + STD_S
    assert gm.verify_with_sm3((STD_R + STD_S).lower(), STD_MESSAGE)


# ---------------------------------------------------------------- our signatures, gmssl checks


def test_qr_signatures_interoperate_with_gmssl(sm_agency: SmKeyAndCert) -> None:
    message = b'{"id":"1.2.156.3005.2.X","v":1}'
    signature = sign_compact(sm_agency.key, message)
    assert len(signature) == 64
    gm = gmssl_of(sm_public_key(sm_agency.cert))
    assert gm.verify_with_sm3(signature.hex(), message)
    assert not gm.verify_with_sm3(signature.hex(), message + b" ")
    # and the other way: gmssl signs, our verifier (by certificate) accepts.
    theirs = bytes.fromhex(gmssl_of(sm_agency.key).sign_with_sm3(message))
    assert verify_compact(sm_agency.cert, message, theirs)
    assert not verify_compact(sm_agency.cert, message[:-1], theirs)


def test_raw_message_signature_interoperates_with_gmssl(sm_agency: SmKeyAndCert) -> None:
    message = "电子证照 licence".encode() * 50
    signature = sm2.sign(sm_agency.key, message)
    public = sm_public_key(sm_agency.cert)
    assert sm2.verify(public, message, signature)
    assert not sm2.verify(public, message + b"x", signature)
    assert not sm2.verify(public, message, b"not DER")
    gm = CryptSM2(private_key="", public_key=gmssl_of(public).public_key, asn1=True)
    assert gm.verify_with_sm3(signature.hex(), message)


def test_suites_do_not_cross(sm_agency: SmKeyAndCert) -> None:
    intl_ca = create_region_ca("310000", "上海市电子证照根证书")
    message = b"token"
    sm_signature = sign_compact(sm_agency.key, message)
    intl_signature = sign_compact(intl_ca.key, message)
    assert verify_compact(intl_ca.cert, message, intl_signature)
    assert not verify_compact(intl_ca.cert, message, sm_signature)
    assert not verify_compact(sm_agency.cert, message, intl_signature)
    with pytest.raises(CertificateError, match="SM2 region CA"):
        issue_sm_agency_certificate(
            SmKeyAndCert(key=sm_agency.key, cert=intl_ca.cert), "X", "Y", "310000"
        )
    with pytest.raises(ValueError, match="signer ID"):
        sm2.sign(sm_agency.key, message, signer_id=b"ALICE123@YAHOO.COM")


def test_suite_names_and_keys() -> None:
    assert get_suite("sm") is SM and get_suite(" INTL ") is INTL
    assert (SM.signature_oid, SM.digest_oid, SM.key_curve_oid) == (
        "1.2.156.10197.1.501",
        "1.2.156.10197.1.401",
        "1.2.156.10197.1.301",
    )
    with pytest.raises(CryptoSuiteError, match="choose one of intl, sm"):
        get_suite("gost")
    assert suite_of_key(sm2.generate_private_key()) is SM
    assert suite_of_key(create_region_ca("1", "r").key.public_key()) is INTL
    with pytest.raises(CryptoSuiteError, match="belongs to no crypto suite"):
        suite_of_key(b"key")


# ---------------------------------------------------------------- certificates


def test_sm_certificates_follow_the_intl_profile(
    sm_ca: SmKeyAndCert, sm_agency: SmKeyAndCert
) -> None:
    assert sm_ca.cert.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    assert sm_agency.cert.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    attributes = subject_attributes(sm_agency.cert)
    assert attributes["code"] == "11440000MB2F12345X"
    assert attributes["region_code"] == "440000"
    assert attributes["country"] == "CN"
    assert subject_attributes(sm_ca.cert)["name"] == "广东省电子证照根证书"
    assert sm_agency.cert.issuer == sm_ca.cert.subject
    assert sm_agency.chain == (sm_ca.cert,)
    assert sm_agency.cert.not_valid_after_utc <= sm_ca.cert.not_valid_after_utc
    intl = create_region_ca("440000", "广东省电子证照根证书").cert
    assert [e.oid for e in sm_ca.cert.extensions] == [e.oid for e in intl.extensions]
    assert [e.critical for e in sm_ca.cert.extensions] == [e.critical for e in intl.extensions]
    ca_basic = sm_ca.cert.extensions.get_extension_for_oid(intl.extensions[0].oid).value
    assert ca_basic.ca and ca_basic.path_length == 0
    assert verify_sm_certificate_signature(sm_agency.cert, sm_ca.cert)
    assert verify_sm_certificate_signature(sm_ca.cert, sm_ca.cert)
    assert not verify_sm_certificate_signature(sm_ca.cert, sm_agency.cert)
    assert len(sm_agency.fingerprint) == 64


def test_sm_certificate_inputs_are_checked(sm_ca: SmKeyAndCert) -> None:
    with pytest.raises(CertificateError, match="agency_name is empty"):
        issue_sm_agency_certificate(sm_ca, "A1", " ", "440000")
    with pytest.raises(CertificateError, match="valid_days must be positive"):
        create_sm_region_ca("440000", "r", valid_days=0)


# ---------------------------------------------------------------- keys at rest


def test_sm_keystore_round_trip_and_wrong_passphrase(
    tmp_path: Path, sm_agency: SmKeyAndCert
) -> None:
    save_credentials(tmp_path, "agency", sm_agency, b"correct horse")
    stored = (tmp_path / "agency.key.pem").read_bytes()
    assert b"Cipher: SM4-GCM\n" in stored and b"Suite: sm\n" in stored
    assert sealed_suite(stored) is SM
    loaded = load_sm_credentials(tmp_path, "agency", b"correct horse")
    assert sm2.private_key_der(loaded.key) == sm2.private_key_der(sm_agency.key)
    assert loaded.cert == sm_agency.cert and loaded.chain == sm_agency.chain
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        load_sm_credentials(tmp_path, "agency", b"wrong horse")
    with pytest.raises(KeystoreError, match=re.escape("SM2 key (crypto suite sm); load it with")):
        load_credentials(tmp_path, "agency", b"correct horse")
    # The suite line is authenticated: claiming intl (and AES) for an SM4 file is refused.
    forged = stored.replace(b"Cipher: SM4-GCM", b"Cipher: AES-256-GCM").replace(
        b"Suite: sm", b"Suite: intl"
    )
    (tmp_path / "agency.key.pem").write_bytes(forged)
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        load_sm_credentials(tmp_path, "agency", b"correct horse")


def test_intl_key_files_record_their_suite_and_old_files_still_open(tmp_path: Path) -> None:
    intl = create_region_ca("310000", "r")
    save_credentials(tmp_path, "ca", intl, b"pw")
    key_path = tmp_path / "ca.key.pem"
    stored = key_path.read_bytes()
    assert b"Cipher: AES-256-GCM\n" in stored and sealed_suite(stored) is INTL
    with pytest.raises(KeystoreError, match=re.escape("not an SM2 key (crypto suite intl)")):
        load_sm_credentials(tmp_path, "ca", b"pw")
    # A file from before suites: the same envelope without the Suite line (it is in the AAD).
    old = _envelope_without_suite(intl, b"pw")
    key_path.write_bytes(old)
    assert sealed_suite(old) is INTL
    assert isinstance(load_credentials(tmp_path, "ca", b"pw"), KeyAndCert)


def _envelope_without_suite(creds: KeyAndCert, passphrase: bytes) -> bytes:
    """The format written before crypto suites existed (what a deployed key file holds)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    header = (
        f"KDF: scrypt\nKDF-N: 1024\nKDF-R: 8\nKDF-P: 1\nKDF-Salt: {salt.hex()}\n"
        f"Cipher: AES-256-GCM\nNonce: {nonce.hex()}\n"
    )
    kek = Scrypt(salt=salt, length=32, n=1024, r=8, p=1).derive(passphrase)
    der = creds.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    body = base64.encodebytes(AESGCM(kek).encrypt(nonce, der, header.encode())).decode()
    return f"{BEGIN}\n{header}\n{body}{END}\n".encode()


# ---------------------------------------------------------------- speed


def test_sm2_sign_and_verify_speed(sm_agency: SmKeyAndCert, capsys: pytest.CaptureFixture) -> None:
    """Prints the time per operation (the QR hot path); bounded loosely for a shared machine."""
    message, rounds = b"x" * 120, 200
    start = time.perf_counter()
    signatures = [sign_compact(sm_agency.key, message) for _ in range(rounds)]
    signed = time.perf_counter()
    assert all(verify_compact(sm_agency.cert, message, s) for s in signatures)
    verified = time.perf_counter()
    sign_ms = (signed - start) * 1000 / rounds
    verify_ms = (verified - signed) * 1000 / rounds
    with capsys.disabled():
        print(
            f"\nSM2 compact sign {sign_ms:.3f} ms/op, verify (by certificate) {verify_ms:.3f} ms/op"
        )
    assert sign_ms < 20 and verify_ms < 20


def test_der_and_compact_forms_agree(sm_agency: SmKeyAndCert) -> None:
    raw = sign_compact(sm_agency.key, b"m")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert sm2.verify(sm_public_key(sm_agency.cert), b"m", der)
