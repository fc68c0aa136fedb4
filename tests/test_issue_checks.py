"""The issue form's server-side checks (issue 10): every bad field of a request at once, with
the same rules as issuance (the licence type's field specs, the ID numbers' check characters),
so the form can show each error beside its input."""

from __future__ import annotations

from datetime import date

from licence_service.domain.licence_types import get_licence_type
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
