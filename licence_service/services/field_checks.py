""" "Does field X of licence L equal V?" — answered with a proof, disclosing no other field.

A mismatch is answered with a plain false and no proof: revealing the field's salt would
let the asker test other guesses offline.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from licence_service.anchoring.members import member_of
from licence_service.domain.errors import ConflictError, InvalidInputError
from licence_service.domain.states import OutboxState
from licence_service.region.runtime import Runtime
from licence_service.store.models import OutboxEntry
from licence_service.store.queries import find_licence
from verifier.fields import build_field_proof, check_field_proof
from verifier.leaves import LeafInput, LeafKind, field_hash


@dataclass(frozen=True)
class FieldCheck:
    licence_id: str
    field: str
    match: bool
    proof: dict[str, Any] | None


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def check_field(rt: Runtime, licence_id: str, name: str, value: str) -> FieldCheck:
    with rt.sessions() as s:
        licence = find_licence(s, licence_id)
        version = licence.versions[-1]
        values: dict[str, str] = json.loads(version.fields_json)
        salts: dict[str, str] = json.loads(version.salts_json)
        keys = {_norm(k): k for k in values}
        key = keys.get(_norm(name))
        if key is None:
            raise InvalidInputError(
                f"{licence.type_code} licences have no field {name!r}; fields: "
                + ", ".join(values),
                field="field",
            )
        entry = s.scalar(select(OutboxEntry).where(OutboxEntry.leaf == version.leaf))
        if entry is None or entry.state != OutboxState.ANCHORED:
            raise ConflictError(f"{version.identifier} is not anchored yet", "licence_id")
        member = member_of(s, version.leaf)
        assert member is not None
        leaf = LeafInput(
            version.key, version.document_digest, version.data_root, LeafKind(version.kind),
            version.parent_leaf, agency_code=licence.agency.code,
        )  # fmt: skip
        identifier = version.identifier
    if _norm(values[key]) != _norm(value):
        return FieldCheck(identifier, key, False, None)
    hashes = [field_hash(bytes.fromhex(salts[k]), k, v) for k, v in values.items()]
    proof = build_field_proof(
        identifier, key, values[key], bytes.fromhex(salts[key]), hashes, leaf,
        member.batch_id, list(member.proof),
    )  # fmt: skip
    rt.indexer.sync()
    if not check_field_proof(proof, rt.index).ok:
        raise ConflictError(f"{identifier} is not current and active; no proof can be given")
    return FieldCheck(identifier, key, True, proof)
