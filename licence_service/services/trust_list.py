"""The trust list an offline counter caches: every agency key that may sign a QR code.

A counter that loses the network can still check a QR code's agency signature in the browser
if it holds the agencies' public keys. This list gives, for each document-signing certificate,
its crypto ``suite`` (``intl``: ECDSA P-256, checked with WebCrypto; ``sm``: SM2 with SM3 and
the default signer ID, checked with the bundled sm-crypto), the issuer code, region, the public
key (JWK and SPKI; an SM2 key's JWK says ``"crv": "SM2"``), the certificate's validity, and the
directory's registration, retirement and compromise times, as of a chain block. The page picks
the algorithm by the entry's suite, never by trying both. It holds public keys only; the holder
data never leaves the server.

The on-chain directory is the authority (a key reported compromised there is marked so);
this region's own agencies are listed too, as the server's verifier trusts them.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from licence_service.domain.licence_types import load_licence_types
from licence_service.region.runtime import Runtime
from licence_service.store.models import Agency
from signing import sm2
from signing.certificates import certificate_fingerprint, subject_attributes
from signing.errors import CertificateError
from signing.sm2_certificates import is_sm_certificate, sm_public_key
from signing.suites import INTL, SM

__all__ = ["trust_list"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_key(cert: x509.Certificate) -> tuple[str, str, int, int, bytes] | None:
    """(suite, JWK curve, x, y, SPKI DER) of the certificate's QR-signing key; None for a key
    the counter cannot check a QR signature with (any other curve or algorithm)."""
    if is_sm_certificate(cert):
        try:
            key = sm_public_key(cert)
        except CertificateError:
            return None
        numbers = key.public_numbers()
        return SM.name, "SM2", numbers.x, numbers.y, sm2.public_key_der(key)
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):  # an SM2 key under another signature algorithm
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    numbers = key.public_numbers()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return INTL.name, "P-256", numbers.x, numbers.y, spki


def _key_entry(cert: x509.Certificate) -> dict[str, Any] | None:
    """The certificate's key with its suite, as JWK and SPKI, with its name and validity."""
    found = _public_key(cert)
    if found is None:
        return None
    suite, curve, x, y, spki = found
    return {
        "fingerprint": certificate_fingerprint(cert),
        "suite": suite,
        "agency_name": subject_attributes(cert).get("name", ""),
        "jwk": {
            "kty": "EC",
            "crv": curve,
            "x": _b64url(x.to_bytes(32, "big")),
            "y": _b64url(y.to_bytes(32, "big")),
        },
        "spki": base64.b64encode(spki).decode("ascii"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def _iso(ts: int) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts else None


def trust_list(rt: Runtime) -> dict[str, Any]:
    """The list as JSON: ``keys`` (one per certificate), ``regions`` (code → name),
    ``types`` (licence type code → name, for showing a QR's type offline) and ``as_of``."""
    keys: dict[str, dict[str, Any]] = {}
    regions: dict[str, str] = {}
    with rt.sessions() as s:
        for agency in s.scalars(select(Agency)):
            regions[str(agency.region_code)] = agency.region_name
            entry = _key_entry(x509.load_pem_x509_certificate(agency.cert_pem.encode()))
            if entry is not None:
                keys[entry["fingerprint"]] = entry | {
                    "issuer_code": agency.code,
                    "region": agency.region_code,
                    "source": "region",
                    "registered_at": None,
                    "revoked_at": None,
                    "compromised_at": None,
                }
    block = int(rt.w3.eth.block_number)
    if rt.deployment.directory:
        chain = rt.certificates
        chain.refresh()
        regions |= {str(code): name for code, name in chain.region_names.items()}
        for registered in chain.all():
            if registered.cert is None or registered.suite_problem is not None:
                continue  # a certificate of another suite than its region's counts for nothing
            entry = _key_entry(registered.cert)
            if entry is None:
                continue
            keys[entry["fingerprint"]] = entry | {
                "issuer_code": registered.agency_code,
                "region": registered.region,
                "source": "directory",
                "registered_at": _iso(registered.registered_at),
                "revoked_at": _iso(registered.revoked_at),
                "compromised_at": _iso(registered.compromised_at),
            }
    return {
        "format": "licledger-trust-list/2",
        "as_of": {"block": block, "time": datetime.now(UTC).isoformat(timespec="seconds")},
        "keys": sorted(
            keys.values(), key=lambda k: (k["region"], k["issuer_code"], k["fingerprint"])
        ),
        "regions": regions,
        "types": {code: t.name for code, t in sorted(load_licence_types().items())},
    }
