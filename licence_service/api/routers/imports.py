"""Bulk issuance over HTTP: upload a CSV, every good row is issued and anchored.

The same pipeline as ``licledger import`` (one pass, both cores, resumable): posting the
same file again after a dropped connection issues only the rows not yet issued and
reports the others as ``already_issued``. For the caller's own agency only, like issuance.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from pydantic import BaseModel, Field

from licence_service.api.deps import Issuer, RuntimeDep, ensure_agency
from licence_service.api.schemas import ErrorOut
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import get_licence_type
from licence_service.services.bulk_files import TEMPLATE_FORMATS, table_xlsx, template
from licence_service.services.bulk_import import ImportOptions, RowResult, run_import

router = APIRouter(prefix="/imports", tags=["licences"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (401, 403, 413, 422, 503)
}
MAX_CSV_BYTES = 200 * 1024 * 1024


class RowOut(BaseModel):
    """One row's outcome; its PDF by download URL (``GET`` it with the same token), never by
    its place on the server's disk."""

    row: int
    status: str
    licence_id: str
    pdf_url: str = Field(description="/api/v1/licences/{licence_id}/pdf, or empty for errors")
    field: str
    error: str

    @classmethod
    def of(cls, r: RowResult) -> RowOut:
        url = f"/api/v1/licences/{r.licence_id}/pdf" if r.licence_id else ""
        return cls(row=r.row, status=r.status, licence_id=r.licence_id, pdf_url=url,
                   field=r.field, error=r.error)  # fmt: skip


class ImportOut(BaseModel):
    rows: int
    issued: int
    already_issued: int
    failed: int
    anchored: bool
    seconds: float
    licences_per_s: float
    results: list[RowOut]


def stored_upload(upload: UploadFile, folder: FilePath) -> FilePath:
    """Copy the upload into the data directory, named by its content (so a re-post of the
    same file is recognisably the same import)."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as tmp:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_CSV_BYTES:
                FilePath(tmp.name).unlink()
                raise InvalidInputError(
                    f"the CSV is larger than {MAX_CSV_BYTES // 2**20} MiB; split it or use "
                    "`licledger import` on the server",
                    field="file",
                )
            digest.update(chunk)
            tmp.write(chunk)
    path = folder / f"{digest.hexdigest()[:24]}.csv"  # read by its content, CSV or .xlsx
    shutil.move(tmp.name, path)
    return path


def template_response(name: str) -> Response:
    """``BL01.xlsx`` / ``BL01.csv``: that type's template (``services.bulk_files``)."""
    code, _, fmt = name.rpartition(".")
    if fmt not in TEMPLATE_FORMATS:
        raise InvalidInputError(
            f"ask for {code or name}.xlsx or {code or name}.csv", field="format"
        )
    ltype = get_licence_type(code)
    return Response(template(ltype, fmt), media_type=TEMPLATE_FORMATS[fmt],
                    headers={"Content-Disposition":
                             f"attachment; filename={ltype.code}-template.{fmt}"})  # fmt: skip


@router.get("/templates/{name}", responses=ERRORS,
            response_class=Response)  # fmt: skip
def template_endpoint(
    name: Annotated[str, Path(max_length=40, description="BL01.xlsx or BL01.csv")], _: Issuer
) -> Response:
    """A licence type's import template: its columns and one example row."""
    return template_response(name)


def _as_file(results: list[RowResult], fmt: str) -> Response:
    rows = [(r.row, r.status, r.licence_id, RowOut.of(r).pdf_url, r.field, r.error)
            for r in sorted(results, key=lambda r: r.row)]  # fmt: skip
    columns = ("row", "status", "licence_id", "pdf_url", "field", "error")
    if fmt == "xlsx":
        body = table_xlsx(columns, rows)
    else:
        out = io.StringIO()
        csv.writer(out).writerows([columns, *rows])
        body = out.getvalue().encode("utf-8-sig")
    disposition = f"attachment; filename=results.{fmt}"
    return Response(body, media_type=TEMPLATE_FORMATS[fmt],
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.post("", response_model=ImportOut, responses=ERRORS)
def import_endpoint(
    rt: RuntimeDep,
    person: Issuer,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx: "
                                     "holder_name, holder_id, [valid_from, valid_until,] then "
                                     "the type's field names")],
    type_code: Annotated[str, Form(description="Licence type code, e.g. BL01")],
    agency_code: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form(description="A CSV's: utf-8 or gb18030; "
                                         "default detected")] = None,
    result_format: Annotated[Literal["json", "csv", "xlsx"], Form(
        description="json (default), or the results as a csv or xlsx file")] = "json",
) -> Any:  # fmt: skip
    """Issue every row of the CSV (validated, signed, stored, anchored and confirmed).

    Rows with errors are reported with the field at fault; good rows are issued. The
    header is checked first: an unknown or missing column is a 422 naming it, nothing issued.
    """
    code = agency_code or person.agency_code
    ensure_agency(person, code, "the import asked for")
    path = stored_upload(file, rt.settings.home / "imports")
    results: list[RowResult] = []
    summary = run_import(rt, path, ImportOptions(type_code, code, encoding=encoding or None),
                         results.append)  # fmt: skip
    if result_format != "json":
        return _as_file(results, result_format)
    return {
        **{k: v for k, v in asdict(summary).items() if k != "extra"},
        "licences_per_s": summary.licences_per_s,
        "results": [RowOut.of(r) for r in results],
    }
