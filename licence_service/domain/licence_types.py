"""Licence types as data: which face fields each licence carries and how they are shared.

Agencies add licence types far more often than the code changes, so the catalogue lives
in ``data/licence_types.json`` and this module only loads, checks and applies it. A
malformed catalogue fails loudly at load time (naming the file and the entry) rather
than producing licences with silently missing fields later.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from licence_service.domain.data_classes import check_classes
from licence_service.domain.identifiers import validate_licence_type_code
from licence_service.domain.national_ids import HolderIdType, IdentifierError
from licence_service.domain.printable import unprintable

__all__ = [
    "FIELD_KINDS",
    "FieldSpec",
    "FieldValidationError",
    "LicenceType",
    "LicenceTypeFileError",
    "get_licence_type",
    "load_licence_types",
    "type_name",
]

FIELD_KINDS = ("text", "date")
"""``date`` fields are stored as ISO ``YYYY-MM-DD`` so they sort and compare correctly."""

_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CN_DATE_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


CORE_FIELDS = ("licence_type", "holder_name", "holder_id", "valid_from", "valid_until")
"""Face values every licence has; the rest are its type's own fields."""


class FieldValidationError(ValueError):
    """A licence face field is missing, unknown or malformed; ``field`` is its key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class LicenceTypeFileError(ValueError):
    """The licence type catalogue is malformed; the message names the file and entry."""


def _normalise_key(key: str) -> str:
    """Fold full-width/half-width forms so ``法定代表人(负责人)`` matches ``法定代表人（负责人）``.

    Keys are typed on command lines where the full-width parentheses of the printed
    label are awkward to enter; NFKC makes both spellings name the same field.
    """
    return unicodedata.normalize("NFKC", key).strip()


@dataclass(frozen=True)
class FieldSpec:
    """One face field of a licence type. ``example`` is shown in help and error messages."""

    key: str
    label: str
    required: bool = True
    example: str = ""
    kind: str = "text"
    data_class: str = "internal"  # public, internal or sensitive: see domain.data_classes

    def clean(self, value: object) -> str:
        """Return the stripped (and for dates, ISO-formatted) value or raise."""
        if not isinstance(value, str):
            raise FieldValidationError(
                self.key, f"field {self.key} must be text, got {type(value).__name__}"
            )
        text = value.strip()
        if not text:
            raise FieldValidationError(
                self.key,
                f"field {self.key} is empty; give a value such as --field {self.key}="
                f"{self.example or 'VALUE'}" + ("" if self.required else " or leave it out"),
            )
        if self.kind == "date":
            return self._clean_date(text)
        problem = unprintable(self.key, text)
        if problem is not None:
            raise FieldValidationError(self.key, problem)
        return text

    def _clean_date(self, text: str) -> str:
        match = _ISO_DATE_RE.fullmatch(text) or _CN_DATE_RE.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            return date(*(int(part) for part in match.groups())).isoformat()
        except ValueError:
            raise FieldValidationError(
                self.key,
                f"field {self.key} must be a real date written YYYY-MM-DD (e.g. "
                f"{self.example or '2020-01-31'}), got {text!r}",
            ) from None


@dataclass(frozen=True)
class LicenceType:
    """A kind of licence: who holds it, how long it is valid, what its face shows.

    ``shareable_fields`` may be disclosed to authorised relying parties;
    ``masked_fields`` are personal data masked for viewers without permission.
    """

    code: str
    name: str
    holder_id_type: HolderIdType
    validity_years: int
    fields: tuple[FieldSpec, ...]
    shareable_fields: tuple[str, ...] = ()
    masked_fields: tuple[str, ...] = ()
    description: str = ""
    # Joint review of cancellations: (approvals required, agency codes that may approve).
    cancellation_review: tuple[int, tuple[str, ...]] | None = None
    holder_name_class: str = "internal"
    # Years between two inspections (年检/审验) from the validity start; None: not inspected.
    inspection_interval_years: int | None = None
    _lookup: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_licence_type_code(self.code, field="code")
        if not self.name.strip():
            raise ValueError(f"licence type {self.code}: name must not be empty")
        object.__setattr__(self, "holder_id_type", HolderIdType.parse(self.holder_id_type))
        years = self.validity_years
        if isinstance(years, bool) or not isinstance(years, int) or years < 1:
            raise ValueError(
                f"licence type {self.code}: validity_years must be a positive integer, "
                f"got {years!r}"
            )
        every = self.inspection_interval_years
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ValueError(
                f"licence type {self.code}: inspection_interval_years must be a positive "
                f"integer or left out, got {every!r}"
            )
        if not self.fields:
            raise ValueError(f"licence type {self.code}: at least one field is needed")
        lookup: dict[str, FieldSpec] = {}
        for spec in self.fields:
            norm = _normalise_key(spec.key)
            if not norm or spec.kind not in FIELD_KINDS:
                raise ValueError(
                    f"licence type {self.code}: field {spec.key!r} needs a non-empty key and "
                    f"a kind from {FIELD_KINDS}"
                )
            if norm in lookup:
                raise ValueError(f"licence type {self.code}: field {spec.key!r} is listed twice")
            lookup[norm] = spec
        object.__setattr__(self, "_lookup", lookup)
        check_classes(self.code, [(s.key, s.data_class) for s in self.fields],
                      self.holder_name_class, self.masked_fields)  # fmt: skip
        for attr in ("shareable_fields", "masked_fields"):
            unknown = [k for k in getattr(self, attr) if _normalise_key(k) not in lookup]
            if unknown:
                raise ValueError(
                    f"licence type {self.code}: {attr} names unknown fields {unknown}; "
                    f"known fields are {list(self.field_keys)}"
                )

    @property
    def field_keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self.fields)

    def example_fields(self) -> dict[str, str]:
        """A complete, valid set of example values (for help text and smoke tests)."""
        return {spec.key: spec.example for spec in self.fields}

    def validate_fields(self, values: Mapping[str, str]) -> dict[str, str]:
        """Check face field values against this type; return them cleaned, in spec order.

        Raises FieldValidationError for the first problem :meth:`check_fields` finds: an
        unknown key (listing the allowed ones), a key given twice, an empty or malformed
        value, or a missing required field.
        """
        cleaned, problems = self.check_fields(values)
        for key, message in problems.items():
            raise FieldValidationError(key, message)
        return cleaned

    def check_fields(
        self, values: Mapping[str, str], blank_is_absent: bool = False
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(the values cleaned, in spec order; every problem by field, in the order met).

        One set of checks for the use cases (which stop at the first problem) and for a
        form (which shows them all beside their inputs). ``blank_is_absent``: a form sends
        every input, so a blank optional field there means "not given" (a blank required
        one is still an error), where the CLI or the API sending it blank is a mistake.
        """
        given: dict[str, str] = {}
        problems: dict[str, str] = {}
        seen: set[str] = set()
        for raw_key, raw_value in values.items():
            norm = _normalise_key(raw_key) if isinstance(raw_key, str) else None
            spec = self._lookup.get(norm) if norm is not None else None
            if spec is None:
                allowed = ", ".join(self.field_keys)
                problems.setdefault(
                    str(raw_key),
                    f"unknown field {raw_key!r} for {self.name} ({self.code}); allowed "
                    f"fields are: {allowed}",
                )
                continue
            if spec.key in seen:
                problems.setdefault(
                    spec.key, f"field {spec.key} is given twice (as {raw_key!r}); give it once"
                )
                continue
            blank = isinstance(raw_value, str) and not raw_value.strip()
            if blank_is_absent and blank and not spec.required:
                continue
            seen.add(spec.key)
            try:
                given[spec.key] = spec.clean(raw_value)
            except FieldValidationError as exc:
                problems.setdefault(spec.key, exc.message)
        missing = [s.key for s in self.fields if s.required and s.key not in seen]
        for i, key in enumerate(missing):
            more = f" (also missing: {', '.join(missing[1:])})" if i == 0 and missing[1:] else ""
            problems.setdefault(
                key,
                f"required field {key} is missing for {self.name} ({self.code}); pass it as "
                f"--field {key}=VALUE{more}",
            )
        return {s.key: given[s.key] for s in self.fields if s.key in given}, problems


