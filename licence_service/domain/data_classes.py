"""Data classes of a licence's values: who sees a value in full, and what is encrypted.

Every face field of a licence type has a class in ``licence_types.json`` (``"class"``; the
holder's name ``holder_name_class``; the holder ID is always sensitive):

- ``public``: shown in full to everyone who may read the licence.
- ``internal``: in full to the issuing agency's issuers and agency administrators; masked to
  everyone else (window staff at the counter, other agencies, auditors).
- ``sensitive``: in full to the issuing agency's issuers only, masked to everyone else, and
  encrypted at rest with the region's field key (``store.field_key``).

A type's ``masked_fields`` are sensitive (listing one as public or internal is refused). The
rule of who sees which class is ``services.disclosure``; this module only names the classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Protocol

__all__ = ["DATA_CLASSES", "DataClass", "check_classes", "class_of", "sensitive_keys"]

DATA_CLASSES = ("public", "internal", "sensitive")
PUBLIC_CORE = ("licence_type", "valid_from", "valid_until")


class DataClass(IntEnum):
    """Ordered: a viewer who sees a class in full sees every lower one in full."""

    PUBLIC = 0
    INTERNAL = 1
    SENSITIVE = 2


class _Spec(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def data_class(self) -> str: ...


class _Type(Protocol):
    @property
    def fields(self) -> Sequence[_Spec]: ...
    @property
    def masked_fields(self) -> tuple[str, ...]: ...
    @property
    def holder_name_class(self) -> str: ...


def check_classes(code: str, fields: Iterable[tuple[str, str]], holder_name_class: str,
                  masked: Iterable[str]) -> None:  # fmt: skip
    """Refuse an unknown class, or a masked field classed as less than sensitive."""
    masked_set = set(masked)
    for key, data_class in [*fields, ("holder_name", holder_name_class)]:
        if data_class not in DATA_CLASSES:
            raise ValueError(
                f"licence type {code}: field {key!r} has class {data_class!r}; use one of "
                f"{', '.join(DATA_CLASSES)}"
            )
        if key in masked_set and data_class != "sensitive":
            raise ValueError(
                f"licence type {code}: field {key!r} is in masked_fields, so its class must be "
                f"sensitive, not {data_class}"
            )


def class_of(ltype: _Type, key: str) -> DataClass:
    """The class of one value of a licence of type ``ltype`` (face field or core value)."""
    if key == "holder_id":
        return DataClass.SENSITIVE
    if key == "holder_name":
        return DataClass[ltype.holder_name_class.upper()]
    if key in PUBLIC_CORE:
        return DataClass.PUBLIC
    if key in ltype.masked_fields:
        return DataClass.SENSITIVE
    for spec in ltype.fields:
        if spec.key == key:
            return DataClass[spec.data_class.upper()]
    return DataClass.INTERNAL  # a value the type does not name: not for everyone


def sensitive_keys(ltype: _Type) -> frozenset[str]:
    """The values of a licence's face encrypted at rest: the holder ID, the sensitive fields
    (and the holder's name where the type classes it sensitive)."""
    keys = ("holder_id", "holder_name", *(spec.key for spec in ltype.fields))
    return frozenset(k for k in keys if class_of(ltype, k) is DataClass.SENSITIVE)
