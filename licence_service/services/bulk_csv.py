"""Reading a bulk-import CSV: the header checked before anything is issued, rows streamed.

The file is never held in memory: rows are yielded one by one, so an import of millions of
paper licences (存量证照) runs in the same memory as one of ten. Each row becomes an
:class:`IssueRequest` (or the error naming its field) plus a content key, the idempotency
key that lets a re-run of the same file skip the rows already issued.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import LicenceType
from licence_service.services.issue import IssueRequest

CORE_COLUMNS = ("holder_name", "holder_id")
DATE_COLUMNS = ("valid_from", "valid_until")
# How the reminders reach the holder (``IssueRequest.holder_email``/``holder_phone``): optional,
# checked per row (an error names the column), kept in the licence row only, sealed at rest.
CONTACT_COLUMNS = ("holder_email", "holder_phone")
OPTIONAL_COLUMNS = DATE_COLUMNS + CONTACT_COLUMNS


@dataclass(frozen=True)
class CsvRow:
    """One data row: its 1-based line number in the file (header = line 1) and its request."""

    number: int
    key: bytes
    request: IssueRequest | None
    error: InvalidInputError | None = None


def open_csv(path: Path, encoding: str = "utf-8-sig") -> IO[str]:
    """Open as UTF-8 (a BOM from Excel is accepted) or the named encoding (see
    ``bulk_sheet.detect_encoding``), or an error naming the file."""
    try:
        return open(path, encoding=encoding, newline="")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}", field="file") from None


def check_header(header: list[str] | None, ltype: LicenceType) -> list[str]:
    """The columns, or an error naming the first unknown, missing or repeated one."""
    if not header:
        raise InvalidInputError(
            "the CSV file is empty: its first line must be the header "
            f"({', '.join(CORE_COLUMNS + ltype.field_keys)})",
            field="header",
        )
    columns = [c.strip() for c in header]
    known = set(CORE_COLUMNS + OPTIONAL_COLUMNS + ltype.field_keys)
    seen: set[str] = set()
    for column in columns:
        if column not in known:
            raise InvalidInputError(
                f"unknown column {column!r} for {ltype.name} ({ltype.code}); the columns are "
                f"{', '.join(CORE_COLUMNS)}, optional {', '.join(OPTIONAL_COLUMNS)}, and the "
                f"type's fields {', '.join(ltype.field_keys)}",
                field=column,
            )
        if column in seen:
            raise InvalidInputError(f"column {column!r} appears twice", field=column)
        seen.add(column)
    required = list(CORE_COLUMNS) + [s.key for s in ltype.fields if s.required]
    for column in required:
        if column not in seen:
            raise InvalidInputError(
                f"missing column {column!r}: a {ltype.name} ({ltype.code}) import needs "
                f"{', '.join(required)}",
                field=column,
            )
    return columns


def row_key(type_code: str, agency_code: str, values: dict[str, str]) -> bytes:
    """The idempotency key: the same row (whatever its position or file) is issued once."""
    canonical = json.dumps(
        [type_code, agency_code, sorted(values.items())], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _date(values: dict[str, str], name: str) -> date | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{name} {text!r} is not a date like 2026-03-01", name) from None


def _request(values: dict[str, str], ltype: LicenceType, agency_code: str) -> IssueRequest:
    fields = {k: v for k, v in values.items() if k in ltype.field_keys and v != ""}
    return IssueRequest(
        type_code=ltype.code,
        holder_name=values.get("holder_name", ""),
        holder_id=values.get("holder_id", ""),
        fields=fields,
        valid_from=_date(values, "valid_from"),
        valid_until=_date(values, "valid_until"),
        agency_code=agency_code,
        holder_email=values.get("holder_email") or None,
        holder_phone=values.get("holder_phone") or None,
    )


Numbered = Iterator[tuple[int, list[str], InvalidInputError | None]]
"""Data rows of any sheet: row number, cells as text, and a problem the reader found."""


def read_rows(handle: IO[str], ltype: LicenceType, agency_code: str) -> Iterator[CsvRow]:
    """Check the header (raises before any row is yielded), then yield every data row."""
    reader = csv.reader(handle)
    try:
        columns = check_header(next(reader, None), ltype)
    except UnicodeDecodeError:
        raise InvalidInputError("the CSV file is not UTF-8 text", field="file") from None
    try:
        yield from table_rows(
            columns, ((reader.line_num, cells, None) for cells in reader), ltype, agency_code
        )
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"the CSV file is not UTF-8 text after line {reader.line_num}", field="file"
        ) from None
    except csv.Error as exc:
        raise InvalidInputError(f"the CSV file is malformed: {exc}", field="file") from None


def table_rows(
    columns: list[str], numbered: Numbered, ltype: LicenceType, agency_code: str
) -> Iterator[CsvRow]:
    """Each data row of a checked header's table (CSV or spreadsheet) as a request or the
    error naming its column."""
    for number, cells, problem in numbered:
        if not any(c.strip() for c in cells):
            continue  # blank line
        values = {c: v.strip() for c, v in zip(columns, cells, strict=False)}
        key = row_key(ltype.code, agency_code, values)
        if problem is None and len(cells) != len(columns):
            problem = InvalidInputError(
                f"row has {len(cells)} cells, the header has {len(columns)} columns",
                field=columns[min(len(cells), len(columns) - 1)],
            )
        if problem is not None:
            yield CsvRow(number, key, None, problem)
            continue
        try:
            yield CsvRow(number, key, _request(values, ltype, agency_code))
        except InvalidInputError as exc:
            yield CsvRow(number, key, None, exc)
