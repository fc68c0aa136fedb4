"""The consortium's signing certificates and region names, rebuilt from the directory's events.

Another region's verifier holds no copy of this region's certificates: it reads them, with
their region, agency, registration, revocation and compromise times, from the chain.

Crypto suites: a certificate's suite is what its DER names (signature algorithm and key, see
``signing.sm2_certificates.suite_of_certificate``), emitted on-chain with it; a region's suite
is the suite of the first certificate registered for it (the one it joined with). A later
certificate of another suite, or of none, is refused at registration by this region's service
(``check_registration``) and, should a proposal ever carry one past it, kept here with the
reason and counted for nothing by every verifier (``verifier.trust.signer_check``).
"""

from __future__ import annotations

import threading
from dataclasses import replace

from cryptography import x509

from ledger_client.directory import CertificateAdded, DirectoryClient
from licence_service.domain.errors import InvalidInputError
from signing.certificates import certificate_fingerprint
from signing.sm2_certificates import suite_of_certificate
from signing.suites import CryptoSuiteError
from verifier.trust import RegisteredCertificate


def _suite_name(cert: x509.Certificate) -> tuple[str, str | None]:
    """(suite, None), or ("", why the certificate belongs to no suite)."""
    try:
        return suite_of_certificate(cert).name, None
    except CryptoSuiteError as exc:
        return "", str(exc)


class ChainCertificates:
    """A ``CertificateDirectory`` kept current from the directory contract's events."""

    def __init__(self, directory: DirectoryClient, start_block: int) -> None:
        self.directory = directory
        self.next_block = start_block
        self._by_fp: dict[str, RegisteredCertificate] = {}
        self.region_names: dict[int, str] = {}
        self.region_suites: dict[int, str] = {}
        self._lock = threading.Lock()

    def _registered(self, c: CertificateAdded) -> RegisteredCertificate:
        cert = x509.load_der_x509_certificate(c.der)
        suite, problem = _suite_name(cert)
        region_suite = self.region_suites.setdefault(c.region, suite) if suite else ""
        if suite and suite != region_suite:
            problem = (
                f"its certificate is of crypto suite {suite}, while region {c.region} is an "
                f"{region_suite} region: a certificate of another suite counts for nothing"
            )
        elif problem is not None:
            problem = f"its certificate belongs to no crypto suite ({problem})"
        return RegisteredCertificate(
            fingerprint=c.fingerprint,
            region=c.region,
            agency_code=c.agency_code,
            registered_at=c.timestamp,
            compromised_at=0,
            revoked_at=0,
            cert=cert,
            suite=suite,
            suite_problem=problem,
        )

    def refresh(self) -> None:
        with self._lock:
            head = int(self.directory.w3.eth.block_number)
            if head < self.next_block:
                return
            events = self.directory.events_in_range(self.next_block, head)
            for change in events.regions:
                if change.added:
                    self.region_names[change.region] = change.name
            for c in events.certificates:
                self._by_fp[c.fingerprint.hex()] = self._registered(c)
            for r in events.revocations:
                known = self._by_fp.get(r.fingerprint.hex())
                if known is not None:
                    self._by_fp[known.fingerprint.hex()] = replace(known, revoked_at=r.timestamp)
            for k in events.compromises:
                known = self._by_fp.get(k.fingerprint.hex())
                if known is not None:
                    self._by_fp[known.fingerprint.hex()] = replace(known, compromised_at=k.since)
            self.next_block = head + 1

    def by_fingerprint(self, fingerprint: str) -> RegisteredCertificate | None:
        return self._by_fp.get(fingerprint)

    def by_agency(self, agency_code: str) -> list[RegisteredCertificate]:
        return [c for c in self._by_fp.values() if c.agency_code == agency_code]

    def all(self) -> list[RegisteredCertificate]:
        """Every certificate registered in the directory (the offline counter's trust list)."""
        return list(self._by_fp.values())

    def check_registration(self, region: int, der: bytes) -> str:
        """The suite of a certificate proposed for ``region``, or a 422 naming the certificate
        when it belongs to no suite or to another suite than the region's (a region never
        mixes suites: a verifier of its licences knows what it must find)."""
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise InvalidInputError(
                f"the certificate proposed for region {region} is not X.509 DER ({exc})",
                field="certificate",
            ) from exc
        suite, problem = _suite_name(cert)
        if problem is not None:
            raise InvalidInputError(problem, field="certificate")
        self.refresh()
        region_suite = self.region_suites.get(region)
        if region_suite is not None and region_suite != suite:
            raise InvalidInputError(
                f"the certificate {certificate_fingerprint(cert)} "
                f"({cert.subject.rfc4514_string()}) is of crypto suite {suite}, but region "
                f"{region} is an {region_suite} region: its certificates must all be "
                f"{region_suite}; issue it with the region's own CA",
                field="certificate",
            )
        return suite
