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


CORE_SHAREABLE = frozenset(
    {"holder_name", "holder_id", "valid_from", "valid_until", "licence_type"}
)


def shareable_keys(ltype: LicenceType) -> frozenset[str]:
    """The values of a licence of ``ltype`` that may ever leave the region: the type's
    shareable fields and the core values. Everything else never does, whatever is approved."""
    return frozenset(ltype.shareable_fields) | CORE_SHAREABLE


def release_fields(
    ltype: LicenceType,
    values: Mapping[str, str],
    in_full: Iterable[str],
    only: Iterable[str] | None = None,
) -> Released:
    """What may leave the region: shareable fields (of ``only``, when the request named the
    fields it needs), personal ones masked unless consented or approved in full."""
    full = set(in_full)
    shareable = set(shareable_keys(ltype))
    if only is not None and (wanted := set(only)):
        shareable &= wanted
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
