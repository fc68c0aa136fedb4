"""What an agency's desk saves from Excel, read as the rows of one import.

- **CSV in UTF-8** (with or without the BOM Excel writes for "CSV UTF-8") or **GB18030/GBK**
  (what Excel on Chinese Windows writes for plain "CSV"): detected by decoding the whole file
  once (streamed, memory flat), UTF-8 first — a GB18030 file of Chinese text is almost never
  valid UTF-8 — or named by the caller (``--encoding``, the API's and the page's ``encoding``).
  GBK and GB2312 are read as GB18030, their superset. A file that is neither (Big5 bytes that
  GB18030 refuses, Latin-1, UTF-16) is refused naming the row and column of the first byte
  that does not decode, before anything is issued.
- **.xlsx** (recognised by its content, a zip, whatever its name; the first worksheet): read
  with openpyxl in full (the desk's sheets are small; millions of rows go as CSV). A merged
  cell, a formula, a date typed as text (or as a bare number) in a date column, and an ID
  typed as a number (Excel keeps 15 digits) are errors of their row naming the column and
  the cell; dates are ISO dates, whole numbers lose Excel's ``.0``.

Every row becomes the same values a CSV row does, so the row's content key (idempotency:
``bulk_csv.row_key``) is the same whether the rows come as CSV or .xlsx: nothing is issued
twice, whichever format a re-import uses.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import LicenceType
from licence_service.services.bulk_csv import (
    DATE_COLUMNS,
    CsvRow,
    Numbered,
    check_header,
    open_csv,
    read_rows,
    table_rows,
)

__all__ = ["ENCODINGS", "count_rows", "date_columns", "detect_encoding", "is_xlsx", "open_rows"]

ENCODINGS = {
    **dict.fromkeys(("utf-8", "utf8", "utf-8-sig"), "utf-8-sig"),
    **dict.fromkeys(("gb18030", "gbk", "gb2312", "cp936"), "gb18030"),
}
"""The encodings a CSV may be named with, and the codec each is read with."""
_CHUNK = 1 << 20
_ZIP = b"PK\x03\x04"


def is_xlsx(path: Path) -> bool:
    """An Office Open XML workbook (a zip) rather than text."""
    with open(path, "rb") as handle:
        return handle.read(4) == _ZIP


def _codec(named: str) -> str:
    codec = ENCODINGS.get(named.strip().lower())
    if codec is None:
        raise InvalidInputError(
            f"unknown encoding {named!r}; use utf-8 or gb18030 (gbk is read as gb18030), or "
            "leave it out to detect it",
            field="encoding",
        )
    return codec


def _first_bad_byte(path: Path, codec: str) -> int | None:
    """The offset of the first byte ``codec`` cannot decode, or None (one streamed pass)."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + max(0, exc.start)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset
    return None


def _where(path: Path, offset: int, codec: str, named: bool) -> InvalidInputError:
    """Row and column of the byte at ``offset`` (rows counted by line breaks, columns by
    commas, quotes aside: enough to find the cell)."""
    with open(path, "rb") as handle:
        before = handle.read(offset + 1)
    row = before.count(b"\n") + 1
    line = before[before.rfind(b"\n") + 1 :]
    column_no = line.count(b",") + 1
    header_bytes = before.split(b"\n", 1)[0] if row > 1 else b""
    names = next(csv.reader([header_bytes.decode(codec, "replace")]), []) if header_bytes else []
    column = names[column_no - 1].strip() if column_no <= len(names) else str(column_no)
    if row == 1:
        column, row_name, field = str(column_no), "row 1 (the header)", "header"
    else:
        row_name, field = f"row {row}", column
    name = {"utf-8-sig": "UTF-8", "gb18030": "GB18030"}[codec]
    what = f"{name} text, the encoding named" if named else "UTF-8 or GB18030 text"
    return InvalidInputError(
        f"{row_name}, column {column}: byte 0x{before[-1]:02X} at offset {offset} is not "
        f"{what}: the file is in another encoding. Save it from "
        'Excel as "CSV UTF-8" (or as .xlsx) and import it again; nothing was issued',
        field=field,
    )


