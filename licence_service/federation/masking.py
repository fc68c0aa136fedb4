"""Least privilege and masking of released licence data (动态脱敏).

Only fields the licence type lists as shareable leave the region. Personal data (ID numbers,
phone numbers, addresses and the type's own masked fields) is masked unless the holder's
consent names the field for release in full.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from licence_service.domain.licence_types import LicenceType

_ADDRESS_WORDS = ("住所", "住址", "地址", "经营场所")
_PHONE = re.compile(r"1\d{10}|\d{3,4}-\d{7,8}")


def mask_value(key: str, value: str) -> str:
    """A masked rendering that keeps just enough to recognise the value."""
    if key == "holder_id" or re.fullmatch(r"[0-9A-Z]{15,18}", value):
        return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "****"
    if any(word in key for word in _ADDRESS_WORDS):
        return value[:6] + "****"
    if _PHONE.fullmatch(value):
        return value[:3] + "****" + value[-4:]
    return value[:1] + "*" * max(1, len(value) - 1)


def is_personal(key: str, value: str, ltype: LicenceType) -> bool:
    return (
        key == "holder_id"
        or key in ltype.masked_fields
        or any(word in key for word in _ADDRESS_WORDS)
        or bool(_PHONE.fullmatch(value))
    )


@dataclass(frozen=True)
class Released:
    fields: dict[str, str]
    masked: list[str]
    withheld: list[str]


def release_fields(
    ltype: LicenceType, values: Mapping[str, str], in_full: Iterable[str]
) -> Released:
    """What may leave the region: shareable fields, personal ones masked unless consented."""
    full = set(in_full)
    shareable = set(ltype.shareable_fields) | {
        "holder_name",
        "holder_id",
        "valid_from",
        "valid_until",
        "licence_type",
    }
    out: dict[str, str] = {}
    masked: list[str] = []
    withheld: list[str] = []
    for key, value in values.items():
        if key not in shareable:
            withheld.append(key)
        elif is_personal(key, value, ltype) and key not in full:
            out[key] = mask_value(key, value)
            masked.append(key)
        else:
            out[key] = value
    return Released(out, masked, withheld)
