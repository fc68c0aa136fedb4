"""The licence identifier (GB/T 36904 style), validated strictly at the boundary.

`1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<3-digit version>.<check char>`: a key
somebody else will look up, so a single mistyped character must not silently point at a
different licence. The national identifiers it is built from (USCC, citizen ID, division
code) live in ``national_ids``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from licence_service.domain.national_ids import (
    IdentifierError,
    require_text,
    validate_uscc,
)

__all__ = [
    "LICENCE_CHECK_ALPHABET",
    "LICENCE_ID_PREFIX",
    "LicenceIdentifier",
    "format_serial",
    "licence_check_char",
    "validate_licence_type_code",
]


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
    text = require_text(body, "licence_id", "licence identifier")
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
    text = require_text(code, field, "licence type code")
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
        serial = require_text(self.serial, "serial", "serial")
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
        value = require_text(text, "licence_id", "licence identifier")
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
