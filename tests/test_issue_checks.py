"""The issue form's server-side checks (issue 10): every bad field of a request at once, with
the same rules as issuance (the licence type's field specs, the ID numbers' check characters),
so the form can show each error beside its input."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import get_licence_type
from licence_service.services.issue import validate_request
from licence_service.services.issue_checks import field_errors
from tests.service_fixtures import BUSINESS_FIELDS, business_request


def test_a_good_request_has_no_errors() -> None:
    assert field_errors(business_request()) == {}
    driving = get_licence_type("DL01")
    assert field_errors(business_request(type_code="DL01", holder_id="110101199003074514",
                                         fields=driving.example_fields())) == {}  # fmt: skip


def test_every_bad_field_is_named_not_only_the_first() -> None:
    fields = dict(BUSINESS_FIELDS, 成立日期="2018-02-30", 住所=" ", 颜色="红")
    fields.pop("类型")
    req = business_request(holder_name="", holder_id="91330106MA2B0XKH30", fields=fields,
                           valid_from=date(2030, 1, 1), valid_until=date(2029, 1, 1))  # fmt: skip
    errors = field_errors(req)
    assert set(errors) == {"holder_name", "holder_id", "成立日期", "住所", "类型", "颜色",
                           "valid_until"}  # fmt: skip
    assert "check character" in errors["holder_id"]
    assert "real date" in errors["成立日期"]


def test_an_unknown_type_is_the_only_error() -> None:
    assert set(field_errors(business_request(type_code="XX99"))) == {"type_code"}


def test_the_form_and_issuance_agree_on_every_request() -> None:
    """One set of field checks: a key with spaces around it (NFKC-folded) is the same field
    to both; a request the form accepts issuance accepts, and the first problem
    issuance names is one the form shows."""
    spelled = {f" {k}\u3000": v for k, v in BUSINESS_FIELDS.items()}  # spaces around (NFKC)
    good = business_request(fields=spelled)
    assert field_errors(good) == {}
    validate_request(good)  # accepted too
    bad = business_request(fields=dict(BUSINESS_FIELDS, 成立日期="2018-02-30", 颜色="红"))
    shown = field_errors(bad)
    try:
        validate_request(bad)
    except InvalidInputError as exc:
        assert exc.field in shown
    else:
        raise AssertionError("issuance accepted a request the form refuses")


def test_a_blank_optional_field_is_absent_at_a_form_and_an_error_elsewhere() -> None:
    business = get_licence_type("BL01")
    optional = replace(business.fields[0], required=False)
    ltype = replace(business, fields=(optional, *business.fields[1:]))
    values = dict(BUSINESS_FIELDS, **{optional.key: " "})
    cleaned, problems = ltype.check_fields(values, blank_is_absent=True)
    assert problems == {} and optional.key not in cleaned
    assert set(ltype.check_fields(values)[1]) == {optional.key}


def test_a_bad_holder_contact_is_named_both_at_once() -> None:
    req = business_request(holder_email="wang.example.cn", holder_phone="12ab")
    errors = field_errors(req)
    assert set(errors) == {"holder_email", "holder_phone"}, errors
    assert "e-mail address" in errors["holder_email"] and "phone number" in errors["holder_phone"]
    good = business_request(holder_email=" wang@example.cn ", holder_phone="138 0013 8000")
    assert field_errors(good) == {}
