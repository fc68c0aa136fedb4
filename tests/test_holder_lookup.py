"""Issue 20 point 1, what the window enters: a typed ID, an ID-card reader's keystrokes, a
scanned holder code (``LLH1:<ID>``), each read to one holder, and a wrong check character
refused with its own message naming ``holder_id``."""

from __future__ import annotations

from datetime import date

import pytest

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.national_ids import HolderIdType, make_citizen_id
from licence_service.services.holder_lookup import read_holder_id

pytestmark = pytest.mark.unit

CITIZEN = make_citizen_id("330106", date(1990, 3, 7), 451)
USCC = "91330106MA2B0XKH34"
DIGITS_USCC = "114403000075421116"  # an all-digit credit code (a government body's)


def _wrong_check(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("1" if last != "1" else "2")


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (CITIZEN, HolderIdType.CITIZEN_ID, CITIZEN),
        (f"  {CITIZEN[:6]} {CITIZEN[6:14]} {CITIZEN[14:]} ", HolderIdType.CITIZEN_ID, CITIZEN),
        (f"{CITIZEN}\r\n", HolderIdType.CITIZEN_ID, CITIZEN),  # an ID-card reader's Enter
        (f"{CITIZEN}\t", HolderIdType.CITIZEN_ID, CITIZEN),
        (USCC.lower(), HolderIdType.USCC, USCC),
        ("".join(chr(ord(c) + 0xFEE0) for c in USCC), HolderIdType.USCC, USCC),  # full-width
        (f"LLH1:{USCC}", HolderIdType.USCC, USCC),  # a scanned holder code
        (f"llh1:{CITIZEN}\n", HolderIdType.CITIZEN_ID, CITIZEN),
        (DIGITS_USCC, HolderIdType.USCC, DIGITS_USCC),
    ],
)
def test_every_way_in_reads_the_same_holder(raw: str, kind: HolderIdType, value: str) -> None:
    assert read_holder_id(raw) == (kind, value)


def test_a_citizen_id_ending_in_x_is_a_citizen_id() -> None:
    x_id = next(
        i for i in (make_citizen_id("110101", date(1985, 1, 2), n) for n in range(200))
        if i.endswith("X")
    )  # fmt: skip
    assert read_holder_id(x_id.lower()) == (HolderIdType.CITIZEN_ID, x_id)


@pytest.mark.parametrize(
    "raw", [_wrong_check(CITIZEN), _wrong_check(USCC), f"LLH1:{_wrong_check(USCC)}"]
)
def test_a_wrong_check_character_is_named(raw: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        read_holder_id(raw)
    assert caught.value.field == "holder_id"
    assert "check character (position 18)" in str(caught.value)


def test_the_named_kind_is_checked_as_that_kind() -> None:
    with pytest.raises(InvalidInputError, match="the code was probably mistyped"):
        read_holder_id(CITIZEN, "uscc")
    assert read_holder_id(DIGITS_USCC, "uscc") == (HolderIdType.USCC, DIGITS_USCC)


@pytest.mark.parametrize("raw", ["", "   ", "12345", "LLH1:"])
def test_nothing_or_too_short_says_what_to_enter(raw: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        read_holder_id(raw)
    assert caught.value.field == "holder_id"
