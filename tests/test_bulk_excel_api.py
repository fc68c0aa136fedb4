"""Issue 20 point 5 on a served region and a real chain: a workbook written by openpyxl (one
good row, one merged cell, one formula, one date typed as text) posted to
``POST /api/v1/imports`` with the results asked as .xlsx issues the good row and reports each
bad one with its row and column; the same rows posted again as GB18030 CSV bytes issue
nothing twice; each type's template downloads (API and desk) and the CLI writes it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from ledger_client.node import AnvilNode
from licence_service.cli.main import app as cli_app
from licence_service.domain.licence_types import get_licence_type
from licence_service.services.bulk_files import example_row, template_columns
from tests.people_fixtures import served_issuer

pytestmark = pytest.mark.e2e
BL01 = get_licence_type("BL01")
COLUMNS = template_columns(BL01)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, dict[str, str]]]:
    with served_issuer(tmp_path_factory.mktemp("excel-api"), anvil, "excel-issuer") as served:
        yield served


def _rows() -> list[dict[str, str]]:
    names = [
        "杭州䶮𠀀贸易有限公司",
        "杭州合并单元格有限公司",
        "杭州公式有限公司",
        "杭州文本日期有限公司",
    ]
    return [example_row(BL01) | {"holder_name": n} for n in names]


def _post(url: str, headers: dict[str, str], name: str, data: bytes, **form: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=300) as c:
        return c.post("/api/v1/imports", headers=headers, files={"file": (name, data)},
                      data={"type_code": "BL01", **form})  # fmt: skip


def test_a_workbook_issues_its_good_rows_and_a_gb18030_reimport_issues_none_twice(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, headers = server
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    for row in _rows():
        sheet.append([date.fromisoformat(row[c]) if c == "成立日期" else row[c] for c in COLUMNS])
    col = {c: i + 1 for i, c in enumerate(COLUMNS)}
    sheet.merge_cells(
        start_row=3, start_column=col["类型"], end_row=3, end_column=col["法定代表人"]
    )
    sheet.cell(4, col["注册资本"]).value = "=1+1"
    sheet.cell(5, col["成立日期"]).value = "2018年5月21日"
    path = tmp_path / "desk.xlsx"
    book.save(path)

    r = _post(url, headers, "desk.xlsx", path.read_bytes(), result_format="xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX, r.text
    result = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = [[c.value for c in row] for row in result.iter_rows(values_only=False)]
    assert rows[0] == ["row", "status", "licence_id", "pdf_url", "field", "error"]
    by_row = {row[0]: row for row in rows[1:]}
    assert by_row[2][1] == "issued" and str(by_row[2][3]).endswith("/pdf")
    for number, column in ((3, "类型"), (4, "注册资本"), (5, "成立日期")):
        assert by_row[number][1] == "error" and by_row[number][4] == column, by_row[number]
        assert str(by_row[number][5]).startswith(f"row {number}, column {column}")
    issued = by_row[2][2]

    out = io.StringIO()  # the same rows as Excel on Chinese Windows saves them: GB18030
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_rows())
    again = _post(url, headers, "desk.csv", out.getvalue().encode("gb18030"), encoding="gbk")
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["issued"], body["already_issued"], body["failed"]) == (3, 1, 0), body
    assert [r["licence_id"] for r in body["results"] if r["status"] == "already_issued"] == [issued]
    third = _post(url, headers, "desk.csv", out.getvalue().encode("gb18030"), result_format="csv")
    lines = list(csv.reader(io.StringIO(third.content.decode("utf-8-sig"))))
    assert [line[1] for line in lines[1:]] == ["already_issued"] * 4  # detected, none twice


def test_a_file_in_another_encoding_is_a_422_with_row_and_column(
    server: tuple[str, dict[str, str]],
) -> None:
    url, headers = server
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows(_rows()[:1])
    header, body = out.getvalue().split("\r\n", 1)
    data = header.encode() + b"\r\n" + body.replace("杭州", "Café ").encode("latin-1", "replace")
    r = _post(url, headers, "latin.csv", data)
    assert r.status_code == 422 and r.json()["detail"].startswith("row 2, column holder_name"), (
        r.text
    )


def test_templates_download_from_the_api_the_desk_and_the_cli(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, headers = server
    with httpx.Client(base_url=url, timeout=60) as c:
        xlsx = c.get("/api/v1/imports/templates/DL01.xlsx", headers=headers)
        plain = c.get("/api/v1/imports/templates/FP01.csv", headers=headers)
        wrong = c.get("/api/v1/imports/templates/FP01.txt", headers=headers)
        nobody = c.get("/api/v1/imports/templates/FP01.csv")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == template_columns(get_licence_type("DL01"))
    assert plain.status_code == 200 and plain.content.startswith(b"\xef\xbb\xbf")
    assert plain.content.decode("utf-8-sig").splitlines()[0] == ",".join(
        template_columns(get_licence_type("FP01"))
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "format"
    assert nobody.status_code == 401
    target = tmp_path / "bl01.xlsx"
    done = CliRunner().invoke(cli_app, ["import-template", "--type", "BL01", "-o", str(target)])
    assert done.exit_code == 0, done.output
    assert [c.value for c in openpyxl.load_workbook(target).worksheets[0][1]] == COLUMNS


def test_the_desk_links_every_types_templates(server: tuple[str, dict[str, str]]) -> None:
    url, headers = server
    with httpx.Client(base_url=url, timeout=60) as c:
        form = c.get("/desk/import", headers=headers)
        assert form.status_code == 200, form.text
        for code in ("BL01", "FP01", "DL01"):
            assert f"/desk/import/templates/{code}.xlsx" in form.text
        got = c.get("/desk/import/templates/FP01.xlsx", headers=headers)
    assert got.status_code == 200 and got.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == template_columns(get_licence_type("FP01"))