_TYPE_KEYS = frozenset({"code", "name", "description", "cancellation_review", "holder_id_type",
                        "validity_years", "fields", "shareable_fields", "masked_fields",
                        "holder_name_class", "inspection_interval_years"})  # fmt: skip
_REQUIRED_TYPE_KEYS = ("code", "name", "holder_id_type", "validity_years", "fields")
_FIELD_KEYS = {"key", "label", "required", "example", "kind", "class"}


def _string_list(raw: Any, what: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(raw)


def _parse_field(raw: Any, index: int) -> FieldSpec:
    where = f"fields[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object")
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise ValueError(
            f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_FIELD_KEYS)}"
        )
    key = raw.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{where} needs a non-empty string 'key'")
    label = raw.get("label", key)
    required = raw.get("required", True)
    example = raw.get("example", "")
    kind, data_class = raw.get("kind", "text"), raw.get("class", "internal")
    if not all(isinstance(x, str) for x in (label, example, kind, data_class)):
        raise ValueError(f"{where} ({key}): label, example, kind and class must be strings")
    if not isinstance(required, bool):
        raise ValueError(f"{where} ({key}): required must be true or false")
    return FieldSpec(key=key, label=label, required=required, example=example, kind=kind,
                     data_class=data_class)  # fmt: skip


