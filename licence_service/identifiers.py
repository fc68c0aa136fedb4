"""Identifiers used on Chinese electronic licences, validated strictly at the boundary.

Every identifier a licence carries is a key somebody else will look up: the holder's
citizen ID number (GB 11643) or unified social credit code (GB 32100), the issuer's
administrative division code, and the licence identifier itself (GB/T 36904 style).
A single mistyped character would silently point at a different person, company or
licence, so each identifier carries a check character and every entry point validates
it here, in one module, with error messages that say which field is wrong, what exactly
is wrong with it and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CITIZEN_ID_WEIGHTS",
    "LICENCE_CHECK_ALPHABET",
    "LICENCE_ID_PREFIX",
    "PROVINCE_NAMES",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "HolderIdType",
    "IdentifierError",
    "LicenceIdentifier",
    "citizen_id_check_char",
    "format_serial",
    "licence_check_char",
    "make_citizen_id",
    "make_organisation_code",
    "make_uscc",
    "organisation_code_check_char",
    "uscc_check_char",
    "validate_citizen_id",
    "validate_division_code",
    "validate_holder_id",
    "validate_licence_type_code",
    "validate_uscc",
]


class IdentifierError(ValueError):
    """An identifier failed validation.

    ``field`` names the input that was wrong (so a CLI or API can point at the right
    argument); ``message`` says what is wrong and how to fix it. ``str(error)`` is
    ``"<field>: <message>"`` so it reads well when printed on its own.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _require_text(value: object, field: str, what: str) -> str:
    """Reject non-strings up front so later checks can assume ``str`` methods exist."""
    if not isinstance(value, str):
        raise IdentifierError(
            field, f"{what} must be text, got {type(value).__name__}; pass it as a string"
        )
    return value


# --------------------------------------------------------------------------------------
# Administrative division codes (GB/T 2260)
# --------------------------------------------------------------------------------------

PROVINCE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "11": "北京市",
        "12": "天津市",
        "13": "河北省",
        "14": "山西省",
        "15": "内蒙古自治区",
        "21": "辽宁省",
        "22": "吉林省",
        "23": "黑龙江省",
        "31": "上海市",
        "32": "江苏省",
        "33": "浙江省",
        "34": "安徽省",
        "35": "福建省",
        "36": "江西省",
        "37": "山东省",
        "41": "河南省",
        "42": "湖北省",
        "43": "湖南省",
        "44": "广东省",
        "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市",
        "51": "四川省",
        "52": "贵州省",
        "53": "云南省",
        "54": "西藏自治区",
        "61": "陕西省",
        "62": "甘肃省",
        "63": "青海省",
        "64": "宁夏回族自治区",
        "65": "新疆维吾尔自治区",
        "71": "台湾省",
        "81": "香港特别行政区",
        "82": "澳门特别行政区",
    }
)
"""Province-level prefixes (first two digits of a division code) and their names."""


def validate_division_code(code: str, field: str = "region_code") -> str:
    """Validate a 6-digit administrative division code; return it without surrounding spaces.

    Only the province-level prefix is checked against a table: the full GB/T 2260 list
    changes every year (districts merge and split) and an out-of-date copy here would
    reject real, current codes.
    """
    text = _require_text(code, field, "administrative division code").strip()
    if len(text) != 6 or not text.isascii() or not text.isdigit():
        raise IdentifierError(
            field,
            f"administrative division code must be exactly 6 digits (e.g. 330106), got {text!r}",
        )
    if text[:2] not in PROVINCE_NAMES:
        allowed = ", ".join(PROVINCE_NAMES)
        raise IdentifierError(
            field,
            f"administrative division code {text} starts with {text[:2]!r}, which is not a "
            f"province-level code; the first two digits must be one of {allowed}",
        )
    return text


# --------------------------------------------------------------------------------------
# Unified social credit code (GB 32100) and organisation code (GB 11714)
# --------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""31 symbols; I, O, S, V and Z are left out because they are confused with 1, 0, 5, U, 2."""

USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""3**i mod 31 for positions 1-17; 3 is a primitive root mod 31, so no weight is 0."""

_USCC_VALUES = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character (position 18) for the first 17 characters.

    check = 31 - (sum of value * weight) mod 31, with 31 mapped to 0, as an index into
    :data:`USCC_ALPHABET`.
    """
    text = _require_text(first17, "uscc", "the first 17 characters of a USCC")
    if len(text) != 17:
        raise IdentifierError("uscc", f"need exactly 17 characters to compute, got {len(text)}")
    total = 0
    for position, (char, weight) in enumerate(zip(text, USCC_WEIGHTS, strict=True), start=1):
        if char not in _USCC_VALUES:
            raise IdentifierError("uscc", _uscc_illegal_char(char, position))
        total += _USCC_VALUES[char] * weight
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _uscc_illegal_char(char: str, position: int) -> str:
    return (
        f"illegal character {char!r} at position {position}; a unified social credit code "
        f"uses only digits and the upper-case letters {USCC_ALPHABET[10:]} "
        f"(never I, O, S, V or Z)"
    )


def validate_uscc(code: str, field: str = "uscc") -> str:
    """Validate a unified social credit code; return it upper-cased and stripped.

    Checks length, alphabet and the check character. The registration authority,
    category and division positions are deliberately not checked against tables: codes
    issued to central bodies use division 100000 and the category tables are extended
    over time, so such checks would reject genuine codes.
    """
    text = _require_text(code, field, "unified social credit code").strip().upper()
    if len(text) != 18:
        raise IdentifierError(
            field,
            f"a unified social credit code (统一社会信用代码) has 18 characters, got "
            f"{len(text)} in {text!r}; copy it again from the business licence",
        )
    for position, char in enumerate(text, start=1):
        if char not in _USCC_VALUES:
            raise IdentifierError(field, _uscc_illegal_char(char, position))
    expected = uscc_check_char(text[:17])
    if text[17] != expected:
        raise IdentifierError(
            field,
            f"check character (position 18) of {text} should be {expected!r} but is "
            f"{text[17]!r}; the code was probably mistyped - check every character",
        )
    return text


_ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code_check_char(first8: str) -> str:
    """Return the GB 11714 check character for an 8-character organisation code body.

    Positions 9-17 of a USCC are the organisation code including this check character;
    generators use it so demo codes look like real ones (e.g. ``M000100Y4``).
    """
    text = _require_text(first8, "organisation_code", "organisation code").upper()
    if len(text) != 8 or any(ch not in _ORG_CODE_ALPHABET for ch in text):
        raise IdentifierError(
            "organisation_code", f"need 8 characters from 0-9A-Z to compute, got {text!r}"
        )
    total = sum(
        _ORG_CODE_ALPHABET.index(ch) * w for ch, w in zip(text, _ORG_CODE_WEIGHTS, strict=True)
    )
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_organisation_code(first8: str) -> str:
    """Append the GB 11714 check character to an 8-character organisation code body."""
    return first8.upper() + organisation_code_check_char(first8)


def make_uscc(
    division_code: str,
    org_code9: str,
    registration_authority: str = "9",
    category: str = "1",
) -> str:
    """Build a valid USCC: authority + category + division + organisation code + check.

    Defaults ("9", "1") mean "registered by market regulation, enterprise", the most
    common kind of licence holder.
    """
    division = validate_division_code(division_code, field="division_code")
    org = _require_text(org_code9, "org_code9", "organisation code").strip().upper()
    if len(org) != 9:
        raise IdentifierError("org_code9", f"organisation code must be 9 characters, got {org!r}")
    for name, part in (
        ("registration_authority", registration_authority),
        ("category", category),
    ):
        text = _require_text(part, name, name.replace("_", " "))
        if len(text) != 1 or text.upper() not in _USCC_VALUES:
            raise IdentifierError(name, f"must be one character from {USCC_ALPHABET}, got {part!r}")
    for position, char in enumerate(org, start=9):
        if char not in _USCC_VALUES:
            raise IdentifierError("org_code9", _uscc_illegal_char(char, position))
    first17 = registration_authority.upper() + category.upper() + division + org
    return first17 + uscc_check_char(first17)


# --------------------------------------------------------------------------------------
# Citizen ID number (GB 11643)
# --------------------------------------------------------------------------------------

CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
"""2**(18-i) mod 11 for positions 1-17 (ISO 7064 MOD 11-2)."""

_CITIZEN_CHECK = "10X98765432"
_EARLIEST_BIRTH = date(1900, 1, 1)


