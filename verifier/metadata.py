"""The licence metadata a signed PDF carries: one schema, written by issuers, read by verifiers.

It lives here, beside the verifier, because the verifier is the schema's strict reader and must
not depend on the issuing service; the service builds a ``LicenceMetadata`` and writes
``to_json()`` into the PDF before signing. Optional fields are left out of the JSON when
unset, so a document carries only what it is (a grade-B checked copy has no holder ID).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from verifier.leaves import ZERO, LeafKind

METADATA_FILE = "licence-metadata.json"
"""Name of the embedded JSON file inside the PDF."""
METADATA_SCHEMA = "licledger/1"
"""The schema version written into every document's metadata."""

_EXTRA = ("purpose", "recipient", "recipient_sha256", "made_by", "made_at")
"""Fields of derived documents (copies, checked copies): who made it, for what, when."""


@dataclass(frozen=True)
class LicenceMetadata:
    """Everything a document says about itself in machine-readable form."""

    licence_id: str
    base_id: str
    version: int
    issuer_name: str
    issuer_code: str
    region_code: int
    valid_from: str
    valid_until: str
    data_root: str
    qr_token: str
    type_name: str
    holder_name: str
    trust_grade: str
    kind: int = int(LeafKind.VERSION)
    serial: int = 0
    parent_leaf: str = ZERO.hex()
    schema: str = METADATA_SCHEMA
    type_code: str | None = None
    holder_id: str | None = None
    holder_id_type: str | None = None
    defining_authority: str | None = None
    jurisdiction: str | None = None
    issue_date: str | None = None
    licence_valid_until: str | None = None
    fields: dict[str, str] | None = None
    status: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object embedded in the PDF (unset optional fields left out)."""
        out = {k: v for k, v in asdict(self).items() if v is not None and k != "extra"}
        unknown = set(self.extra) - set(_EXTRA)
        if unknown:
            raise ValueError(f"metadata extra fields not in the schema: {sorted(unknown)}")
        return {**out, **self.extra}

    @classmethod
    def from_json(cls, meta: Mapping[str, object]) -> LicenceMetadata:
        """Parse untrusted metadata; KeyError or ValueError names what is missing or wrong."""

        def text(name: str) -> str:
            value = meta[name]
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            return value

        def opt(name: str) -> str | None:
            return text(name) if name in meta else None

        fields = meta.get("fields")
        return cls(
            licence_id=text("licence_id"),
            base_id=str(meta["base_id"]),
            version=int(str(meta["version"])),
            issuer_name=str(meta.get("issuer_name", "")),
            issuer_code=str(meta["issuer_code"]),
            region_code=int(str(meta["region_code"])),
            valid_from=text("valid_from"),
            valid_until=text("valid_until"),
            data_root=bytes.fromhex(str(meta["data_root"])).hex(),
            qr_token=str(meta.get("qr_token", "")),
            type_name=str(meta.get("type_name", "")),
            holder_name=str(meta.get("holder_name", "")),
            trust_grade=str(meta.get("trust_grade", "")),
            kind=int(LeafKind(int(str(meta.get("kind", 0))))),
            serial=int(str(meta.get("serial", 0))),
            parent_leaf=bytes.fromhex(str(meta.get("parent_leaf", ZERO.hex()))).hex(),
            schema=str(meta.get("schema", METADATA_SCHEMA)),
            type_code=opt("type_code"),
            holder_id=opt("holder_id"),
            fields={str(k): str(v) for k, v in fields.items()}
            if isinstance(fields, Mapping)
            else None,
            extra={k: str(meta[k]) for k in _EXTRA if k in meta},
        )