def detect_encoding(path: Path, named: str | None = None) -> str:
    """The codec to read the CSV ``path`` with (``named``, or detected), or the error naming
    the row and column of the first byte that does not decode."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise InvalidInputError(
            'row 1, column 1: the file is UTF-16 (Excel\'s "Unicode text"); save it as '
            '"CSV UTF-8" or .xlsx and import it again; nothing was issued',
            field="file",
        )
    candidates = [_codec(named)] if named else ["utf-8-sig", "gb18030"]
    first_bad = None
    for codec in candidates:
        bad = _first_bad_byte(path, codec)
        if bad is None:
            return codec
        first_bad = (bad, codec) if first_bad is None or bad > first_bad[0] else first_bad
    assert first_bad is not None
    raise _where(path, *first_bad, named=bool(named))


def date_columns(ltype: LicenceType) -> frozenset[str]:
    """Columns that hold dates: the validity period and the type's date fields."""
    return frozenset(DATE_COLUMNS) | {f.key for f in ltype.fields if f.kind == "date"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell_problem(cell: Any, column: str, dates: frozenset[str], merged: str | None) -> str:
    """What is wrong with one cell for an import, or ''."""
    value = cell.value
    if merged:
        return f"part of the merged cells {merged}: unmerge them and give each cell its value"
    if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
        return f"a formula ({str(value)[:40]}): copy the column and paste it as values"
    if column in dates and value is not None and not isinstance(value, date):
        kind = "text" if isinstance(value, str) else "a number"
        return (f"a date typed as {kind} ({str(value)[:20]!r}): enter it as a date (format "
                "the cell as a date, e.g. 2026-03-01)")  # fmt: skip
    if column == "holder_id" and isinstance(value, int | float):
        return (
            "the ID is typed as a number, which Excel keeps to 15 digits: format the column "
            "as text and type it again"
        )
    return ""


def _xlsx_rows(path: Path, ltype: LicenceType) -> tuple[list[str], Numbered]:
    import openpyxl  # only an .xlsx import pays for loading it
    from openpyxl.utils import get_column_letter

    try:
        with open(path, "rb") as handle:  # by content: openpyxl refuses a name not .xlsx
            sheet = openpyxl.load_workbook(handle, data_only=False).worksheets[0]
    except Exception as exc:  # a zip that is no workbook: openpyxl raises many kinds
        raise InvalidInputError(f"the .xlsx file cannot be read: {exc}", field="file") from None
    merged = {(r, c): str(rng) for rng in sheet.merged_cells.ranges
              for r in range(rng.min_row, rng.max_row + 1)
              for c in range(rng.min_col, rng.max_col + 1)}  # fmt: skip
    header_cells = list(next(sheet.iter_rows(min_row=1, max_row=1), ()))
    while header_cells and header_cells[-1].value is None and (1, len(header_cells)) not in merged:
        header_cells.pop()
    for cell in header_cells:
        if (1, cell.column) in merged or cell.data_type == "f":
            raise InvalidInputError(
                f"row 1, cell {cell.coordinate}: the header must be plain text, one column name "
                "a cell (no merged cells or formulas); nothing was issued",
                field="header",
            )
    columns = check_header([_text(c.value) for c in header_cells], ltype)
    dates = date_columns(ltype)

    def numbered() -> Numbered:
        for row in sheet.iter_rows(min_row=2):
            number = row[0].row if row else 0
            cells, problem = [], None
            for index, cell in enumerate(row):
                if index >= len(columns):
                    if cell.value is not None and problem is None:
                        where = get_column_letter(index + 1)
                        problem = InvalidInputError(
                            f"row {number}, cell {cell.coordinate}: a value in column {where}, "
                            f"right of the header's {len(columns)} columns",
                            field=columns[-1],
                        )
                    continue
                column = columns[index]
                found = _cell_problem(cell, column, dates, merged.get((cell.row, cell.column)))
                if found and problem is None:
                    problem = InvalidInputError(
                        f"row {number}, column {column} (cell {cell.coordinate}): {found}",
                        field=column,
                    )
                cells.append(_text(cell.value))
            cells += [""] * (len(columns) - len(cells))
            yield number, cells, problem

    return columns, numbered()


@contextmanager
def open_rows(
    path: Path, ltype: LicenceType, agency_code: str, encoding: str | None = None
) -> Iterator[Iterator[CsvRow]]:
    """The import's rows from a CSV (in its encoding) or an .xlsx file; the header (and a
    CSV's encoding) is checked when this opens, before any row is read."""
    if is_xlsx(path):
        if encoding:
            _codec(encoding)  # a wrong name is still an error, though a workbook has none
        columns, numbered = _xlsx_rows(path, ltype)
        yield table_rows(columns, numbered, ltype, agency_code)
        return
    with open_csv(path, detect_encoding(path, encoding)) as handle:
        yield read_rows(handle, ltype, agency_code)


def count_rows(path: Path, encoding: str | None = None) -> int:
    """Data rows in the file (one streaming pass), for the progress bar's total and ETA; 0
    when it cannot be read (the import itself then reports why)."""
    try:
        if is_xlsx(path):
            import openpyxl

            with open(path, "rb") as handle:
                sheet = openpyxl.load_workbook(handle, read_only=True).worksheets[0]
                return max(0, (sheet.max_row or 1) - 1)
        with open_csv(path, detect_encoding(path, encoding)) as handle:
            return max(0, sum(1 for cells in csv.reader(handle) if any(cells)) - 1)
    except (InvalidInputError, OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError):
        return 0
