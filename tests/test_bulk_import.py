"""Bulk issuance (issue 12, target 3): `licledger import` as a user runs it, on its own anvil
chain — good and bad rows, header errors, a real crash (the process group is SIGKILLed
mid-import) and the re-run that finishes the file without issuing anything twice."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.issue_data import HEADER, holder_id, row, write_csv
from ledger_client.node import AnvilNode
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.licence_types import get_licence_type
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.services.bulk_csv import check_header
from licence_service.services.bulk_import import STALL_ENV
from licence_service.store.models import Licence
from signing.pdf_metadata import read_metadata
from tests.service_fixtures import region_runtime
from tests.test_cli import EXE, Cli
from tests.test_document import _run
from verifier.engine import METADATA_FILE

pytestmark = pytest.mark.e2e

ROWS = 24
BAD = {2: "holder_id", 5: "成立日期", 9: "法定代表人", 13: "too_long"}
FIELD = {"too_long": "row"}  # the face cannot be laid out: the row is at fault, not one field


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Cli:
    """The CLI on a region of the session's anvil node (set up in-process: quicker)."""
    c = Cli(tmp_path_factory.mktemp("bulk-home"), tmp_path_factory.mktemp("bulk-cwd"))
    region_runtime(c.home, anvil)
    c.env |= {"LICLEDGER_RPC_URL": anvil.config.rpc_url}
    return c


