"""The chain side: contract clients, transactions, the event index, the embedded node.

Nothing here knows about licences beyond hashes; ``licence_service`` and ``verifier`` use
these names, never a module's private ones.
"""

from ledger_client.accounts import create_account, load_account, save_account
from ledger_client.connection import DEFAULT_CHAIN_ID, ChainConfig, connect
from ledger_client.deployment import Deployment, deploy, revert_decoder
from ledger_client.directory import (
    AccountChange,
    Action,
    AgencyAccount,
    DirectoryClient,
    DirectoryEvents,
    NewCertificate,
    signature_counts,
)
from ledger_client.errors import (
    ChainUnavailableError,
    ContractRevertError,
    DeploymentError,
    LedgerError,
    TransactionError,
)
from ledger_client.events import ChainEvents, scan
from ledger_client.index import (
    ChainIndex,
    ChainIndexer,
    IndexBase,
    IndexedBatch,
    IndexedStatus,
    LeafRecord,
)
from ledger_client.node import AnvilNode, NodeConfig
from ledger_client.registry import LeafStatus, Member, RegistryClient
from ledger_client.reverts import RevertDecoder
from ledger_client.sharing import SharingClient, SharingEvents
from ledger_client.transactions import NonceConflictError, SignedTx, TransactionSender

__all__ = [
    "DEFAULT_CHAIN_ID",
    "AccountChange",
    "Action",
    "AgencyAccount",
    "AnvilNode",
    "ChainConfig",
    "ChainEvents",
    "ChainIndex",
    "ChainIndexer",
    "ChainUnavailableError",
    "ContractRevertError",
    "Deployment",
    "DeploymentError",
    "DirectoryClient",
    "DirectoryEvents",
    "IndexBase",
    "IndexedBatch",
    "IndexedStatus",
    "LeafRecord",
    "LeafStatus",
    "LedgerError",
    "Member",
    "NewCertificate",
    "NodeConfig",
    "NonceConflictError",
    "RegistryClient",
    "RevertDecoder",
    "SharingClient",
    "SharingEvents",
    "SignedTx",
    "TransactionError",
    "TransactionSender",
    "connect",
    "create_account",
    "deploy",
    "load_account",
    "revert_decoder",
    "save_account",
    "scan",
    "signature_counts",
]