def citizen_id_check_char(first17: str) -> str:
    """Return the GB 11643 check character (ISO 7064 MOD 11-2) for 17 digits."""
    text = _require_text(first17, "holder_id", "the first 17 digits of a citizen ID")
    if len(text) != 17 or not text.isascii() or not text.isdigit():
        raise IdentifierError("holder_id", f"need exactly 17 digits to compute, got {text!r}")
    total = sum(int(ch) * w for ch, w in zip(text, CITIZEN_ID_WEIGHTS, strict=True))
    return _CITIZEN_CHECK[total % 11]


def validate_citizen_id(value: str, field: str = "holder_id", *, today: date | None = None) -> str:
    """Validate an 18-character citizen ID number; return it stripped with ``x`` as ``X``.

    Order of checks: shape, then check character (a mismatch almost always means a typo,
    which is the most useful thing to report), then division code and birth date (which
    catch numbers that were made up rather than mistyped). ``today`` exists for tests.
    """
    text = _require_text(value, field, "citizen ID number").strip().upper()
    if len(text) != 18:
        raise IdentifierError(
            field,
            f"a citizen ID number (居民身份证号码) has 18 characters, got {len(text)} in "
            f"{text!r}; 15-digit first-generation numbers must be converted first",
        )
    for position, char in enumerate(text[:17], start=1):
        if not ("0" <= char <= "9"):
            raise IdentifierError(
                field,
                f"illegal character {char!r} at position {position}; positions 1-17 of a "
                f"citizen ID number must be digits",
            )
    if not ("0" <= text[17] <= "9" or text[17] == "X"):
        raise IdentifierError(
            field,
            f"illegal character {text[17]!r} at position 18; the check character must be a "
            f"digit or X",
        )
    expected = citizen_id_check_char(text[:17])
    if text[17] != expected:
        raise IdentifierError(
            field,
            f"check character (position 18) of {text} should be {expected!r} but is "
            f"{text[17]!r}; the number was probably mistyped - check every digit",
        )
    try:
        validate_division_code(text[:6], field=field)
    except IdentifierError as exc:
        raise IdentifierError(field, f"positions 1-6: {exc.message}") from None
    birth_text = text[6:14]
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise IdentifierError(
            field,
            f"positions 7-14 must be the birth date as YYYYMMDD, but {birth_text} is not a "
            f"real date",
        ) from None
    _check_birth(birth, field, today)
    return text


def _check_birth(birth: date, field: str, today: date | None) -> None:
    latest = today or date.today()
    if birth < _EARLIEST_BIRTH:
        raise IdentifierError(
            field, f"birth date {birth.isoformat()} is before 1900-01-01, which is not plausible"
        )
    if birth > latest:
        raise IdentifierError(
            field, f"birth date {birth.isoformat()} is in the future (today is {latest})"
        )


def make_citizen_id(division_code: str, birth: date, sequence: int) -> str:
    """Build a valid citizen ID number. ``sequence`` is 0-999; odd means male, even female."""
    division = validate_division_code(division_code, field="division_code")
    if not isinstance(birth, date):
        raise IdentifierError("birth", f"must be a datetime.date, got {type(birth).__name__}")
    _check_birth(birth, "birth", None)
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= 999:
        raise IdentifierError("sequence", f"must be an integer from 0 to 999, got {sequence!r}")
    first17 = f"{division}{birth:%Y%m%d}{sequence:03d}"
    return first17 + citizen_id_check_char(first17)


# --------------------------------------------------------------------------------------
# Holder ID types
# --------------------------------------------------------------------------------------


class HolderIdType(StrEnum):
    """Kind of key that identifies a licence holder: persons vs organisations."""

    CITIZEN_ID = "citizen_id"
    USCC = "uscc"

    @property
    def label(self) -> str:
        """Chinese name as printed on licences and in GB/T 36903 metadata."""
        return _HOLDER_ID_LABELS[self]

    @classmethod
    def parse(cls, value: HolderIdType | str, field: str = "holder_id_type") -> HolderIdType:
        """Accept the enum, its value (``uscc``) or its Chinese label (统一社会信用代码)."""
        if isinstance(value, cls):
            return value
        text = _require_text(value, field, "holder ID type").strip()
        for member in cls:
            if text.lower() == member.value or text == member.label:
                return member
        options = ", ".join(f"{m.value} ({m.label})" for m in cls)
        raise IdentifierError(field, f"unknown holder ID type {text!r}; use one of {options}")


_HOLDER_ID_LABELS = {
    HolderIdType.CITIZEN_ID: "居民身份证号码",
    HolderIdType.USCC: "统一社会信用代码",
}


