"""One region's running parts, assembled from its settings: database, chain, keys, verifier.

The CLI and the HTTP app both build a ``Runtime``; nothing here is global.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

from cryptography import x509
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from ledger_client.accounts import create_account, load_account, save_account
from ledger_client.connection import connect
from ledger_client.deployment import Deployment, deploy, revert_decoder
from ledger_client.directory import DirectoryClient
from ledger_client.errors import DeploymentError
from ledger_client.index import ChainIndex
from ledger_client.node import AnvilNode
from ledger_client.registry import RegistryClient
from ledger_client.reverts import RevertDecoder
from ledger_client.sharing import SharingClient
from ledger_client.transactions import NonceLock, TransactionSender
from licence_service.domain.errors import NotSetUpError
from licence_service.federation.certificates import ChainCertificates
from licence_service.region.at_rest import check_passphrase_source, key_passphrase, secure_home
from licence_service.region.indexing import MarkingIndexer
from licence_service.region.settings import Settings
from licence_service.region.verifying import (
    VerifyingState,
    WriteMarkingSender,
    freshness_from_env,
)
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.field_key import FieldKey
from licence_service.store.models import Agency, OutboxEntry
from licence_service.store.nonce_lock import nonce_lock
from licence_service.store.sealing import register_key
from signing.credentials import Credentials
from signing.keystore import load_any_credentials
from verifier.engine import TrustStore, Verifier, VerifierConfig

OPERATOR = "operator"
REGION_CA = "region-ca"


def agency_credentials_name(code: str) -> str:
    return f"agency-{code}"


class Runtime:
    """Lazily connects to what a command needs, so `--help` and errors stay fast."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        check_passphrase_source(settings)  # production: refuse before touching anything
        secure_home(settings.home)
        self._lock = threading.Lock()
        self.anchor_lock = threading.Lock()
        # (number, hash) of the chain head the anchoring worker's last round left: a
        # reorganisation that replaced it is noticed next round (``anchoring.reconcile``)
        self.chain_watch: tuple[int, bytes] | None = None
        # One new licence at a time in this process: concurrent requests would take the same
        # serial, and all but one render and sign their PDF again (``services.issue``).
        self.issue_lock = threading.Lock()
        self._senders: dict[str, TransactionSender] = {}
        self._creds: dict[str, Credentials] = {}
        self._accounts: dict[Path, LocalAccount] = {}

    # ------------------------------------------------------------------ storage
    @cached_property
    def field_key(self) -> FieldKey:
        """The key of the sensitive fields, kept outside the database (``store.field_key``)."""
        return FieldKey.for_home(self.settings.home, self.settings.production)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        url = self.settings.database_url
        register_key(url, self.field_key)  # before the schema's migrations run: they seal
        return make_sessions(make_engine(url), self.field_key)

    @cached_property
    def _nonce_lock(self) -> NonceLock:
        """Shared by every process on this database: see ``store.nonce_lock``."""
        return nonce_lock(self.sessions.kw["bind"], self.settings.home / "locks")

    @cached_property
    def passphrase(self) -> str:
        """The keys' passphrase: environment, a file outside the data directory, or (in
        development only) one generated once into the keys folder; see ``at_rest``."""
        return key_passphrase(self.settings)

    # ------------------------------------------------------------------ chain
    @cached_property
    def node(self) -> AnvilNode:
        return AnvilNode(self.settings.node())

    @cached_property
    def w3(self) -> Web3:
        return connect(self.settings.chain())

    @cached_property
    def decoder(self) -> RevertDecoder:
        return revert_decoder()

    @cached_property
    def deployment(self) -> Deployment:
        dep = Deployment.load(self.settings.deployment_file)
        if not dep.is_live(self.w3):
            raise DeploymentError(
                f"no contract at {dep.registry} on {self.settings.rpc_url}: the chain was reset. "
                f"Remove {self.settings.deployment_file} and run `licledger chain up`"
            )
        return dep

    def _account(self, path: Path) -> LocalAccount:
        """A decrypted chain account, kept for the runtime's life: decrypting a keystore costs
        ~50 ms of scrypt, and the anchoring worker needs the account on every round."""
        with self._lock:
            account = self._accounts.get(path)
            if account is None:
                account = load_account(path, self.passphrase)
                self._accounts[path] = account
            return account

    def operator_account(self) -> LocalAccount:
        path = self.settings.keys_dir / f"{OPERATOR}.chain.json"
        if not path.exists():
            save_account(path, create_account(), self.passphrase)
        return self._account(path)

    def sender(self, account: LocalAccount) -> TransactionSender:
        with self._lock:
            sender = self._senders.get(account.address)
            if sender is None:
                sender = WriteMarkingSender(
                    self.w3, account, self.settings.chain(), self.decoder, self._nonce_lock
                )
                self._senders[account.address] = sender
            return sender

    def ensure_deployment(self) -> tuple[Deployment, bool]:
        """The recorded deployment if live, else deploy now; True when this call deployed."""
        path = self.settings.deployment_file
        if path.exists():
            dep = Deployment.load(path)
            if dep.is_live(self.w3):
                return dep, False
        dep = deploy(self.sender(self.operator_account()), threshold=self.settings.threshold)
        dep.save(path)
        self.__dict__.pop("deployment", None)
        return dep, True

    def registry(self, account: LocalAccount | None = None) -> RegistryClient:
        if account is None:
            return self._registry_reader
        return RegistryClient(self.w3, self.deployment.registry, self.sender(account))

    @cached_property
    def _registry_reader(self) -> RegistryClient:
        """The read-only registry client, made once: building one processes the contract's
        ABI (3.7 ms), and the anchoring worker's every round and every verifier asked for
        one. It holds nothing mutable, like ``w3`` it is shared by the threads."""
        return RegistryClient(self.w3, self.deployment.registry)

    def directory(self, account: LocalAccount | None = None) -> DirectoryClient:
        if not self.deployment.directory:
            raise NotSetUpError("this deployment has no region directory; redeploy (chain up)")
        sender = self.sender(account) if account is not None else None
        return DirectoryClient(self.w3, self.deployment.directory, sender)

    def sharing(self, account: LocalAccount | None = None) -> SharingClient:
        if not self.deployment.sharing:
            raise NotSetUpError("this deployment has no sharing ledger; redeploy (chain up)")
        sender = self.sender(account) if account is not None else None
        return SharingClient(self.w3, self.deployment.sharing, sender)

    @cached_property
    def certificates(self) -> ChainCertificates:
        return ChainCertificates(self.directory(), self.deployment.block_number)

    @cached_property
    def indexer(self) -> MarkingIndexer:
        return MarkingIndexer(
            self.registry(), self.sessions, start_block=self.deployment.block_number
        )

    @cached_property
    def index(self) -> ChainIndex:
        return ChainIndex(self.sessions, self.deployment.registry, self.settings.confirmations)

    # ------------------------------------------------------------------ agencies
    def agency(self, session: Session, code: str | None = None) -> Agency:
        """The agency with ``code``, or the region's only/first agency."""
        query = select(Agency).order_by(Agency.id)
        if code:
            query = query.where(Agency.code == code)
        agency = session.scalars(query).first()
        if agency is None:
            raise NotSetUpError(
                f"agency {code} is not set up in {self.settings.home}"
                if code
                else f"no issuing agency is set up in {self.settings.home}; run `licledger init`"
            )
        return agency

    def agency_credentials(self, code: str) -> Credentials:
        """The agency's current signing credentials; reloaded when the database names another
        certificate (after a rotation by another process, e.g. the CLI beside a server)."""
        with self.sessions() as s:
            current = s.scalar(select(Agency.cert_fingerprint).where(Agency.code == code))
        creds = self._creds.get(code)
        if creds is None or (current is not None and creds.fingerprint != current):
            creds = load_any_credentials(
                self.settings.keys_dir, agency_credentials_name(code), self.passphrase.encode()
            )
            self._creds[code] = creds
        return creds

    def forget_credentials(self, code: str) -> None:
        """Drop cached signing credentials (after a certificate rotation)."""
        self._creds.pop(code, None)

    def agency_account(self, code: str) -> LocalAccount:
        return self._account(self.settings.keys_dir / f"agency-{code}.chain.json")

    # ------------------------------------------------------------------ verifying
    def trust_store(self) -> TrustStore:
        """Trusted region authorities (``keys/trust/*.pem``) and this region's agencies."""
        roots = [
            x509.load_pem_x509_certificate(p.read_bytes())
            for p in sorted((self.settings.keys_dir / "trust").glob("*.pem"))
        ]
        with self.sessions() as s:
            agencies = {
                a.code: x509.load_pem_x509_certificate(a.cert_pem.encode())
                for a in s.scalars(select(Agency))
            }
            regions = {a.region_code: a.region_name for a in s.scalars(select(Agency))}
        directory = None
        if self.deployment.directory:
            self.certificates.refresh()
            directory = self.certificates
            for code, name in self.certificates.region_names.items():
                regions.setdefault(code, name)
        return TrustStore(
            roots=tuple(roots), agencies=agencies, region_names=regions, directory=directory
        )

    @cached_property
    def verifying(self) -> VerifyingState:
        """The verifier a server answers with, kept in memory (see ``region.verifying``)."""
        return VerifyingState(self, freshness_from_env())

    def pending_leaf(self, key: bytes) -> bytes | None:
        """The leaf this region accepted under ``key``. The verifier asks only when the chain
        index holds no final batch of it: not anchored yet, or anchored in a batch that a
        reorganisation or a node's lost blocks took away and the worker anchors again
        (``anchoring.reconcile``). Either way PENDING, never NOT_ANCHORED or VALID."""
        with self.sessions() as s:
            return s.scalar(select(OutboxEntry.leaf).where(OutboxEntry.key == key).limit(1))

    def verifier(self, direct: bool = False) -> Verifier:
        return Verifier(
            index=self.index,
            trust=self.trust_store(),
            indexer=self.indexer,
            registry=self.registry(),
            pending=self.pending_leaf,
            config=VerifierConfig(direct_chain_read=direct),
        )
