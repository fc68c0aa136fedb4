"""The hostile-input corpus, generated from real issued licences at test time.

``pdf_corpus`` and ``qr_corpus`` turn genuine, anchored licences into every hostile shape of
issue 11 and name the outcome each must get: a verdict (never VALID) or ``ERROR``, a typed
refusal (``VerificationError`` from the verifier, 4xx with a readable detail from the API).
Nothing is stored in the repository: a package-scoped fixture (``conftest.py``) issues the
licences on the session's anvil node and builds the corpus in a few seconds.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader, PdfWriter

from signing.certificates import KeyAndCert, create_region_ca, issue_agency_certificate
from signing.compact import sign_compact
from signing.pdf_metadata import embed_metadata
from tests.hostile import pdf_edits as e
from verifier.engine import METADATA_FILE
from verifier.qr import PREFIX
from verifier.verdicts import Verdict

ERROR = "ERROR"  # a typed refusal: VerificationError / HTTP 4xx with a detail
TOO_LARGE = "TOO_LARGE"  # refused for its size (VerificationError / HTTP 413 or 422)
Outcome = str
MIB = 1024 * 1024


@dataclass(frozen=True)
class Shape:
    name: str
    data: bytes | str
    expected: frozenset[Outcome]

    def __repr__(self) -> str:  # keeps pytest ids and failure messages short
        return f"Shape({self.name})"


@dataclass(frozen=True)
class Licence:
    """A genuine anchored licence: its signed bytes and its QR token."""

    pdf: bytes
    token: str


@dataclass(frozen=True)
class Sources:
    """What the corpus is made from: two agencies' licences, a copy, the first agency's key."""

    own: Licence  # agency A1
    other: Licence  # agency A2, same region
    copy_token: str  # a use-specific copy of ``own`` (expires before the licence does)
    sign_as_agency: Callable[[bytes], bytes]  # the genuine A1 key signing prepared bytes
    sign_as_other: Callable[[bytes], bytes]  # the genuine A2 key
    other_key: ec.EllipticCurvePrivateKey  # A2's genuine key, which also signs its QR codes
    other_meta: dict[str, object]
    own_meta: dict[str, object]


def _one(*outcomes: Outcome) -> frozenset[Outcome]:
    return frozenset(outcomes)


TAMPERED = _one(Verdict.TAMPERED)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------------------ PDF shapes
def _pypdf_resave(pdf: bytes, password: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-256")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _pyhanko_signer(credentials: KeyAndCert) -> signers.SimpleSigner:
    """An attacker's off-the-shelf signer (pyHanko's), holding an unregistered key."""
    registry = SimpleCertificateStore()
    registry.register_multiple(
        translate_pyca_cryptography_cert_to_asn1(c) for c in credentials.chain
    )
    return signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(credentials.cert),
        signing_key=translate_pyca_cryptography_key_to_asn1(credentials.key),
        cert_registry=registry,
    )


def _unknown_signer(pdf: bytes) -> bytes:
    """A second (approval) signature by a key and CA nobody registered."""
    ca = create_region_ca("999999", "Nowhere")
    creds = issue_agency_certificate(ca, "119999990000000001", "Forgers Bureau", "999999")
    meta = signers.PdfSignatureMetadata(
        field_name="Second", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
    )
    out = _Reckless(meta, signer=_pyhanko_signer(creds)).sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf))
    )
    return bytes(out.getvalue())


class _Reckless(signers.PdfSigner):
    """pyHanko refuses to sign a document certified with 'no changes'; an attacker's tool
    does not."""

    def _enforce_certification_constraints(self, reader: object) -> None:
        return None


def _metadata_bomb() -> bytes:
    """An unsigned PDF whose metadata attachment inflates from ~64 KiB to 64 MiB."""
    base = embed_metadata(_blank_pdf(), {"licence_id": "x"}, METADATA_FILE)
    bomb = zlib.compress(b" " * (64 * MIB), 9)
    w = e._writer(base)
    names = w.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[1].get_object()
    stream = generic.StreamObject(
        {generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")},
        encoded_data=bomb,
    )
    ref = w.add_object(stream)
    spec[generic.NameObject("/EF")] = generic.DictionaryObject({generic.NameObject("/F"): ref})
    w.update_container(spec)
    return e._out(w)


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _hostile_metadata(meta: dict[str, object]) -> bytes:
    """An unsigned PDF carrying licence-like metadata with values of the wrong type."""
    return embed_metadata(_blank_pdf(), meta, METADATA_FILE)


def _relabelled(src: Sources, with_qr: bool = False) -> bytes:
    """Agency A2's genuine licence, its metadata rewritten to name agency A1, signed again
    with A2's genuine key (an insider of A2 passing its document off as A1's); ``with_qr``:
    its QR claims too, re-signed with A2's QR key, so the document agrees with itself."""
    meta = dict(src.other_meta)
    for key in ("issuer_code", "issuer_name"):
        meta[key] = src.own_meta[key]
    if with_qr:
        _, raw, _ = _parts(str(meta["qr_token"]))
        message = json.dumps(
            {**json.loads(raw), "a": src.own_meta["issuer_code"]},
            separators=(",", ":"), sort_keys=True, ensure_ascii=False,
        ).encode()  # fmt: skip
        meta["qr_token"] = f"{PREFIX}.{_b64(message)}.{_b64(sign_compact(src.other_key, message))}"
    original = e.unsigned_original(src.other.pdf)
    return src.sign_as_other(embed_metadata(original, meta, METADATA_FILE))