def _results(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _db(cli: Cli) -> sqlite3.Connection:
    return sqlite3.connect(cli.home / "licledger.db")


def _licences(cli: Cli) -> int:
    with _db(cli) as db:
        return int(db.execute("select count(*) from licence").fetchone()[0])


def _wait_for_issued(path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if path.exists() and sum(r["status"] == "issued" for r in _results(path)) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{count} rows were not issued in time")


def test_import_crash_and_resume_issues_every_good_row_exactly_once(
    cli: Cli, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "licences.csv", ROWS, start=500, bad=BAD)
    results = tmp_path / "first.csv"
    args = ["import", str(source), "--type", "BL01", "--chunk", "4", "--results", str(results)]
    # a real crash: the whole process group (CLI and its workers) is SIGKILLed once the
    # stall hook holds the import after >= 8 recorded rows, with later chunks in flight
    proc = subprocess.Popen(
        [EXE, *args, "--data-dir", str(cli.home), "--no-progress"],
        env={**cli.env, STALL_ENV: "8"}, cwd=cli.cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_issued(results, 8, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    first = _results(results)
    issued_first = {r["licence_id"] for r in first if r["status"] == "issued"}
    assert len(issued_first) >= 8 and _licences(cli) == len(issued_first)

    again = tmp_path / "second.csv"
    done = cli.json(*args[:-1], str(again))
    rows = _results(again)
    good = ROWS - len(BAD)
    assert done["rows"] == ROWS and done["failed"] == len(BAD) and done["anchored"]
    assert done["already_issued"] == len(issued_first)
    assert done["issued"] == good - len(issued_first)
    assert {r["licence_id"] for r in rows if r["status"] == "already_issued"} == issued_first
    # nothing twice: one licence per good row, each identifier once, every leaf anchored
    assert _licences(cli) == good
    with _db(cli) as db:
        assert (
            db.execute("select count(distinct holder_id_hash) from licence").fetchone()[0] == good
        )
        assert db.execute("select count(*) from outbox where state != 'anchored'").fetchone() == (
            0,
        )
    errors = {int(r["row"]): r["field"] for r in rows if r["status"] == "error"}
    # line numbers (header = 1), each with the field at fault
    assert errors == {i + 2: FIELD.get(field, field) for i, field in BAD.items()}
    assert all(r["error"] for r in rows if r["status"] == "error")

    # a third run issues nothing at all (and shows the progress bar: rate, ETA, summary)
    third = cli.run(*args[:-1], str(tmp_path / "third.csv"))
    assert "rows/s" in third.stderr and "eta" in third.stderr and f"{ROWS}/{ROWS}" in third.stderr
    assert f"0 issued, {good} already issued, {len(BAD)} failed" in third.stderr
    assert _licences(cli) == good

    # every issued PDF is a real licence: signed, anchored, VALID for the verifier
    pdfs = [Path(r["pdf"]) for r in rows if r["status"] == "issued"][:2]
    assert cli.json("verify", str(pdfs[0]))["verdict"] == "VALID"
    _check_documents(pdfs, tmp_path)


def _check_documents(pdfs: list[Path], tmp_path: Path) -> None:
    """Valid for poppler's pdfsig, font embedded as a subset, watermark and holder on the
    page, and each file with its own QR payload."""
    tokens = set()
    for path in pdfs:
        data = path.read_bytes()
        assert "Signature is Valid" in _run("pdfsig", data, tmp_path)
        fonts = _run("pdffonts", data, tmp_path).splitlines()[2:]
        assert fonts and all(" yes yes yes " in row for row in fonts), fonts
        text = _run("pdftotext", data, tmp_path, "-raw")
        metadata = read_metadata(data, METADATA_FILE)
        flat = text.replace("\n", "")
        assert metadata["holder_name"] in text and "仅供办理政务服务事项时使用" in flat
        tokens.add(metadata["qr_token"])
    assert len(tokens) == len(pdfs)


def test_unknown_or_missing_column_is_refused_before_anything_is_issued(
    cli: Cli, tmp_path: Path
) -> None:
    ltype = get_licence_type("BL01")
    full = ["holder_name", "holder_id", *ltype.field_keys]
    for header, named in (
        ([*full, "颜色"], "颜色"),
        (full[:-1], full[-1]),
        ([c for c in full if c != "holder_id"], "holder_id"),
        ([*full, "holder_name"], "holder_name"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            check_header(header, ltype)
        assert refused.value.field == named and named in str(refused.value)
    # and as a user sees it: exit 2, the column named, nothing issued
    source = tmp_path / "bad-header.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*full, "颜色"])
        writer.writerow(["x"] * (len(full) + 1))
    before = _licences(cli)
    proc = cli.run("import", str(source), "--type", "BL01", "--no-progress", check=2)
    assert "颜色" in proc.stderr and "unknown column" in proc.stderr
    assert _licences(cli) == before


def test_a_row_repeated_in_a_later_chunk_is_a_row_error_not_a_crash(
    cli: Cli, tmp_path: Path
) -> None:
    """The same row twice, chunks apart (the first still rendering): one licence, and the
    repeat is a row error naming the first row, never a raw unique-key failure."""
    source = write_csv(tmp_path / "twice.csv", 6, start=900)
    lines = source.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    before = _licences(cli)
    results = tmp_path / "twice-results.csv"
    done = cli.json("import", str(source), "--type", "BL01", "--chunk", "2",
                    "--results", str(results))  # fmt: skip
    assert (done["rows"], done["issued"], done["failed"]) == (7, 6, 1)
    assert _licences(cli) == before + 6
    (repeat,) = [r for r in _results(results) if r["status"] == "error"]
    assert repeat["row"] == "8" and "same content as row 2" in repeat["error"]


def test_holder_contact_columns_are_checked_per_row_and_kept(cli: Cli, tmp_path: Path) -> None:
    """The optional holder_email / holder_phone columns (where the expiry reminders go): a bad
    one is that row's error naming the column (the row not issued); a good one is kept."""
    ltype = get_licence_type("BL01")
    contacts = [("qinghe@example.cn", "13800138000"), ("not-an-address", ""),
                ("", "12ab"), ("", "")]  # fmt: skip
    source = tmp_path / "contacts.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, [*HEADER, "holder_email", "holder_phone", *ltype.field_keys])
        writer.writeheader()
        for i, (email, phone) in enumerate(contacts):
            writer.writerow(row(700 + i) | {"holder_email": email, "holder_phone": phone})
    results = tmp_path / "contacts-results.csv"
    done = cli.json("import", str(source), "--type", "BL01", "--results", str(results))
    assert (done["rows"], done["issued"], done["failed"]) == (4, 2, 2), done
    errors = {r["row"]: r for r in _results(results) if r["status"] == "error"}
    assert errors["3"]["field"] == "holder_email" and "holder_email" in errors["3"]["error"]
    assert errors["4"]["field"] == "holder_phone" and "phone number" in errors["4"]["error"]
    rt = Runtime(load_settings(cli.home))
    with rt.sessions() as s:
        kept = {lic.holder_id: (lic.holder_email, lic.holder_phone)
                for lic in s.scalars(select(Licence))}  # fmt: skip
    assert kept[holder_id(700)] == ("qinghe@example.cn", "13800138000")
    assert kept[holder_id(703)] == (None, None)
    assert holder_id(701) not in kept and holder_id(702) not in kept
