"""Checking a licence from its file or QR code and the chain alone, with no issuer database.

The service and any other region use these names; the modules behind them are the trust
store, document references, leaves, metadata schema, decision table and engine.
"""

from verifier.engine import TrustStore, Verifier, VerifierConfig
from verifier.errors import VerificationError
from verifier.fields import build_field_proof, check_field_proof
from verifier.leaves import (
    ZERO,
    LeafInput,
    LeafKind,
    attachment_identifier,
    data_root,
    document_digest,
    field_hash,
    fields_root,
    lookup_key,
)
from verifier.metadata import METADATA_FILE, METADATA_SCHEMA, LicenceMetadata
from verifier.qr import QrClaims, encode_token, token_url
from verifier.references import mask_name
from verifier.trust import RegisteredCertificate
from verifier.verdicts import Verdict, VerificationResult

__all__ = [
    "METADATA_FILE",
    "METADATA_SCHEMA",
    "ZERO",
    "LeafInput",
    "LeafKind",
    "LicenceMetadata",
    "QrClaims",
    "RegisteredCertificate",
    "TrustStore",
    "Verdict",
    "VerificationError",
    "VerificationResult",
    "Verifier",
    "VerifierConfig",
    "attachment_identifier",
    "build_field_proof",
    "check_field_proof",
    "data_root",
    "document_digest",
    "encode_token",
    "field_hash",
    "fields_root",
    "lookup_key",
    "mask_name",
    "token_url",
]