def pdf_corpus(src: Sources) -> list[Shape]:
    pdf = src.own.pdf
    _, b, c, d = e.byte_range(pdf)
    size = len(pdf)
    shadow, overlay, replacement = e.prepare_shadow(e.unsigned_original(pdf))
    shadow_signed = src.sign_as_agency(shadow)
    meta_2099 = json.dumps({**src.own_meta, "valid_until": "2099-12-31"}).encode()
    widget: dict[str, generic.PdfObject] = {
        "/Type": generic.NameObject("/Annot"),
        "/Subtype": generic.NameObject("/Widget"),
        "/FT": generic.NameObject("/Tx"),
        "/T": generic.TextStringObject("Remark"),
        "/V": generic.TextStringObject("valid until 2099"),
        "/Rect": generic.ArrayObject([generic.NumberObject(v) for v in (50, 50, 300, 80)]),
    }
    note: dict[str, generic.PdfObject] = {
        "/Type": generic.NameObject("/Annot"),
        "/Subtype": generic.NameObject("/FreeText"),
        "/Contents": generic.TextStringObject("有效期至 2099-12-31"),
        "/DA": generic.TextStringObject("0 g /Helv 14 Tf"),
        "/Rect": generic.ArrayObject([generic.NumberObject(v) for v in (50, 700, 400, 740)]),
    }
    shapes = [
        # not a PDF at all
        Shape("empty", b"", _one(ERROR)),
        Shape("whitespace", b" \n\t ", _one(ERROR)),
        Shape("png", b"\x89PNG\r\n\x1a\n" + os.urandom(512), _one(ERROR)),
        Shape("html", b"<html><body>%PDF-1.7</body></html>", _one(ERROR)),
        Shape("random", os.urandom(4096), _one(ERROR)),
        Shape("header_only", b"%PDF-1.7\n", TAMPERED),
        Shape("header_then_garbage", b"%PDF-1.7\n" + os.urandom(8192), TAMPERED),
        # truncated
        Shape("truncated_half", pdf[: size // 2], TAMPERED),
        Shape("truncated_tail", pdf[:-64], TAMPERED),
        Shape("truncated_in_signature", pdf[: b + 100], TAMPERED),
        Shape("truncated_1k", pdf[:1024], TAMPERED),
        # huge: over the 20 MiB upload cap (a genuine file with junk appended)
        Shape("huge", pdf + b"%" + b"x" * (21 * MIB) + b"\n", _one(TOO_LARGE)),
        # encrypted
        Shape("encrypted_resaved", _pypdf_resave(pdf, "secret"), TAMPERED),
        Shape("encrypted_empty_password", _pypdf_resave(pdf, ""), TAMPERED),
        # byte ranges that do not cover the whole file
        Shape("one_byte_range", e.with_byte_range(pdf, f"0 {size}"), TAMPERED),
        Shape("gap_too_big", e.with_byte_range(pdf, f"0 {b - 40} {c + 40} {d - 40}"), TAMPERED),
        Shape("uncovered_tail", e.with_byte_range(pdf, f"0 {b} {c} {d - 200}"), TAMPERED),
        Shape("appended_bytes", pdf + b"\n% appended after signing\n", TAMPERED),
        Shape("overlapping", e.with_byte_range(pdf, f"0 {b + 60} {c - 60} {d}"), TAMPERED),
        Shape("reversed", e.with_byte_range(pdf, f"{c} {d} 0 {b}"), TAMPERED),
        Shape("negative", e.with_byte_range(pdf, f"0 {b} {c} -{str(d)[1:]}"), TAMPERED),
        Shape("past_eof", e.with_byte_range(pdf, f"0 {b} {c} {'9' * len(str(d))}"), TAMPERED),
        Shape("not_integers", e.with_byte_range(pdf, "/a /b /c /d"), TAMPERED),
        Shape("six_numbers", e.with_byte_range(pdf, "0 1 2 3 4 5"), TAMPERED),
        # incremental updates after signing
        Shape("drawn_over_face", e.draw_over_face(pdf, b"1 0 0 rg 60 300 480 60 re f"), TAMPERED),
        Shape("annotation_added", e.add_annotation(pdf, note), TAMPERED),
        Shape("form_field_added", e.add_annotation(pdf, widget), TAMPERED),
        Shape("metadata_replaced", e.replace_attachment(pdf, METADATA_FILE, meta_2099), TAMPERED),
        Shape("info_changed", e.set_info(pdf, "valid until 2099"), TAMPERED),
        # shadow attacks: prepared before the genuine key signed, switched on afterwards
        Shape("shadow_prepared_only", shadow_signed, TAMPERED),
        Shape("shadow_hide", e.switch_shadow(shadow_signed, True, None), TAMPERED),
        Shape("shadow_replace", e.switch_shadow(shadow_signed, False, replacement), TAMPERED),
        Shape(
            "shadow_hide_and_replace", e.switch_shadow(shadow_signed, True, replacement), TAMPERED
        ),
        # signatures
        Shape("second_signature_unknown_key", _unknown_signer(pdf), TAMPERED),
        Shape("other_agency_relabelled", _relabelled(src), TAMPERED),
        Shape(
            "other_agency_relabelled_with_qr", _relabelled(src, True), _one(Verdict.UNKNOWN_ISSUER)
        ),
        Shape(
            "other_agency_metadata_swapped",
            e.replace_attachment(src.other.pdf, METADATA_FILE, json.dumps(src.own_meta).encode()),
            TAMPERED,
        ),
        # rewritten by another library
        Shape("resaved_pypdf", _pypdf_resave(pdf), TAMPERED),
        # not licences: hostile metadata in an unsigned file
        Shape("metadata_bomb", _metadata_bomb(), TAMPERED),
        Shape(
            "metadata_wrong_types",
            _hostile_metadata({**src.own_meta, "version": "one", "region_code": "x", "kind": "y"}),
            TAMPERED,
        ),
        Shape("metadata_not_licence", _hostile_metadata({"hello": "world"}), TAMPERED),
        # parser traps: deep nesting, a cross-reference loop, a name tree that contains itself
        Shape("parser_deep_arrays", e.tiny_pdf(b"[" * 100_000 + b"]" * 100_000), TAMPERED),
        Shape("parser_deep_dicts", e.tiny_pdf(b"<</A " * 50_000 + b">>" * 50_000), TAMPERED),
        Shape("parser_flat_tokens", e.tiny_pdf(b"[" + b"[]" * 1_000_000 + b"]"), TAMPERED),
        Shape("parser_xref_loop", e.tiny_pdf(b"<</Type/Catalog>>", prev_loop=True), TAMPERED),
        Shape(
            "parser_self_referencing_names",
            e.tiny_pdf(b"<</Type/Catalog/Names<</EmbeddedFiles 1 0 R/Kids[1 0 R]>>>>"),
            TAMPERED,
        ),
    ]
    assert e.signature_count(_unknown_signer(pdf)) == 2
    assert overlay != replacement
    return shapes


# ------------------------------------------------------------------------------- QR shapes
def _parts(token: str) -> tuple[str, bytes, bytes]:
    prefix, claims, sig = token.split(".")
    return prefix, _unb64(claims), _unb64(sig)


def _with_claims(token: str, change: dict[str, object], signature: bytes | None = None) -> str:
    prefix, raw, sig = _parts(token)
    body = {**json.loads(raw), **change}
    message = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return f"{prefix}.{_b64(message.encode())}.{_b64(signature if signature else sig)}"


def _high_s(token: str) -> str:
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    prefix, raw, sig = _parts(token)
    s = n - int.from_bytes(sig[32:], "big")
    return f"{prefix}.{_b64(raw)}.{_b64(sig[:32] + s.to_bytes(32, 'big'))}"


def _forged(token: str) -> str:
    _, raw, _ = _parts(token)
    return (
        f"{PREFIX}.{_b64(raw)}.{_b64(sign_compact(ec.generate_private_key(ec.SECP256R1()), raw))}"
    )


def qr_corpus(src: Sources) -> list[tuple[Shape, datetime | None]]:
    """QR shapes, each with the time to verify at (``None``: now)."""
    tok, other = src.own.token, src.other.token
    _, raw, sig = _parts(tok)
    claims_b64, sig_b64 = tok.split(".")[1:]
    body = json.loads(raw)
    copy_end = str(json.loads(_parts(src.copy_token)[1])["x"])  # YYYYMMDD
    expired_at = datetime(int(copy_end[:4]) + 1, 1, 1, 12, tzinfo=UTC)  # after the copy's end
    flipped = bytearray(sig)
    flipped[10] ^= 0x01
    shapes: list[tuple[Shape, datetime | None]] = [
        (Shape("qr_empty", "", _one(ERROR)), None),
        (Shape("qr_garbage_text", "hello, world", _one(ERROR)), None),
        (Shape("qr_garbage_bytes", os.urandom(300).decode("latin-1"), _one(ERROR)), None),
        (Shape("qr_prefix_only", "LL1..", _one(ERROR)), None),
        (Shape("qr_not_json", f"LL1.{_b64(b'not json')}.{sig_b64}", _one(ERROR)), None),
        (Shape("qr_json_list", f"LL1.{_b64(b'[1,2,3]')}.{sig_b64}", _one(ERROR)), None),
        (Shape("qr_region_infinity", _with_claims(tok, {"r": 1e400}), _one(ERROR)), None),
        (Shape("qr_bad_date", _with_claims(tok, {"x": "20241399"}), _one(ERROR)), None),
        (Shape("qr_bad_identifier", _with_claims(tok, {"i": "no-version"}), _one(ERROR)), None),
        (Shape("qr_truncated_half", tok[: len(tok) // 2], _one(ERROR)), None),
        (Shape("qr_truncated_last_char", tok[:-1], _one(ERROR, Verdict.TAMPERED)), None),
        (Shape("qr_truncated_signature", f"LL1.{claims_b64}.{_b64(sig[:40])}", TAMPERED), None),
        (Shape("qr_oversized", tok + "A" * 4096, _one(ERROR)), None),
        (Shape("qr_oversized_url", "https://x.example/v/" + "A" * 100_000, _one(ERROR)), None),
        (
            Shape("qr_flipped_signature_bit", f"LL1.{claims_b64}.{_b64(bytes(flipped))}", TAMPERED),
            None,
        ),
        (Shape("qr_forged_signature", _forged(tok), TAMPERED), None),
        (Shape("qr_claims_extended_2099", _with_claims(tok, {"x": "20991231"}), TAMPERED), None),
        (
            Shape(
                "qr_replayed_other_licence",
                _with_claims(tok, {"i": json.loads(_parts(other)[1])["i"]}),
                TAMPERED,
            ),
            None,
        ),
        (
            Shape(
                "qr_signature_of_other_licence", f"LL1.{claims_b64}.{other.split('.')[2]}", TAMPERED
            ),
            None,
        ),
        (
            Shape(
                "qr_other_agency_claims_own_code", _with_claims(other, {"a": body["a"]}), TAMPERED
            ),
            None,
        ),
        (Shape("qr_expired_copy", src.copy_token, _one(Verdict.EXPIRED)), expired_at),
        (Shape("qr_high_s_twin", _high_s(tok), TAMPERED), None),
        (Shape("qr_padded_base64", f"LL1.{claims_b64}==.{sig_b64}", _one(ERROR)), None),
        (
            Shape(
                "qr_standard_base64",
                f"LL1.{base64.b64encode(raw).decode()}.{base64.b64encode(sig).decode()}",
                _one(ERROR),
            ),
            None,
        ),
        (
            Shape(
                "qr_reordered_json",
                f"LL1.{_b64(json.dumps(body, sort_keys=False, separators=(', ', ': ')).encode())}."
                f"{sig_b64}",
                _one(ERROR),
            ),
            None,
        ),
        (
            Shape(
                "qr_escaped_unicode",
                f"LL1.{_b64(json.dumps(body, sort_keys=True, separators=(',', ':')).encode())}."
                f"{sig_b64}",
                _one(ERROR),
            ),
            None,
        ),
        (Shape("qr_lowercase_prefix", "ll1." + tok[4:], _one(ERROR)), None),
        (Shape("qr_extra_segment", tok + ".AAAA", _one(ERROR)), None),
    ]
    return shapes