def validate_holder_id(id_type: HolderIdType | str, value: str, field: str = "holder_id") -> str:
    """Validate a holder ID according to its type; return the normalised ID."""
    kind = HolderIdType.parse(id_type, field=f"{field}_type")
    if kind is HolderIdType.CITIZEN_ID:
        return validate_citizen_id(value, field=field)
    return validate_uscc(value, field=field)


# --------------------------------------------------------------------------------------
# Licence identifier (GB/T 36904 style)
# --------------------------------------------------------------------------------------

LICENCE_ID_PREFIX = "1.2.156.3005.2"
"""OID arc for Chinese electronic licences; every identifier starts with it."""

LICENCE_CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
"""ISO/IEC 7064 MOD 37-2 symbols: index = value; '*' (36) appears only as a check char."""

_BODY_VALUES = {ch: i for i, ch in enumerate(LICENCE_CHECK_ALPHABET[:36])} | {".": 36}
_TYPE_CODE_RE = re.compile(r"[0-9A-Z]{1,32}")
_SERIAL_RE = re.compile(r"[0-9]{1,20}")
_VERSION_RE = re.compile(r"[0-9]{3}")
_SERIAL_WIDTH = 7


def licence_check_char(body: str) -> str:
    """Return the check character for a licence identifier body (ISO/IEC 7064 MOD 37-2).

    ``body`` is everything before the final ``.<check>``, e.g.
    ``1.2.156.3005.2.BL01.91350100M000100Y43.0000001.001``.

    Algorithm (ISO/IEC 7064 pure system, modulus 37, radix 2): map ``0``-``9`` to 0-9,
    ``A``-``Z`` to 10-35 and ``.`` to 36; ``p = 0``; for each character
    ``p = ((p + value) * 2) mod 37``; the check value is ``(1 - p) mod 37``, written with
    :data:`LICENCE_CHECK_ALPHABET` (so value 36 is written ``*``).

    Why this one: it is equivalent to requiring ``sum(value_i * 2**(n-i)) == 1 (mod 37)``
    over the whole identifier including the check character (weight 1). 37 is prime and
    2 is a primitive root mod 37, so every weight is non-zero mod 37; symbol values lie
    in 0..36, so two different symbols differ by a non-zero amount mod 37. Hence

    * a single substitution changes the sum by ``(a - b) * w != 0``: always detected;
    * swapping adjacent symbols ``a, b`` (weights ``2w`` and ``w``) changes it by
      ``(a - b) * w != 0``: always detected.

    The only two symbols sharing a value are ``.`` (body) and ``*`` (check), and they can
    never be confused: ``*`` is illegal in the body and ``.`` is never a check character.
    (MOD 37,36 was rejected: its 36-symbol alphabet has no room for ``.``, which would
    alias ``0``.) Published test vector: ``A999914123458`` -> ``J``.
    """
    text = _require_text(body, "licence_id", "licence identifier")
    if not text:
        raise IdentifierError("licence_id", "cannot compute a check character for an empty body")
    p = 0
    for position, char in enumerate(text, start=1):
        value = _BODY_VALUES.get(char)
        if value is None:
            raise IdentifierError(
                "licence_id",
                f"illegal character {char!r} at position {position}; a licence identifier uses "
                f"only 0-9, upper-case A-Z and '.' (the final check character may be '*')",
            )
        p = ((p + value) * 2) % 37
    return LICENCE_CHECK_ALPHABET[(1 - p) % 37]


def validate_licence_type_code(code: str, field: str = "type_code") -> str:
    """Validate a licence type code: 1-32 characters from 0-9 and upper-case A-Z."""
    text = _require_text(code, field, "licence type code")
    if not _TYPE_CODE_RE.fullmatch(text):
        raise IdentifierError(
            field,
            f"licence type code must be 1-32 characters from 0-9 and upper-case A-Z "
            f"(e.g. BL01), got {text!r}",
        )
    return text


