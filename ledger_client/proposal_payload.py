"""The payload of a directory proposal: the change's arguments, ABI-encoded per kind.

``RegionDirectory`` stores each proposal as its kind, its region and this payload, and the
kind's executor decodes it (see ``IRegionDirectory.Action``). The layouts here are the
contract's, field for field; fields a kind does not carry read as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from web3 import Web3

from ledger_client.directory_types import ZERO_ADDRESS, ZERO_HASH, Action

LAYOUTS: dict[Action, tuple[tuple[str, str], ...]] = {
    Action.ADD_REGION: (
        ("name", "string"), ("account", "address"), ("agency_code", "string"),
        ("fingerprint", "bytes32"), ("cert", "bytes"),
    ),
    Action.REMOVE_REGION: (),
    Action.ADD_ACCOUNT: (("account", "address"), ("agency_code", "string")),
    Action.REMOVE_ACCOUNT: (("account", "address"),),
    Action.ADD_CERTIFICATE: (
        ("fingerprint", "bytes32"), ("agency_code", "string"), ("cert", "bytes"),
    ),
    Action.REVOKE_CERTIFICATE: (("fingerprint", "bytes32"),),
}  # fmt: skip


@dataclass(frozen=True)
class Change:
    """What a proposal changes, whatever its kind (unused fields empty)."""

    name: str = ""
    account: str | None = None
    agency_code: str = ""
    fingerprint: bytes | None = None
    cert: bytes = b""


def encode_change(action: Action, change: Change) -> bytes:
    """The payload ``propose`` takes for a change of kind ``action``."""
    values: dict[str, Any] = {
        "name": change.name,
        "account": Web3.to_checksum_address(change.account) if change.account else ZERO_ADDRESS,
        "agency_code": change.agency_code,
        "fingerprint": change.fingerprint or ZERO_HASH,
        "cert": change.cert,
    }
    layout = LAYOUTS[action]
    return encode([t for _, t in layout], [values[n] for n, _ in layout]) if layout else b""


def decode_change(action: Action, payload: bytes) -> Change:
    """The change a stored or announced payload of kind ``action`` carries."""
    layout = LAYOUTS[action]
    if not layout:
        return Change()
    fields = dict(zip([n for n, _ in layout], decode([t for _, t in layout], payload), strict=True))
    account = fields.get("account")
    fingerprint = fields.get("fingerprint")
    return Change(
        name=str(fields.get("name", "")),
        account=Web3.to_checksum_address(account) if account and int(account, 16) else None,
        agency_code=str(fields.get("agency_code", "")),
        fingerprint=bytes(fingerprint) if fingerprint and bytes(fingerprint) != ZERO_HASH else None,
        cert=bytes(fields.get("cert", b"")),
    )
