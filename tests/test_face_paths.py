"""Issue 25, points 4 and 5 on every path: a face that cannot be laid out (a 5,000-character
holder name) is a 422 with one message from the API, the desk's issue form and an import
row, with nothing issued; a rare name issued through the API reads back from its PDF."""

from __future__ import annotations

import csv
import html
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pypdf
import pytest
from sqlalchemy import func, select

from bench.issue_data import write_csv
from ledger_client.node import AnvilNode
from licence_service.domain.national_ids import HolderIdType
from licence_service.people.identity import PersonRole
from licence_service.region.bootstrap import DEFAULT_AGENCY
from licence_service.region.runtime import Runtime
from licence_service.services.face_checks import face_layout_error
from licence_service.store.models import Licence
from tests.browser.conftest import sign_in_http
from tests.people_fixtures import bearer, person_token, served_region
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

pytestmark = pytest.mark.e2e

LONG_NAME = "杭州" * 2500  # 5,000 characters


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, Runtime, dict[str, str]]]:
    with served_region(tmp_path_factory.mktemp("face-paths"), anvil) as (url, rt):
        token = person_token(rt, "face-issuer", DEFAULT_AGENCY[0], PersonRole.ISSUER)
        yield url, rt, bearer(token)


def _licences(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count(Licence.id))) or 0)


def _expected() -> str:
    label = HolderIdType.USCC.label
    error = face_layout_error(LONG_NAME, label, HOLDER_USCC, BUSINESS_FIELDS)
    assert error is not None and error.field == "holder_name"
    return str(error)


def test_a_face_too_long_is_a_422_with_one_message_on_every_path(
    server: tuple[str, Runtime, dict[str, str]], tmp_path: Path
) -> None:
    url, rt, headers = server
    message = _expected()
    before = _licences(rt)
    body = {"type_code": "BL01", "holder_name": LONG_NAME, "holder_id": HOLDER_USCC,
            "fields": BUSINESS_FIELDS}  # fmt: skip
    with httpx.Client(base_url=url, timeout=120) as c:
        api = c.post("/api/v1/licences", json=body, headers=headers)
        assert api.status_code == 422, api.text
        assert message in api.text

        token = sign_in_http(c, "face-issuer")
        fields = {f"field:{k}": v for k, v in BUSINESS_FIELDS.items()}
        form = {"csrf_token": token, "type_code": "BL01", "holder_name": LONG_NAME,
                "holder_id": HOLDER_USCC, **fields}  # fmt: skip
        page = c.post("/desk/issue", data=form)
        assert page.status_code == 422, page.text[:500]
        assert html.escape(message, quote=True) in page.text or message in page.text

        source = write_csv(tmp_path / "rows.csv", 2, start=9100)
        with open(source, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        rows[0]["holder_name"] = LONG_NAME
        with open(source, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with open(source, "rb") as fh:
            imported = c.post("/api/v1/imports", headers=headers, data={"type_code": "BL01"},
                              files={"file": ("rows.csv", fh, "text/csv")})  # fmt: skip
        assert imported.status_code == 200, imported.text
        result = imported.json()
        assert (result["issued"], result["failed"]) == (1, 1)
        (bad,) = [r for r in result["results"] if r["status"] == "error"]
        assert bad["row"] == 2 and bad["error"] == message
    assert _licences(rt) == before + 1  # only the import's good row


def test_a_rare_name_issued_through_the_api_reads_back_from_its_pdf(
    server: tuple[str, Runtime, dict[str, str]],
) -> None:
    url, _rt, headers = server
    name = "𠮷𪚥𠀀科技有限公司"
    body = {"type_code": "BL01", "holder_name": name, "holder_id": HOLDER_USCC,
            "fields": BUSINESS_FIELDS}  # fmt: skip
    with httpx.Client(base_url=url, timeout=120) as c:
        issued = c.post("/api/v1/licences", json=body, headers=headers)
        assert issued.status_code == 201, issued.text
        pdf = c.get(f"/api/v1/licences/{issued.json()['licence_id']}/pdf", headers=headers)
        refused = c.post("/api/v1/licences", json={**body, "holder_name": "王\u202e明"},
                         headers=headers)  # fmt: skip
    text = pypdf.PdfReader(BytesIO(pdf.content)).pages[0].extract_text().replace("\n", "")
    assert name in text
    assert refused.status_code == 422 and "U+202E" in refused.text
