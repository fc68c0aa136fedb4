"""Issue 20 point 5, Excel at the desk, the readers (no chain): real files — CSV as UTF-8 with
and without BOM and as GB18030 bytes (with a character only GB18030 has), workbooks written
by openpyxl — read to the same rows with the same content keys; a file in another encoding,
a merged cell, a formula, a date typed as text and an ID typed as a number are errors naming
the row and the column; each type's template reads back without an error."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import LicenceType, get_licence_type, load_licence_types
from licence_service.services.bulk_csv import CsvRow
from licence_service.services.bulk_files import example_row, template, template_columns
from licence_service.services.bulk_sheet import count_rows, detect_encoding, open_rows
from licence_service.services.issue import holder_contact

pytestmark = pytest.mark.unit

BL01 = get_licence_type("BL01")
AGENCY = "11330100002489458U"
COLUMNS = template_columns(BL01)
RARE = "杭州䶮𠀀贸易有限公司"  # 䶮 (U+4DAE) and 𠀀 (U+20000): in GB18030, not in GBK


def _rows(n: int = 3) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        row = example_row(BL01) | {"法定代表人": f"王晓{'东南西北'[i % 4]}"}
        out.append(row | ({"holder_name": RARE} if i == 0 else {}))
    return out


def _csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")  # as Excel writes it
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _xlsx(path: Path, rows: list[dict[str, str]]) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append([date.fromisoformat(row[c]) if c == "成立日期" else row[c] for c in COLUMNS])
    book.save(path)
    return book


def _read(path: Path, encoding: str | None = None) -> list[CsvRow]:
    with open_rows(path, BL01, AGENCY, encoding) as rows:
        return list(rows)


def _good(rows: list[CsvRow]) -> list[tuple[int, bytes]]:
    assert all(r.error is None for r in rows), [r.error for r in rows]
    return [(r.number, r.key) for r in rows]


def test_utf8_with_and_without_bom_gb18030_and_xlsx_are_the_same_rows(tmp_path: Path) -> None:
    text = _csv_text(_rows())
    files = {
        "utf8.csv": text.encode("utf-8"),
        "bom.csv": text.encode("utf-8-sig"),
        "gb.csv": text.encode("gb18030"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    _xlsx(tmp_path / "sheet.xlsx", _rows())
    (tmp_path / "sheet.xlsx").rename(tmp_path / "named-wrongly.csv")  # known by its content
    assert detect_encoding(tmp_path / "gb.csv") == "gb18030"
    assert detect_encoding(tmp_path / "bom.csv") == "utf-8-sig"
    keys = {name: _good(_read(tmp_path / name)) for name in [*files, "named-wrongly.csv"]}
    assert len(set(map(tuple, keys.values()))) == 1, keys  # one content key per row, any format
    first = _read(tmp_path / "gb.csv")[0].request
    assert first is not None and first.holder_name == RARE
    assert first.fields["成立日期"] == example_row(BL01)["成立日期"]
    assert _good(_read(tmp_path / "gb.csv", "gbk")) == keys["gb.csv"]  # GBK named: GB18030 read
    assert count_rows(tmp_path / "gb.csv") == count_rows(tmp_path / "named-wrongly.csv") == 3


def _error(path: Path, encoding: str | None = None) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        _read(path, encoding)
    return caught.value


def test_another_encoding_is_refused_naming_row_and_column(tmp_path: Path) -> None:
    rows = _rows()
    rows[1]["法定代表人"] = "José Müller"
    latin = tmp_path / "latin1.csv"  # é then a comma: neither UTF-8 nor GB18030
    header, body = _csv_text(rows).split("\r\n", 1)  # a header in UTF-8, the rows in Latin-1
    latin.write_bytes(header.encode() + b"\r\n" + body.encode("latin-1", "replace"))
    error = _error(latin)
    assert error.field == "法定代表人" and str(error).startswith("row 3, column 法定代表人:")
    assert "nothing was issued" in str(error)

    gb = tmp_path / "gb.csv"
    gb.write_bytes(_csv_text(_rows()).encode("gb18030"))
    error = _error(gb, "utf-8")  # the wrong encoding named: refused, not misread
    first_chinese = COLUMNS.index(BL01.field_keys[0]) + 1  # 类型, in GB18030 bytes
    assert str(error).startswith(f"row 1 (the header), column {first_chinese}:"), error
    assert "the encoding named" in str(error) and error.field == "header"

    utf16 = tmp_path / "unicode.txt"
    utf16.write_bytes(_csv_text(_rows()).encode("utf-16"))
    assert "UTF-16" in str(_error(utf16))
    assert _error(gb, "big5").field == "encoding"


def test_merged_cells_formulas_and_text_dates_are_row_and_column_errors(tmp_path: Path) -> None:
    path = tmp_path / "desk.xlsx"
    book = _xlsx(path, _rows(6))
    sheet = book.active
    assert sheet is not None
    col = {c: i + 1 for i, c in enumerate(COLUMNS)}
    sheet.merge_cells(
        start_row=3, start_column=col["类型"], end_row=3, end_column=col["法定代表人"]
    )
    sheet.cell(4, col["注册资本"]).value = '=CONCAT("100","万元")'
    sheet.cell(5, col["成立日期"]).value = "2018/5/21"  # a date typed as text
    sheet.cell(6, col["holder_id"]).value = 913301061234567  # an ID typed as a number
    sheet.cell(7, col["成立日期"]).value = 43241  # a date shown as a bare number
    sheet.cell(7, col["成立日期"]).number_format = "General"
    book.save(path)
    rows = {r.number: r for r in _read(path)}
    assert rows[2].error is None
    expected = {
        3: ("类型", "merged cells"),
        4: ("注册资本", "a formula"),
        5: ("成立日期", "a date typed as text"),
        6: ("holder_id", "typed as a number"),
        7: ("成立日期", "a date typed as a number"),
    }
    for number, (column, what) in expected.items():
        error = rows[number].error
        assert error is not None and rows[number].request is None, number
        assert error.field == column and what in str(error), str(error)
        assert str(error).startswith(f"row {number}, column {column} (cell "), str(error)


def test_a_merged_header_is_refused_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "header.xlsx"
    book = _xlsx(path, _rows(1))
    sheet = book.active
    assert sheet is not None
    sheet.merge_cells("A1:B1")
    book.save(path)
    assert _error(path).field == "header"


def test_the_templates_offer_the_holder_contact_columns() -> None:
    assert {"holder_email", "holder_phone"} <= set(COLUMNS)
    example = example_row(BL01)
    assert "@" in example["holder_email"] and example["holder_phone"].isdigit()
    book = openpyxl.load_workbook(io.BytesIO(template(BL01, "xlsx")))
    sheet = book.worksheets[0]
    phone = sheet.cell(row=2, column=COLUMNS.index("holder_phone") + 1)
    assert phone.number_format == "@" and phone.value == example["holder_phone"]  # as text


@pytest.mark.parametrize("code", sorted(load_licence_types()))
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_each_types_template_imports_as_it_is(tmp_path: Path, code: str, fmt: str) -> None:
    lt: LicenceType = get_licence_type(code)
    path = tmp_path / f"template.{fmt}"
    path.write_bytes(template(lt, fmt))
    with open_rows(path, lt, AGENCY) as rows:
        (row,) = list(rows)
    assert row.error is None and row.request is not None, row.error
    assert holder_contact(row.request) == (example_row(lt)["holder_email"], "13800138000")
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(path).worksheets[0]
        assert [c.value for c in sheet[1]] == template_columns(lt)
        dates = {c.column for c in sheet[2] if isinstance(c.value, date)}
        assert len(dates) == sum(f.kind == "date" for f in lt.fields)  # date cells
    else:
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
