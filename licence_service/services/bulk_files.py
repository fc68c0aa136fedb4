"""Files the desk downloads around an import: each licence type's template (.xlsx and CSV:
its columns and one example row) and an import's results as .xlsx.

The templates are what ``bulk_sheet`` reads back without an error: the CSV is UTF-8 with a
BOM (Excel on any Windows opens it as Unicode), the .xlsx has the date columns as real date
cells and the ID column formatted as text, so a filled-in template imports as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date

from licence_service.domain.licence_types import LicenceType
from licence_service.domain.national_ids import HolderIdType, make_citizen_id
from licence_service.services.bulk_csv import CORE_COLUMNS, OPTIONAL_COLUMNS
from licence_service.services.bulk_sheet import date_columns

__all__ = ["TEMPLATE_FORMATS", "example_row", "table_xlsx", "template", "template_columns"]

TEMPLATE_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_EXAMPLE_COMPANY = ("杭州青禾科技有限公司", "91330106MA2B0XKH34")


def template_columns(ltype: LicenceType) -> list[str]:
    """The import's columns for ``ltype``: holder, the optional validity and holder contact
    (e-mail, phone: where the expiry reminders go), the type's fields."""
    return [*CORE_COLUMNS, *OPTIONAL_COLUMNS, *ltype.field_keys]


def example_row(ltype: LicenceType) -> dict[str, str]:
    """One row that imports as it is (validity left to the type's default; an example
    contact, which the desk replaces or clears)."""
    row = {f.key: f.example for f in ltype.fields}
    name, holder_id = _EXAMPLE_COMPANY
    if ltype.holder_id_type is HolderIdType.CITIZEN_ID:  # born when the example says, if it does
        born = date.fromisoformat(row.get("出生日期") or "1990-03-07")
        name, holder_id = "王小明", make_citizen_id("330106", born, 451)
    contact = {"holder_email": "contact@example.cn", "holder_phone": "13800138000"}
    return {"holder_name": name, "holder_id": holder_id, "valid_from": "", "valid_until": ""} | (
        contact | row
    )


def table_xlsx(
    columns: Sequence[str], rows: Iterable[Sequence[object]], dates: Iterable[str] = ()
) -> bytes:
    """A one-sheet workbook: bold header, ``dates`` columns as date cells (ISO text in them
    becomes a date), ``holder_id`` and ``holder_phone`` as text, widths fitted."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(columns))
    date_set = set(dates)
    for row in rows:
        cells: list[object] = []
        for column, value in zip(columns, row, strict=False):
            if column in date_set and isinstance(value, str) and value:
                cells.append(date.fromisoformat(value))
            else:
                cells.append(value)
        sheet.append(cells)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}1"].font = Font(bold=True)
        width = max(len(str(c.value or "")) for c in sheet[letter]) * 2 + 2
        sheet.column_dimensions[letter].width = min(60, width)
        for cell in sheet[letter][1:]:
            if column in date_set:
                cell.number_format = "yyyy-mm-dd"
            elif column in ("holder_id", "holder_phone"):
                cell.number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template(ltype: LicenceType, fmt: str) -> bytes:
    """``ltype``'s import template as ``fmt`` (csv or xlsx)."""
    columns = template_columns(ltype)
    example = example_row(ltype)
    values = [example.get(c, "") for c in columns]
    if fmt == "xlsx":
        return table_xlsx(columns, [values], date_columns(ltype))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow(values)
    return out.getvalue().encode("utf-8-sig")
