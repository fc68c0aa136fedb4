"""The consortium's signing certificates and region names, rebuilt from the directory's events.

Another region's verifier holds no copy of this region's certificates: it reads them, with
their region, agency, registration, revocation and compromise times, from the chain.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from cryptography import x509

from ledger_client.directory import DirectoryClient
from verifier.trust import RegisteredCertificate


class ChainCertificates:
    """A ``CertificateDirectory`` kept current from the directory contract's events."""

    def __init__(self, directory: DirectoryClient, start_block: int) -> None:
        self.directory = directory
        self.next_block = start_block
        self._by_fp: dict[str, RegisteredCertificate] = {}
        self.region_names: dict[int, str] = {}
        self._lock = threading.Lock()

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
                fp = c.fingerprint.hex()
                self._by_fp[fp] = RegisteredCertificate(
                    fingerprint=c.fingerprint,
                    region=c.region,
                    agency_code=c.agency_code,
                    registered_at=c.timestamp,
                    compromised_at=0,
                    revoked_at=0,
                    cert=x509.load_der_x509_certificate(c.der),
                )
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