def format_serial(number: int) -> str:
    """Format a serial number the way this system issues them: 7 digits, zero-padded."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise IdentifierError("serial", f"serial number must be a non-negative int, got {number!r}")
    text = f"{number:0{_SERIAL_WIDTH}d}"
    if len(text) > 20:
        raise IdentifierError("serial", f"serial number {number} has more than 20 digits")
    return text


@dataclass(frozen=True)
class LicenceIdentifier:
    """A parsed licence identifier; ``str()`` gives the canonical text with check char.

    ``base`` (without version) names the licence across all its versions, so the
    append-only version history is keyed by it; the full string names one version.
    """

    type_code: str
    issuer_code: str
    serial: str
    version: int = 1

    def __post_init__(self) -> None:
        validate_licence_type_code(self.type_code, field="type_code")
        object.__setattr__(self, "issuer_code", validate_uscc(self.issuer_code, "issuer_code"))
        serial = _require_text(self.serial, "serial", "serial")
        if not _SERIAL_RE.fullmatch(serial):
            raise IdentifierError(
                "serial", f"serial must be 1-20 digits (e.g. 0000001), got {serial!r}"
            )
        version = self.version
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
            raise IdentifierError(
                "version", f"version must be an int from 1 to 999, got {version!r}"
            )

    @classmethod
    def create(
        cls, type_code: str, issuer_code: str, number: int, version: int = 1
    ) -> LicenceIdentifier:
        """Build an identifier from an integer serial, zero-padded as this system issues them."""
        return cls(type_code, issuer_code, format_serial(number), version)

    @property
    def base(self) -> str:
        """Prefix, type, issuer and serial: the same for every version of one licence."""
        return f"{LICENCE_ID_PREFIX}.{self.type_code}.{self.issuer_code}.{self.serial}"

    @property
    def body(self) -> str:
        """Everything the check character is computed over."""
        return f"{self.base}.{self.version:03d}"

    @property
    def check_char(self) -> str:
        """The MOD 37-2 check character of :attr:`body`."""
        return licence_check_char(self.body)

    def __str__(self) -> str:
        body = self.body
        return f"{body}.{licence_check_char(body)}"

    def with_version(self, version: int) -> LicenceIdentifier:
        """The identifier of another version of the same licence."""
        return LicenceIdentifier(self.type_code, self.issuer_code, self.serial, version)

    @classmethod
    def parse(cls, text: str) -> LicenceIdentifier:
        """Parse the canonical text form strictly; raise IdentifierError("licence_id", ...).

        No normalisation (case, whitespace): an identifier is compared byte for byte by
        relying parties, so anything other than the canonical form is reported, not fixed.
        """
        value = _require_text(text, "licence_id", "licence identifier")
        fmt = f"{LICENCE_ID_PREFIX}.<type code>.<issuer USCC>.<serial>.<3-digit version>.<check>"
        if value != value.strip():
            raise _licence_error("remove the spaces or line breaks around the identifier")
        if not value.startswith(LICENCE_ID_PREFIX + "."):
            raise _licence_error(
                f"wrong prefix: a licence identifier starts with {LICENCE_ID_PREFIX + '.'!r} "
                f"(expected format {fmt}), got {value[:24]!r}"
            )
        parts = value[len(LICENCE_ID_PREFIX) + 1 :].split(".")
        if len(parts) != 5:
            raise _licence_error(
                f"expected 5 dot-separated segments after the prefix ({fmt}), got {len(parts)}"
            )
        type_code, issuer, serial, version_text, check = parts
        if not _TYPE_CODE_RE.fullmatch(type_code):
            raise _licence_error(
                f"bad type code segment {type_code!r}: need 1-32 characters from 0-9 and "
                f"upper-case A-Z"
            )
        if issuer != issuer.upper():
            raise _licence_error(f"bad issuer code segment {issuer!r}: must be upper-case")
        try:
            validate_uscc(issuer, field="issuer_code")
        except IdentifierError as exc:
            raise _licence_error(f"bad issuer code segment: {exc.message}") from None
        if not _SERIAL_RE.fullmatch(serial):
            raise _licence_error(f"bad serial segment {serial!r}: need 1-20 digits")
        if not _VERSION_RE.fullmatch(version_text) or version_text == "000":
            raise _licence_error(
                f"bad version segment {version_text!r}: need exactly 3 digits from 001 to 999"
            )
        if len(check) != 1 or check not in LICENCE_CHECK_ALPHABET:
            raise _licence_error(
                f"bad check character segment {check!r}: need one character from 0-9, A-Z or *"
            )
        result = cls(type_code, issuer, serial, int(version_text))
        expected = result.check_char
        if check != expected:
            raise _licence_error(
                f"bad check character: expected {expected!r}, got {check!r}; the identifier "
                f"was mistyped or altered"
            )
        return result


def _licence_error(message: str) -> IdentifierError:
    return IdentifierError("licence_id", message)
