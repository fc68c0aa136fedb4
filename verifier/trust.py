"""Who may sign for an agency, and when a signature counts.

A signature counts only when its certificate belongs to the agency the document names (and
whose namespace the anchored leaf was computed in), in the region the document names, and the
certificate was neither retired nor reported compromised at the time the document was
anchored. That time rule is ``ledger_client.directory.signature_counts``, the rule the
directory contract itself applies; this module only asks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509

from ledger_client.directory import CertificateInfo
from signing.certificates import certificate_fingerprint, subject_attributes
from verifier.verdicts import Check


@dataclass(frozen=True)
class RegisteredCertificate(CertificateInfo):
    """The directory's record of a certificate with the X.509 certificate its events carry:
    one type for both, so the time rule and the fields are defined once, in ``ledger_client``."""

    cert: x509.Certificate | None = None
    suite: str = ""  # the crypto suite its DER names ("" when it names none)
    suite_problem: str | None = None  # why its suite is not its region's: it counts for nothing


class CertificateDirectory(Protocol):
    """The on-chain directory of regions' signing certificates (read from chain events)."""

    def by_fingerprint(self, fingerprint: str) -> RegisteredCertificate | None: ...

    def by_agency(self, agency_code: str) -> list[RegisteredCertificate]: ...


@dataclass(frozen=True)
class TrustStore:
    """Who is a real issuer: local region roots, this region's agencies, and the directory.

    ``roots``/``agencies`` serve a region's own licences; ``directory`` (the consortium's
    on-chain membership) lets any region check any other region's licences from the chain
    alone, and is the authority on retirement and key compromise.
    """

    roots: tuple[x509.Certificate, ...]
    agencies: Mapping[str, x509.Certificate] = field(default_factory=dict)
    region_names: Mapping[int, str] = field(default_factory=dict)
    directory: CertificateDirectory | None = None

    def registered(self, cert: x509.Certificate) -> RegisteredCertificate | None:
        if self.directory is None:
            return None
        return self.directory.by_fingerprint(certificate_fingerprint(cert))

    def agency_certificates(self, agency_code: str, region: int) -> list[x509.Certificate]:
        """Every certificate that ever signed for this agency in this region, retired and
        compromised ones included: whether a signature counts depends on when it was
        anchored, which ``signer_check`` decides."""
        certs: list[x509.Certificate] = []
        own = self.agencies.get(agency_code)
        if own is not None:
            certs.append(own)
        if self.directory is not None:
            certs += [
                r.cert
                for r in self.directory.by_agency(agency_code)
                if r.cert is not None and r.region == region and r.cert not in certs
            ]
        return certs

    def region_name(self, region: int) -> str:
        return self.region_names.get(region, str(region))


_NEVER = 2**63 - 1


def _when(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts, tz=UTC):%Y-%m-%d %H:%M:%S} UTC"


def signer_check(
    trust: TrustStore,
    signer: x509.Certificate | None,
    agency_code: str | None,
    region: int | None,
    signed_at: int | None,
    locally_trusted: bool,
) -> Check:
    """Whether ``signer`` may sign for ``agency_code`` of ``region`` at ``signed_at`` (the
    anchoring time: the only time the chain proves; None while not anchored)."""
    if signer is None:
        return Check("issuer", False, "no signing certificate")
    attrs = subject_attributes(signer)
    who = f"{attrs.get('name', '?')} ({attrs.get('code', '?')})"
    registered = trust.registered(signer)
    if registered is not None and registered.suite_problem is not None:
        return Check("issuer", False, f"signed by {who}, but {registered.suite_problem}")
    # Nothing dates a signature that was never anchored: it counts only while the key was
    # never lost or retired at all.
    at = signed_at if signed_at is not None else _NEVER
    if registered is not None:
        if registered.agency_code != agency_code or registered.region != region:
            return Check(
                "issuer",
                False,
                f"signed by {who}, registered for agency {registered.agency_code} of region "
                f"{registered.region}, but the document names {agency_code} of region {region}",
            )
        if not registered.valid_at(at):
            if registered.compromised_at and at >= registered.compromised_at:  # lost
                why = f"its key was reported compromised from {_when(registered.compromised_at)}"
            else:
                why = f"its certificate was retired at {_when(registered.revoked_at)}"
            return Check("issuer", False, f"signed by {who}, but {why}, before this was anchored")
        name = trust.region_name(registered.region)
        return Check(
            "issuer",
            True,
            f"signed by {who} of region {name}, registered in the on-chain directory",
        )
    if not locally_trusted:
        return Check(
            "issuer", False, f"signed by {who}, which no trusted region authority certifies"
        )
    if attrs.get("code") != agency_code:
        return Check(
            "issuer",
            False,
            f"signed by {who}, but the document names issuer {agency_code}: "
            "the signer is not the issuer",
        )
    return Check("issuer", True, f"signed by {who}, certified by a trusted region authority")
