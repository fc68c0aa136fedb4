"""Byte-level checks pyHanko does not make: the unsigned gap of the byte range must be the
canonical hex of a strictly DER-encoded CMS object followed by zero padding, the CMS may carry
no unprotected fields, and its certificate bag only the signer's chain. Each returns a
problem (text) or None.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from signing.errors import CertificateError
from signing.sm2_certificates import is_sm_certificate, verify_sm_certificate_signature


def gap_problem(
    pdf_bytes: bytes, emb: EmbeddedPdfSignature, trust_roots: Sequence[x509.Certificate]
) -> str | None:
    """Check the bytes outside the signed range: ``<`` hex of a strict CMS, zero padding ``>``.

    The signature cannot cover its own container, so every part of the container that the
    signature does not protect indirectly is checked here; a one-byte edit anywhere in the
    file must not leave a signature that reports as fine.
    """
    try:
        start1, len1, start2, len2 = (int(v) for v in emb.byte_range)
    except (TypeError, ValueError):
        return "the signature's /ByteRange is not four integers, so its coverage is unknown"
    if start1 != 0 or start2 < len1 or start2 + len2 > len(pdf_bytes):
        return "the signature's /ByteRange does not describe this file"
    gap = pdf_bytes[len1:start2]
    contents = bytes(emb.pkcs7_content)
    canonical = b"<" + contents.hex().encode("ascii") + b">"
    if gap not in (canonical, canonical.upper()):
        return "the signature container bytes in the file were altered (non-canonical encoding)"
    try:
        der = _first_tlv(contents)
        if not _is_strict_der(der):
            return "the signature container is not DER-encoded (it was altered)"
        content_info = cms.ContentInfo.load(der, strict=True)
    except Exception:  # asn1crypto raises ValueError, IndexError, TypeError, ... on bad input
        return "the signature container is not a well-formed CMS structure"
    if any(contents[len(der) :]):
        return "the signature container has non-zero bytes after the CMS structure"
    try:
        return _unprotected_fields_problem(content_info["content"], trust_roots)
    except Exception as exc:  # malformed ASN.1 surfaces as many exception types
        return f"the signature container cannot be checked ({type(exc).__name__}: {exc})"


def _read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int] | None:
    """Parse one DER tag+length at ``pos``; return (tag, content start, content end)."""
    if pos + 2 > end:
        return None
    tag = data[pos]
    if tag == 0x00 or tag & 0x1F == 0x1F:  # no end-of-contents in DER; no high tag numbers
        return None
    first = data[pos + 1]
    if first < 0x80:
        start, length = pos + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + 2 + count > end:
            return None
        raw_length = data[pos + 2 : pos + 2 + count]
        length = int.from_bytes(raw_length, "big")
        if raw_length[0] == 0 or length < 0x80:  # DER: minimal length encoding
            return None
        start = pos + 2 + count
    if start + length > end:
        return None
    return tag, start, start + length


def _is_strict_der(data: bytes, pos: int = 0, end: int | None = None, depth: int = 0) -> bool:
    """Walk the TLV tree and insist on DER: minimal lengths, exact nesting, canonical values.

    Only the container's own structure is walked (primitive values such as OCTET STRINGs are
    not descended into); every BIT STRING at that level is a key or a signature, hence
    octet-aligned.

    Much cheaper than re-encoding with asn1crypto (``dump(force=True)`` costs ~150 ms).
    """
    end = len(data) if end is None else end
    if depth > 64:
        return False
    while pos < end:
        header = _read_header(data, pos, end)
        if header is None:
            return False
        tag, start, stop = header
        if tag & 0x20:  # constructed: its content must be exactly a sequence of TLVs
            if not _is_strict_der(data, start, stop, depth + 1):
                return False
        elif tag == 0x01 and (stop - start != 1 or data[start] not in (0x00, 0xFF)):
            return False  # BOOLEAN
        elif tag == 0x02 and (
            stop == start
            or (
                stop - start > 1
                and (
                    (data[start] == 0x00 and data[start + 1] < 0x80)
                    or (data[start] == 0xFF and data[start + 1] >= 0x80)
                )
            )
        ):
            return False  # INTEGER not minimally encoded
        elif tag == 0x03 and (stop == start or data[start] != 0):
            # Keys and signatures are octet-aligned; a non-zero "unused bits" count would let a
            # flipped byte slip past verifiers that ignore it (cryptography does).
            return False
        pos = stop
    return pos == end


def _first_tlv(contents: bytes) -> bytes:
    """Return the DER TLV at the start of ``contents`` (the CMS ContentInfo)."""
    if len(contents) < 2 or contents[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    first = contents[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(contents) < 2 + count:
            raise ValueError("bad DER length")
        header = 2 + count
        length = int.from_bytes(contents[2:header], "big")
    if header + length > len(contents):
        raise ValueError("DER length runs past the container")
    return contents[: header + length]


def _unprotected_fields_problem(
    signed_data: cms.SignedData, trust_roots: Sequence[x509.Certificate]
) -> str | None:
    """Check the SignedData fields that neither the signature nor the digest protect."""
    signer_infos = list(signed_data["signer_infos"])
    if len(signer_infos) != 1:
        return "the signature container must hold exactly one signer"
    signer_info = signer_infos[0]
    sid = signer_info["sid"]
    certificates = [
        c.chosen for c in signed_data["certificates"] if isinstance(c.chosen, asn1_x509.Certificate)
    ]
    if len(certificates) != len(signed_data["certificates"]):
        return "the signature container holds certificates of an unexpected kind"
    # RFC 5652 5.1/5.3: versions follow from the structure; anything else was edited.
    uses_ski = sid.name == "subject_key_identifier"
    expected_si_version = "v3" if uses_ski else "v1"
    if signer_info["version"].native != expected_si_version:
        return "the signer's version number in the signature container was altered"
    data_content = signed_data["encap_content_info"]["content_type"].native == "data"
    expected_sd_version = "v1" if data_content and not uses_ski else "v3"
    if signed_data["version"].native != expected_sd_version:
        return "the version number of the signature container was altered"
    digest_algorithms = [a.dump() for a in signed_data["digest_algorithms"]]
    if digest_algorithms != [signer_info["digest_algorithm"].dump()]:
        return "the digest algorithm list of the signature container was altered"
    if not uses_ski:
        issuer_serial = sid.chosen
        if not any(
            c.issuer.dump() == issuer_serial["issuer"].dump()
            and c.serial_number == issuer_serial["serial_number"].native
            for c in certificates
        ):
            return "the signer identifier in the signature container matches no certificate"
    return _certificate_bag_problem(certificates, trust_roots)


def _certificate_bag_problem(
    certificates: list[asn1_x509.Certificate], trust_roots: Sequence[x509.Certificate]
) -> str | None:
    """Every embedded certificate must carry a valid signature of an issuer we can see.

    Chain certificates are not covered by the document signature, so an edited copy of the
    CA certificate would otherwise pass unnoticed whenever the trusted root is supplied.
    """
    bag = [from_asn1(c) for c in certificates]
    issuers = [*bag, *trust_roots]
    root_ders = {r.public_bytes(serialization.Encoding.DER) for r in trust_roots}
    for cert in bag:
        if cert.public_bytes(serialization.Encoding.DER) in root_ders:
            continue
        issuer_name = cert.issuer.public_bytes()
        if not any(
            i.subject.public_bytes() == issuer_name and _issued_by(cert, i) for i in issuers
        ):
            return (
                f"the embedded certificate {cert.subject.rfc4514_string()} does not verify "
                "against any issuer in the signature or the trust roots (the signature "
                "container was altered or is incomplete)"
            )
    return None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if is_sm_certificate(cert):  # cryptography cannot check an SM2 signature
        try:
            return verify_sm_certificate_signature(cert, issuer)
        except CertificateError:  # the issuer holds no SM2 key
            return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())