def _parse_type(raw: Any) -> LicenceType:
    if not isinstance(raw, dict):
        raise ValueError("must be an object")
    unknown = set(raw) - _TYPE_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(_TYPE_KEYS)}")
    missing = [k for k in _REQUIRED_TYPE_KEYS if k not in raw]
    if missing:
        raise ValueError(f"missing keys {missing}")
    if not isinstance(raw["code"], str) or not isinstance(raw["name"], str):
        raise ValueError("code and name must be strings")
    if not isinstance(raw["fields"], list):
        raise ValueError("fields must be a list of objects")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ValueError("description must be a string")
    interval = raw.get("inspection_interval_years")
    if interval is not None and (type(interval) is not int or interval < 1):
        raise ValueError("inspection_interval_years must be a whole number of years (1 or more)")
    return LicenceType(
        code=raw["code"],
        name=raw["name"],
        holder_id_type=raw["holder_id_type"],
        validity_years=raw["validity_years"],
        fields=tuple(_parse_field(f, i) for i, f in enumerate(raw["fields"])),
        shareable_fields=_string_list(raw.get("shareable_fields", []), "shareable_fields"),
        masked_fields=_string_list(raw.get("masked_fields", []), "masked_fields"),
        description=description,
        cancellation_review=_parse_review(raw.get("cancellation_review")),
        holder_name_class=str(raw.get("holder_name_class", "internal")),
        inspection_interval_years=interval,
    )


def _parse_review(raw: Any) -> tuple[int, tuple[str, ...]] | None:
    """``{"required": M, "approvers": [agency codes]}``: M of the named agencies must approve."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"required", "approvers"}:
        raise ValueError('cancellation_review must be {"required": M, "approvers": [...]}')
    approvers = _string_list(raw["approvers"], "cancellation_review.approvers")
    required = raw["required"]
    if not isinstance(required, int) or not 1 <= required <= len(approvers):
        raise ValueError("cancellation_review.required must be between 1 and len(approvers)")
    return required, approvers


def _entry_name(raw: Any, index: int) -> str:
    code = raw.get("code") if isinstance(raw, dict) else None
    return f"entry #{index}" + (f" (code {code!r})" if isinstance(code, str) else "")


def _parse_catalogue(text: str, source: str) -> dict[str, LicenceType]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LicenceTypeFileError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, list) or not data:
        raise LicenceTypeFileError(f"{source}: must contain a non-empty JSON list of licence types")
    types: dict[str, LicenceType] = {}
    for index, raw in enumerate(data):
        try:
            licence_type = _parse_type(raw)
        except (ValueError, TypeError, IdentifierError) as exc:
            raise LicenceTypeFileError(f"{source}: {_entry_name(raw, index)}: {exc}") from None
        if licence_type.code in types:
            raise LicenceTypeFileError(
                f"{source}: {_entry_name(raw, index)}: code {licence_type.code} is used twice"
            )
        types[licence_type.code] = licence_type
    return types


@cache
def _packaged_types() -> dict[str, LicenceType]:
    resource = resources.files("licence_service").joinpath("data", "licence_types.json")
    return _parse_catalogue(resource.read_text(encoding="utf-8"), str(resource))


def load_licence_types(path: Path | None = None) -> dict[str, LicenceType]:
    """Load the catalogue keyed by code; the packaged one unless ``path`` is given."""
    if path is None:
        return dict(_packaged_types())
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LicenceTypeFileError(f"{path}: cannot read licence type file: {exc}") from None
    return _parse_catalogue(text, str(path))


def get_licence_type(code: str, types: Mapping[str, LicenceType] | None = None) -> LicenceType:
    """Look a type up by code; the error lists the known codes so the user can pick one."""
    catalogue = load_licence_types() if types is None else types
    found = catalogue.get(code.strip().upper()) if isinstance(code, str) else None
    if found is None:
        known = _describe(catalogue.values())
        raise FieldValidationError("type_code", f"unknown licence type {code!r}; known: {known}")
    return found


def type_name(code: str | None) -> str | None:
    """The packaged catalogue's name for ``code`` (None when unknown): a QR code carries only
    the type's code, and a counter shows the name."""
    found = _packaged_types().get(code) if code else None
    return found.name if found is not None else None


def _describe(types: Iterable[LicenceType]) -> str:
    return ", ".join(f"{t.code} ({t.name})" for t in types)
