"""Bulk issuance over HTTP (issue 12, target 3): POST /api/v1/imports on a real uvicorn server
and a real anvil chain — issued and failed rows, a re-post that issues nothing twice, header
errors as 422 naming the column, and another agency's import refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.issue_data import write_csv
from ledger_client.node import AnvilNode
from licence_service.region.bootstrap import HEALTH_AGENCY
from tests.people_fixtures import served_issuer

pytestmark = pytest.mark.e2e
URL = "/api/v1/imports"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, dict[str, str]]]:
    with served_issuer(tmp_path_factory.mktemp("bulk-api"), anvil, "bulk-issuer") as served:
        yield served


def _post(url: str, headers: dict[str, str], path: Path, **form: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=300) as c, open(path, "rb") as fh:
        return c.post(URL, headers=headers, files={"file": (path.name, fh, "text/csv")},
                      data={"type_code": "BL01", **form})  # fmt: skip


def test_api_import_issues_good_rows_reports_bad_ones_and_never_twice(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, headers = server
    source = write_csv(tmp_path / "api.csv", 6, start=7000, bad={1: "holder_id"})
    first = _post(url, headers, source)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["issued"], body["failed"], body["already_issued"]) == (5, 1, 0)
    assert body["anchored"] is True
    bad = [r for r in body["results"] if r["status"] == "error"]
    assert [(r["row"], r["field"]) for r in bad] == [(3, "holder_id")]
    issued = {r["licence_id"] for r in body["results"] if r["status"] == "issued"}
    with httpx.Client(base_url=url, timeout=60) as c:
        one = c.get(f"/api/v1/licences/{sorted(issued)[0]}", headers=headers).json()
    assert one["versions"][0]["anchor_state"] == "anchored"

    again = _post(url, headers, source).json()
    assert (again["issued"], again["already_issued"], again["failed"]) == (0, 5, 1)
    assert {r["licence_id"] for r in again["results"] if r["status"] == "already_issued"} == issued


def test_api_import_header_error_and_other_agency(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, headers = server
    source = tmp_path / "header.csv"
    source.write_text("holder_name,holder_id,颜色\nx,y,z\n", encoding="utf-8")
    r = _post(url, headers, source)
    assert r.status_code == 422 and r.json()["field"] == "颜色", r.text
    other = _post(url, headers, write_csv(tmp_path / "ok.csv", 1, start=7100),
                  agency_code=HEALTH_AGENCY[0])  # fmt: skip
    assert other.status_code == 403
    anonymous = _post(url, {}, source)
    assert anonymous.status_code == 401
