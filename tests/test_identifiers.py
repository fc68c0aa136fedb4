"""Tests for licence_service.domain.identifiers: fixed examples, error messages, and properties.

The hypothesis tests are the proof the brief asks for: for generated valid identifiers,
every single-character substitution and every adjacent transposition of two different
characters is rejected.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licence_service.domain.identifiers import (
    LICENCE_ID_PREFIX,
    LicenceIdentifier,
    format_serial,
    licence_check_char,
    validate_licence_type_code,
)
from licence_service.domain.national_ids import (
    CITIZEN_ID_WEIGHTS,
    PROVINCE_NAMES,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    HolderIdType,
    IdentifierError,
    citizen_id_check_char,
    make_citizen_id,
    make_organisation_code,
    make_uscc,
    organisation_code_check_char,
    uscc_check_char,
    validate_citizen_id,
    validate_division_code,
    validate_holder_id,
    validate_uscc,
)

SAMPLE_USCC = "91350100M000100Y43"
SAMPLE_CITIZEN_ID = "11010519491231002X"
SAMPLE_LICENCE_ID = f"{LICENCE_ID_PREFIX}.BL01.{SAMPLE_USCC}.0000001.001.T"
ALNUM = string.digits + string.ascii_uppercase
LICENCE_SUBSTITUTES = ALNUM + ".*" + "a"  # the full alphabet, plus lower case

# --------------------------------------------------------------------------------------
# helpers and strategies
# --------------------------------------------------------------------------------------


def substitutions(text: str, alphabet: str) -> Iterator[str]:
    """Every string differing from ``text`` in exactly one position, using ``alphabet``."""
    for i, original in enumerate(text):
        for char in alphabet:
            if char != original:
                yield text[:i] + char + text[i + 1 :]


def transpositions(text: str) -> Iterator[str]:
    """Every string made by swapping two adjacent, different characters of ``text``."""
    for i in range(len(text) - 1):
        if text[i] != text[i + 1]:
            yield text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def rejected(check: Callable[[str], object], text: str) -> bool:
    try:
        check(text)
    except IdentifierError:
        return True
    return False


divisions = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(sorted(PROVINCE_NAMES)),
    st.text(string.digits, min_size=4, max_size=4),
)
usccs = st.text(USCC_ALPHABET, min_size=17, max_size=17).map(lambda s: s + uscc_check_char(s))
citizen_ids = st.builds(
    make_citizen_id,
    divisions,
    st.dates(min_value=date(1900, 1, 1), max_value=date.today()),
    st.integers(0, 999),
)
licence_ids = st.builds(
    LicenceIdentifier,
    type_code=st.text(ALNUM, min_size=1, max_size=32),
    issuer_code=usccs,
    serial=st.text(string.digits, min_size=1, max_size=20),
    version=st.integers(1, 999),
)

# --------------------------------------------------------------------------------------
# known-good examples and the algorithms' constants
# --------------------------------------------------------------------------------------


def test_weights_are_the_standard_powers() -> None:
    assert [pow(3, i, 31) for i in range(17)] == list(USCC_WEIGHTS)
    assert [pow(2, 17 - i, 11) for i in range(17)] == list(CITIZEN_ID_WEIGHTS)
    assert len(USCC_ALPHABET) == 31 and not set("IOSVZ") & set(USCC_ALPHABET)


def test_commonly_cited_uscc_sample_is_valid() -> None:
    assert uscc_check_char(SAMPLE_USCC[:17]) == "3"
    assert validate_uscc(SAMPLE_USCC) == SAMPLE_USCC
    assert validate_uscc(f"  {SAMPLE_USCC.lower()} ") == SAMPLE_USCC
    # positions 9-17 are a GB 11714 organisation code with its own check character
    assert organisation_code_check_char("M000100Y") == "4"
    assert make_organisation_code("m000100y") == "M000100Y4"


def test_make_uscc_reproduces_the_sample() -> None:
    assert make_uscc("350100", "M000100Y4") == SAMPLE_USCC
    assert make_uscc("330106", "ma27xy0k1", "5", "2").startswith("52330106MA27XY0K1")


def test_citizen_id_samples_are_valid() -> None:
    assert citizen_id_check_char(SAMPLE_CITIZEN_ID[:17]) == "X"
    assert validate_citizen_id(SAMPLE_CITIZEN_ID) == SAMPLE_CITIZEN_ID
    assert validate_citizen_id(SAMPLE_CITIZEN_ID.lower()) == SAMPLE_CITIZEN_ID
    assert make_citizen_id("110105", date(1949, 12, 31), 2) == SAMPLE_CITIZEN_ID


def test_mod_37_2_matches_the_published_vector() -> None:
    # ISBT 128 donation identification number example, computed with ISO/IEC 7064 MOD 37-2.
    assert licence_check_char("A999914123458") == "J"


def test_sample_licence_identifier() -> None:
    ident = LicenceIdentifier.create("BL01", SAMPLE_USCC, 1)
    assert str(ident) == SAMPLE_LICENCE_ID
    assert ident.base == f"{LICENCE_ID_PREFIX}.BL01.{SAMPLE_USCC}.0000001"
    assert ident.body == ident.base + ".001"
    assert LicenceIdentifier.parse(SAMPLE_LICENCE_ID) == ident
    second = ident.with_version(2)
    assert second.base == ident.base and second.version == 2
    assert str(second).startswith(ident.base + ".002.")
    assert LicenceIdentifier.parse(str(second)) == second


def test_check_char_can_be_star_and_such_identifiers_parse() -> None:
    star = next(
        ident
        for n in range(1, 500)
        if (ident := LicenceIdentifier.create("BL01", SAMPLE_USCC, n)).check_char == "*"
    )
    text = str(star)
    assert text.endswith(".*")
    assert LicenceIdentifier.parse(text) == star
    # '.' and '*' share the value 36, but swapping them at the end is still rejected
    with pytest.raises(IdentifierError):
        LicenceIdentifier.parse(text[:-2] + "*.")


def test_holder_id_types_have_chinese_labels() -> None:
    assert HolderIdType.CITIZEN_ID.label == "居民身份证号码"
    assert HolderIdType.USCC.label == "统一社会信用代码"
    assert HolderIdType.parse("uscc") is HolderIdType.USCC
    assert HolderIdType.parse("居民身份证号码") is HolderIdType.CITIZEN_ID
    assert validate_holder_id("uscc", SAMPLE_USCC.lower()) == SAMPLE_USCC
    assert validate_holder_id(HolderIdType.CITIZEN_ID, SAMPLE_CITIZEN_ID) == SAMPLE_CITIZEN_ID


def test_division_codes() -> None:
    assert validate_division_code("330106") == "330106"
    assert validate_division_code(" 820000 ") == "820000"
    for prefix in PROVINCE_NAMES:
        assert validate_division_code(prefix + "0000") == prefix + "0000"


def test_format_serial_pads_to_seven_digits() -> None:
    assert format_serial(1) == "0000001"
    assert format_serial(123456789) == "123456789"
    assert validate_licence_type_code("BL01") == "BL01"


# --------------------------------------------------------------------------------------
# invalid inputs: right field, message says what is wrong
# --------------------------------------------------------------------------------------


def error_for(func: Callable[..., object], *args: object, **kwargs: object) -> IdentifierError:
    with pytest.raises(IdentifierError) as info:
        func(*args, **kwargs)
    assert str(info.value).startswith(f"{info.value.field}: ")
    return info.value


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y4", "18 characters, got 17"),
        ("91350100M000100Y433", "18 characters, got 19"),
        ("91350100M0I0100Y43", "illegal character 'I' at position 11"),
        ("9135010OM000100Y43", "illegal character 'O' at position 8"),
        ("91350100M000100Y4-", "illegal character '-' at position 18"),
        ("91350100M000100Y44", "should be '3' but is '4'"),
    ],
)
def test_uscc_errors(code: str, fragment: str) -> None:
    err = error_for(validate_uscc, code, field="issuer_code")
    assert err.field == "issuer_code"
    assert fragment in err.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("11010519491231002", "18 characters, got 17"),
        ("1101051949123100AX", "illegal character 'A' at position 17"),
        ("11010519491231002Y", "illegal character 'Y' at position 18"),
        ("110105194912310021", "should be 'X' but is '1'"),
    ],
)
def test_citizen_id_shape_errors(value: str, fragment: str) -> None:
    err = error_for(validate_citizen_id, value)
    assert err.field == "holder_id"
    assert fragment in err.message


def with_check(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


def test_citizen_id_semantic_errors() -> None:
    bad_date = error_for(validate_citizen_id, with_check("11010519490231002"), field="id")
    assert bad_date.field == "id" and "19490231 is not a real date" in bad_date.message
    future = error_for(validate_citizen_id, with_check("11010520300101002"), today=date(2024, 1, 1))
    assert "in the future" in future.message
    old = error_for(validate_citizen_id, with_check("11010518991231002"))
    assert "before 1900" in old.message
    region = error_for(validate_citizen_id, with_check("99010519491231002"))
    assert "positions 1-6" in region.message and "'99'" in region.message


def test_division_code_errors() -> None:
    assert "exactly 6 digits" in error_for(validate_division_code, "33010").message
    assert "exactly 6 digits" in error_for(validate_division_code, "33O106").message
    err = error_for(validate_division_code, "990000", field="issuer_division")
    assert err.field == "issuer_division" and "province-level" in err.message
    assert error_for(validate_division_code, 330106).message.startswith("administrative")


def test_holder_id_errors_use_the_given_field() -> None:
    err = error_for(validate_holder_id, "passport", "E12345678")
    assert err.field == "holder_id_type" and "citizen_id (居民身份证号码)" in err.message
    err = error_for(validate_holder_id, "citizen_id", SAMPLE_USCC, field="applicant_id")
    assert err.field == "applicant_id"
    err = error_for(validate_holder_id, "uscc", SAMPLE_CITIZEN_ID)
    assert err.field == "holder_id"


def test_make_functions_reject_bad_parts() -> None:
    assert error_for(make_uscc, "000000", "M000100Y4").field == "division_code"
    assert error_for(make_uscc, "350100", "M000100Y").field == "org_code9"
    assert error_for(make_uscc, "350100", "M00O100Y4").field == "org_code9"
    assert error_for(make_uscc, "350100", "M000100Y4", "I").field == "registration_authority"
    assert error_for(make_citizen_id, "110105", date(1949, 12, 31), 1000).field == "sequence"
    tomorrow = date.today() + timedelta(days=1)
    assert error_for(make_citizen_id, "110105", tomorrow, 1).field == "birth"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (SAMPLE_LICENCE_ID.replace("3005", "3006"), "wrong prefix"),
        ("BL01." + SAMPLE_USCC, "wrong prefix"),
        (SAMPLE_LICENCE_ID + ".X", "expected 5 dot-separated segments"),
        (SAMPLE_LICENCE_ID.replace(".001.", "."), "got 4"),
        (SAMPLE_LICENCE_ID.replace("BL01", "bl01"), "bad type code segment 'bl01'"),
        (SAMPLE_LICENCE_ID.replace("BL01", "B" * 33), "bad type code segment"),
        (SAMPLE_LICENCE_ID.replace("Y43", "Y44"), "bad issuer code segment"),
        (SAMPLE_LICENCE_ID.replace("M000", "m000"), "must be upper-case"),
        (SAMPLE_LICENCE_ID.replace("0000001", "00A0001"), "bad serial segment"),
        (SAMPLE_LICENCE_ID.replace("0000001", "1" * 21), "bad serial segment"),
        (SAMPLE_LICENCE_ID.replace(".001.", ".000."), "bad version segment '000'"),
        (SAMPLE_LICENCE_ID.replace(".001.", ".0001."), "bad version segment"),
        (SAMPLE_LICENCE_ID[:-1] + "TT", "bad check character segment"),
        (SAMPLE_LICENCE_ID[:-1] + "U", "bad check character: expected 'T', got 'U'"),
        (SAMPLE_LICENCE_ID + "\n", "remove the spaces"),
    ],
)
def test_licence_id_parse_errors(text: str, fragment: str) -> None:
    err = error_for(LicenceIdentifier.parse, text)
    assert err.field == "licence_id"
    assert fragment in err.message


def test_licence_identifier_constructor_errors() -> None:
    assert error_for(LicenceIdentifier, "bl01", SAMPLE_USCC, "1").field == "type_code"
    assert error_for(LicenceIdentifier, "BL01", "X", "1").field == "issuer_code"
    assert error_for(LicenceIdentifier, "BL01", SAMPLE_USCC, "").field == "serial"
    assert error_for(LicenceIdentifier, "BL01", SAMPLE_USCC, "1", 1000).field == "version"
    assert error_for(LicenceIdentifier, "BL01", SAMPLE_USCC, "1", 0).field == "version"
    assert error_for(licence_check_char, "1.2.a").field == "licence_id"
    assert error_for(licence_check_char, "1.2.*").field == "licence_id"
    assert error_for(format_serial, -1).field == "serial"
    # the constructor normalises a lower-case issuer; parse() never does
    assert LicenceIdentifier("BL01", SAMPLE_USCC.lower(), "1").issuer_code == SAMPLE_USCC


# --------------------------------------------------------------------------------------
# properties: every single substitution and adjacent transposition is detected
# --------------------------------------------------------------------------------------


@given(usccs)
def test_uscc_detects_every_substitution_and_transposition(code: str) -> None:
    assert validate_uscc(code) == code
    for mutant in substitutions(code, ALNUM):
        assert rejected(validate_uscc, mutant), mutant
    for mutant in transpositions(code):
        assert rejected(validate_uscc, mutant), mutant


@given(citizen_ids)
def test_citizen_id_detects_every_substitution_and_transposition(value: str) -> None:
    assert validate_citizen_id(value) == value
    for mutant in substitutions(value, string.digits + "X"):
        assert rejected(validate_citizen_id, mutant), mutant
    for mutant in transpositions(value):
        assert rejected(validate_citizen_id, mutant), mutant


@settings(deadline=None)
@given(licence_ids)
def test_licence_id_detects_every_substitution_and_transposition(
    ident: LicenceIdentifier,
) -> None:
    text = str(ident)
    for mutant in substitutions(text, LICENCE_SUBSTITUTES):
        assert rejected(LicenceIdentifier.parse, mutant), mutant
    for mutant in transpositions(text):
        assert rejected(LicenceIdentifier.parse, mutant), mutant


def check_char_accepts(text: str) -> bool:
    """Pure check-character test, without the structural checks parse() adds."""
    try:
        return licence_check_char(text[:-1]) == text[-1]
    except IdentifierError:
        return False


@settings(deadline=None)
@given(st.text(ALNUM + ".", min_size=1, max_size=80))
def test_check_char_algorithm_alone_detects_every_error(body: str) -> None:
    """The MOD 37-2 check character by itself catches all these errors, for any body."""
    text = body + licence_check_char(body)
    assert check_char_accepts(text)
    for mutant in substitutions(text, ALNUM + ".*"):
        assert not check_char_accepts(mutant), mutant
    for mutant in transpositions(text):
        assert not check_char_accepts(mutant), mutant


@given(licence_ids)
def test_licence_id_round_trip(ident: LicenceIdentifier) -> None:
    text = str(ident)
    assert LicenceIdentifier.parse(text) == ident
    assert str(LicenceIdentifier.parse(text)) == text
    assert ident.with_version(ident.version).base == ident.base
    assert text == f"{ident.base}.{ident.version:03d}.{ident.check_char}"


@given(divisions, st.text(USCC_ALPHABET, min_size=9, max_size=9))
def test_make_uscc_always_validates(division: str, org: str) -> None:
    code = make_uscc(division, org)
    assert validate_uscc(code) == code
    assert code[2:8] == division and code[8:17] == org


@given(citizen_ids)
def test_citizen_ids_round_trip_through_holder_validation(value: str) -> None:
    assert validate_holder_id(HolderIdType.CITIZEN_ID, value.lower()) == value
