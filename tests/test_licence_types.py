"""Tests for the licence type catalogue and the demo applicant generator."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from licence_service.demo.applicants import DEMO_TYPE_CODES, demo_applications
from licence_service.domain.licence_types import (
    FieldSpec,
    FieldValidationError,
    LicenceType,
    LicenceTypeFileError,
    get_licence_type,
    load_licence_types,
)
from licence_service.domain.national_ids import (
    PROVINCE_NAMES,
    HolderIdType,
    validate_citizen_id,
    validate_holder_id,
)

TYPES = load_licence_types()
BUSINESS = TYPES["BL01"]
FOOD = TYPES["FP01"]
DRIVING = TYPES["DL01"]


def business_fields(**overrides: str) -> dict[str, str]:
    values = BUSINESS.example_fields()
    values.update(overrides)
    return values


# --------------------------------------------------------------------------------------
# the packaged catalogue
# --------------------------------------------------------------------------------------


def test_packaged_types_load() -> None:
    assert set(TYPES) == {"BL01", "FP01", "DL01"}
    assert (BUSINESS.name, FOOD.name, DRIVING.name) == (
        "营业执照",
        "食品经营许可证",
        "机动车驾驶证",
    )
    assert BUSINESS.holder_id_type is HolderIdType.USCC
    assert FOOD.holder_id_type is HolderIdType.USCC
    assert DRIVING.holder_id_type is HolderIdType.CITIZEN_ID
    assert BUSINESS.field_keys == ("类型", "法定代表人", "注册资本", "成立日期", "住所", "经营范围")
    assert "法定代表人（负责人）" in FOOD.field_keys
    assert DRIVING.field_keys == (
        "性别",
        "国籍",
        "住址",
        "出生日期",
        "初次领证日期",
        "准驾车型",
        "档案编号",
    )
    assert set(DRIVING.masked_fields) == {"住址", "出生日期", "档案编号"}
    assert load_licence_types() is not load_licence_types()  # callers get their own dict


@pytest.mark.parametrize("code", ["BL01", "FP01", "DL01"])
def test_every_type_is_consistent_and_its_examples_validate(code: str) -> None:
    licence_type = TYPES[code]
    assert all(spec.key == spec.label for spec in licence_type.fields)
    assert set(licence_type.shareable_fields) <= set(licence_type.field_keys)
    assert set(licence_type.masked_fields) <= set(licence_type.field_keys)
    assert licence_type.validity_years > 0
    examples = licence_type.example_fields()
    assert licence_type.validate_fields(examples) == examples


# --------------------------------------------------------------------------------------
# validate_fields
# --------------------------------------------------------------------------------------


def test_validate_fields_orders_by_spec_and_strips() -> None:
    given = dict(reversed(list(business_fields(注册资本="  500万元 ").items())))
    cleaned = BUSINESS.validate_fields(given)
    assert list(cleaned) == list(BUSINESS.field_keys)
    assert cleaned["注册资本"] == "500万元"


def test_missing_required_field() -> None:
    values = business_fields()
    del values["注册资本"]
    with pytest.raises(FieldValidationError) as info:
        BUSINESS.validate_fields(values)
    assert info.value.field == "注册资本"
    assert "required field 注册资本 is missing" in str(info.value)
    assert "--field 注册资本=VALUE" in str(info.value)


def test_several_missing_fields_are_all_named() -> None:
    with pytest.raises(FieldValidationError) as info:
        BUSINESS.validate_fields({"类型": "股份有限公司"})
    assert info.value.field == "法定代表人"
    assert "also missing: 注册资本, 成立日期, 住所, 经营范围" in str(info.value)


def test_unknown_field_lists_allowed_keys() -> None:
    with pytest.raises(FieldValidationError) as info:
        BUSINESS.validate_fields(business_fields(注册号="330100000000001"))
    assert info.value.field == "注册号"
    assert "unknown field '注册号'" in str(info.value)
    assert "类型, 法定代表人, 注册资本, 成立日期, 住所, 经营范围" in str(info.value)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_empty_value_is_rejected(blank: str) -> None:
    with pytest.raises(FieldValidationError) as info:
        BUSINESS.validate_fields(business_fields(住所=blank))
    assert info.value.field == "住所" and "is empty" in str(info.value)


def test_non_text_value_is_rejected() -> None:
    values: dict[str, Any] = business_fields()
    values["注册资本"] = 100
    with pytest.raises(FieldValidationError, match="must be text"):
        BUSINESS.validate_fields(values)


def test_date_fields_are_checked_and_normalised() -> None:
    assert BUSINESS.validate_fields(business_fields(成立日期="2018年5月1日"))["成立日期"] == (
        "2018-05-01"
    )
    for bad in ("2018-02-30", "2018/05/01", "昨天"):
        with pytest.raises(FieldValidationError) as info:
            BUSINESS.validate_fields(business_fields(成立日期=bad))
        assert info.value.field == "成立日期" and "YYYY-MM-DD" in str(info.value)


def test_half_width_parentheses_name_the_same_field() -> None:
    values = FOOD.example_fields()
    values["法定代表人(负责人)"] = values.pop("法定代表人（负责人）")
    assert "法定代表人（负责人）" in FOOD.validate_fields(values)
    values["法定代表人（负责人）"] = "张三"
    with pytest.raises(FieldValidationError, match="given twice"):
        FOOD.validate_fields(values)


def test_optional_fields_may_be_left_out() -> None:
    optional = LicenceType(
        code="T1",
        name="测试证",
        holder_id_type=HolderIdType.USCC,
        validity_years=1,
        fields=(FieldSpec("名称", "名称"), FieldSpec("备注", "备注", required=False)),
    )
    assert optional.validate_fields({"名称": "甲"}) == {"名称": "甲"}


def test_get_licence_type() -> None:
    assert get_licence_type("dl01") == DRIVING
    assert get_licence_type("BL01", TYPES) is BUSINESS
    with pytest.raises(FieldValidationError) as info:
        get_licence_type("XX99")
    assert info.value.field == "type_code" and "BL01 (营业执照)" in str(info.value)


# --------------------------------------------------------------------------------------
# loading a bad catalogue
# --------------------------------------------------------------------------------------


def write_catalogue(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "types.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "XX01",
        "name": "测试证",
        "holder_id_type": "uscc",
        "validity_years": 3,
        "fields": [{"key": "名称", "label": "名称"}],
    }
    base.update(overrides)
    return base


def test_custom_catalogue_loads(tmp_path: Path) -> None:
    types = load_licence_types(write_catalogue(tmp_path, [entry()]))
    assert types["XX01"].fields == (FieldSpec("名称", "名称"),)


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ("[{", ["not valid JSON at line 1"]),
        ({}, ["non-empty JSON list"]),
        ([entry(), entry(holder_id_type="passport")], ["entry #1 (code 'XX01')", "passport"]),
        ([entry(code="xx-1")], ["entry #0", "1-32 characters"]),
        ([entry(validity_years="5")], ["validity_years must be a positive integer"]),
        ([entry(validity_years=0)], ["validity_years"]),
        ([entry(colour="red")], ["unknown keys ['colour']"]),
        ([{"code": "XX01"}], ["missing keys ['name', 'holder_id_type'"]),
        ([entry(fields=[])], ["at least one field"]),
        ([entry(fields=[{"label": "名称"}])], ["fields[0] needs a non-empty string 'key'"]),
        ([entry(fields=[{"key": "a", "required": "yes"}])], ["required must be true or false"]),
        ([entry(fields=[{"key": "a", "kind": "number"}])], ["kind from"]),
        ([entry(fields=[{"key": "a"}, {"key": "a"}])], ["listed twice"]),
        ([entry(masked_fields=["住址"])], ["masked_fields names unknown fields ['住址']"]),
        ([entry(), entry()], ["entry #1", "used twice"]),
        (["oops"], ["entry #0", "must be an object"]),
    ],
)
def test_bad_catalogue_errors_name_file_and_entry(
    tmp_path: Path, data: Any, fragments: list[str]
) -> None:
    path = write_catalogue(tmp_path, data)
    with pytest.raises(LicenceTypeFileError) as info:
        load_licence_types(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_missing_catalogue_file(tmp_path: Path) -> None:
    with pytest.raises(LicenceTypeFileError, match="cannot read licence type file"):
        load_licence_types(tmp_path / "absent.json")


# --------------------------------------------------------------------------------------
# demo data
# --------------------------------------------------------------------------------------


def test_demo_applications_are_valid_and_cover_all_types() -> None:
    apps = demo_applications(20, "330106")
    assert len(apps) == 20
    assert {a.type_code for a in apps} == set(DEMO_TYPE_CODES)
    for app in apps:
        licence_type = TYPES[app.type_code]
        assert app.holder_id_type is licence_type.holder_id_type
        assert validate_holder_id(app.holder_id_type, app.holder_id) == app.holder_id
        assert licence_type.validate_fields(app.fields) == app.fields
        assert app.holder_name
        province_digits = app.holder_id[2:4] if app.holder_id_type == "uscc" else app.holder_id[:2]
        assert province_digits == "33"


def test_demo_applications_are_deterministic() -> None:
    assert demo_applications(20, "330106") == demo_applications(20, "330106", seed=7)
    assert demo_applications(20, "330106", seed=8) != demo_applications(20, "330106")
    assert demo_applications(5, "330106") == demo_applications(20, "330106")[:5]
    assert demo_applications(0, "330106") == []


def test_demo_people_are_self_consistent() -> None:
    drivers = [a for a in demo_applications(30, "440305") if a.type_code == "DL01"]
    assert drivers
    for app in drivers:
        birth = date.fromisoformat(app.fields["出生日期"])
        assert app.holder_id[6:14] == f"{birth:%Y%m%d}"
        male = int(app.holder_id[16]) % 2 == 1
        assert app.fields["性别"] == ("男" if male else "女")
        assert app.fields["初次领证日期"] > app.fields["出生日期"]
        assert app.fields["住址"].startswith("广东省")


def test_demo_company_names_look_real() -> None:
    companies = [a for a in demo_applications(12, "330106") if a.holder_id_type == "uscc"]
    assert all(a.holder_name.endswith("有限公司") for a in companies)
    assert all(a.holder_id.startswith("9133") for a in companies)
    assert len({a.holder_name for a in companies}) == len(companies)


@pytest.mark.parametrize("prefix", sorted(PROVINCE_NAMES))
def test_demo_data_works_for_every_province(prefix: str) -> None:
    for app in demo_applications(3, prefix + "0000", seed=1):
        assert TYPES[app.type_code].validate_fields(app.fields) == app.fields
        assert validate_holder_id(app.holder_id_type, app.holder_id) == app.holder_id
        if app.holder_id_type is HolderIdType.CITIZEN_ID:
            assert validate_citizen_id(app.holder_id)[:2] == prefix


def test_demo_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        demo_applications(-1, "330106")
    with pytest.raises(ValueError):
        demo_applications(3, "999999")
