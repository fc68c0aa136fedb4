"""National identifiers a licence carries, each with its check character: the holder's
citizen ID number (GB 11643) or unified social credit code (GB 32100), and the
administrative division code of a region. Validated strictly at the boundary, with errors
that name the field, say what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CITIZEN_ID_WEIGHTS",
    "PROVINCE_NAMES",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "HolderIdType",
    "IdentifierError",
    "citizen_id_check_char",
    "make_citizen_id",
    "make_organisation_code",
    "make_uscc",
    "organisation_code_check_char",
    "uscc_check_char",
    "validate_citizen_id",
    "validate_division_code",
    "validate_holder_id",
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


def require_text(value: object, field: str, what: str) -> str:
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
    text = require_text(code, field, "administrative division code").strip()
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
    text = require_text(first17, "uscc", "the first 17 characters of a USCC")
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
    text = require_text(code, field, "unified social credit code").strip().upper()
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
    text = require_text(first8, "organisation_code", "organisation code").upper()
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
    org = require_text(org_code9, "org_code9", "organisation code").strip().upper()
    if len(org) != 9:
        raise IdentifierError("org_code9", f"organisation code must be 9 characters, got {org!r}")
    for name, part in (
        ("registration_authority", registration_authority),
        ("category", category),
    ):
        text = require_text(part, name, name.replace("_", " "))
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
    text = require_text(first17, "holder_id", "the first 17 digits of a citizen ID")
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
    text = require_text(value, field, "citizen ID number").strip().upper()
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
        text = require_text(value, field, "holder ID type").strip()
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
