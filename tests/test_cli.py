"""The `licledger` command as a user runs it: its own chain, restarts, exit codes, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chain_fixtures import free_port
from tests.service_fixtures import BUSINESS_FIELDS, HOLDER_USCC

EXE = str(Path(sys.executable).parent / "licledger")


class Cli:
    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.port = free_port()
        self.env = {
            **os.environ,
            "LICLEDGER_CHAIN_PORT": str(self.port),
            "LICLEDGER_API_PORT": str(free_port()),
        }
        self.env.pop("LICLEDGER_HOME", None)
        self.first_init: dict = {}

    def run(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [EXE, *args, "--data-dir", str(self.home)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        if check is not None:
            assert proc.returncode == check, (args, proc.stdout, proc.stderr)
        return proc

    def json(self, *args: str, check: int | None = 0) -> dict:
        return json.loads(self.run(*args, "--json", check=check).stdout)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    cwd = tmp_path_factory.mktemp("elsewhere")  # the CLI works from any current directory
    c = Cli(tmp_path_factory.mktemp("cli-home"), cwd)
    c.run("chain", "up")
    c.first_init = c.json("init")
    yield c
    c.run("chain", "down", check=None)


def issue_args() -> list[str]:
    args = ["issue", "--type", "BL01", "--holder-name", "杭州青禾科技有限公司"]
    args += ["--holder-id", HOLDER_USCC]
    for k, v in BUSINESS_FIELDS.items():
        args += ["--field", f"{k}={v}"]
    return args


def test_issue_verify_revoke_and_survive_a_chain_restart(cli: Cli, tmp_path: Path) -> None:
    kept = cli.json(*issue_args())
    gone = cli.json(*issue_args())
    for doc in (kept, gone):
        assert doc["anchored"] and doc["tx_hash"].startswith("0x") and Path(doc["pdf"]).exists()
        assert doc["version"] == 1 and len(doc["document_digest"]) == 64
    result = cli.json("verify", kept["pdf"])
    assert result["verdict"] == "VALID"
    assert {"verdict", "licence_id", "version", "issuer", "checks"} <= set(result)
    assert all({"name", "ok", "detail"} <= set(ch) for ch in result["checks"])

    tampered = tmp_path / "tampered.pdf"
    data = bytearray(Path(kept["pdf"]).read_bytes())
    data[len(data) // 3] ^= 0x04
    tampered.write_bytes(bytes(data))
    assert cli.json("verify", str(tampered), check=1)["verdict"] != "VALID"

    revoked = cli.json("revoke", gone["licence_id"], "--reason", "违法经营")
    assert revoked["status"] == "REVOKED"
    assert cli.json("verify", gone["pdf"], check=1)["verdict"] == "REVOKED"
    human = cli.run("verify", gone["pdf"], check=1)
    assert "REVOKED" in human.stdout

    status = cli.json("chain", "status")
    height = status["block_number"]
    cli.run("chain", "down")
    down = cli.run("verify", kept["pdf"], check=2)
    assert "not reachable" in down.stderr and "chain up" in down.stderr
    cli.run("chain", "up")
    assert cli.json("chain", "status")["block_number"] >= height
    assert cli.json("verify", kept["pdf"])["verdict"] == "VALID"
    assert cli.json("verify", gone["pdf"], check=1)["verdict"] == "REVOKED"
    assert cli.json("verify", "--qr", _qr_of(cli, kept["licence_id"]))["verdict"] == "VALID"


def _qr_of(cli: Cli, licence_id: str) -> str:
    import sqlite3

    db = sqlite3.connect(cli.home / "licledger.db")
    (payload,) = db.execute(
        "select qr_payload from licence_version where identifier = ?", (licence_id,)
    ).fetchone()
    db.close()
    return str(payload)


def test_errors_are_one_line_with_exit_code_2(cli: Cli) -> None:
    missing = cli.run("verify", "/nonexistent/file.pdf", check=2)
    assert "cannot read" in missing.stderr
    bad = cli.run(*[a if a != HOLDER_USCC else "91330106MA2B0XKH35" for a in issue_args()], check=2)
    assert "holder_id" in bad.stderr and "check character" in bad.stderr
    no_field = cli.run(
        "issue", "--type", "BL01", "--holder-name", "x", "--holder-id", HOLDER_USCC, check=2
    )
    assert "required" in no_field.stderr or "missing" in no_field.stderr
    neither = cli.run("verify", check=2)
    assert "either" in neither.stderr
    assert cli.run("verify", "--qr", "LL1.nope", check=2).returncode == 2
    assert cli.run("revoke", "1.2.156.3005.2.BL01.X.1.001.A", "--reason", "x", check=2)


def test_lifecycle_commands(cli: Cli) -> None:
    from datetime import UTC, datetime, timedelta

    doc = cli.json(*issue_args())
    lid = doc["licence_id"]
    v2 = cli.json("amend", lid, "--field", "注册资本=300万元", "--reason", "增资")
    assert v2["version"] == 2 and v2["anchored"]
    old = cli.json("verify", doc["pdf"], check=1)
    assert old["verdict"] == "SUPERSEDED"
    anchored_at = old["anchored_at"]
    at = (datetime.fromisoformat(anchored_at)).isoformat()
    assert cli.json("verify", doc["pdf"], "--at", at)["verdict"] == "VALID"
    assert cli.json("suspend", v2["licence_id"], "--reason", "整改")["status"] == "SUSPENDED"
    assert cli.json("verify", v2["pdf"], check=1)["verdict"] == "SUSPENDED"
    assert cli.json("reinstate", v2["licence_id"], "--reason", "完成")["status"] == "ACTIVE"
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    copy = cli.json(
        "copy",
        v2["licence_id"],
        "--purpose",
        "银行开户",
        "--recipient",
        "某银行",
        "--valid-until",
        until,
    )
    assert copy["copy_id"].endswith("/C001")
    shown = cli.json("verify", copy["pdf"])
    assert shown["verdict"] == "VALID" and shown["extra"]["attachment"]["purpose"] == "银行开户"
    assert (
        cli.run("check", lid, "--field", "注册资本", "--value", "300万元").stdout.strip() == "true"
    )
    assert (
        cli.run("check", lid, "--field", "注册资本", "--value", "1万元", check=1).stdout.strip()
        == "false"
    )
    history = cli.json("history", lid)
    assert len(history["versions"]) == 2 and history["attachments"][0]["kind"] == "COPY"
    bad = cli.run("reinstate", v2["licence_id"], "--reason", "x", check=2)
    assert "ACTIVE" in bad.stderr and "cannot become" in bad.stderr
    too_long = (datetime.now(UTC).date() + timedelta(days=120)).isoformat()
    refused = cli.run(
        "copy", lid, "--purpose", "开户", "--recipient", "某行", "--valid-until", too_long, check=2
    )
    assert "90 days" in refused.stderr


def test_init_creates_the_region_administrator_once_and_user_commands(cli: Cli) -> None:
    admin = cli.first_init["admin"]
    assert admin["username"] == "admin" and admin["roles"] == ["region_admin"]
    assert admin["token"].startswith("llt_") and len(admin["password"]) >= 16
    assert "admin" not in cli.json("init")  # credentials are shown once, on the first run
    again = cli.run("init")
    assert admin["token"] not in again.stdout and "admin" not in again.stdout

    agency = cli.first_init["agency_code"]
    added = cli.json("user", "add", "li-issuer", "--unit", agency, "--role", "issuer", "--token")
    assert added["unit"] == f"agency:{agency}" and added["roles"] == ["issuer"]
    assert added["password"] and added["token"].startswith(f"llt_{added['token_prefix']}_")
    people = {p["username"]: p for p in cli.json("user", "list")}
    assert set(people) == {"admin", "li-issuer"} and people["li-issuer"]["state"] == "active"
    human = cli.run("user", "list").stdout
    assert "li-issuer" in human and added["password"] not in human

    issued = cli.json("user", "token", "issue", "li-issuer", "--days", "7", "--label", "laptop")
    tokens = {t["prefix"]: t for t in cli.json("user", "token", "list", "li-issuer")}
    assert set(tokens) == {added["token_prefix"], issued["token_prefix"]}
    assert issued["token"] not in cli.run("user", "token", "list").stdout
    cli.json("user", "token", "revoke", issued["token_prefix"])
    tokens = {t["prefix"]: t["state"] for t in cli.json("user", "token", "list", "li-issuer")}
    assert tokens == {added["token_prefix"]: "active", issued["token_prefix"]: "revoked"}
    assert cli.json("user", "disable", "li-issuer")["disabled"] is True

    bad_role = cli.run("user", "add", "x-1", "--unit", agency, "--role", "boss", check=2)
    assert "unknown role" in bad_role.stderr and "[roles]" in bad_role.stderr
    bad_unit = cli.run("user", "add", "x-2", "--unit", "region", "--role", "issuer", check=2)
    assert "cannot hold issuer" in bad_unit.stderr
    taken = cli.run("user", "add", "admin", "--unit", "region", "--role", "region_admin", check=2)
    assert "taken" in taken.stderr
    assert "no token" in cli.run("user", "token", "revoke", "ffffffffff", check=2).stderr


def test_joint_review_from_the_cli_needs_two_people_of_the_two_agencies(cli: Cli) -> None:
    from licence_service.region.bootstrap import HEALTH_AGENCY
    from tests.security.fixtures import FP01

    cli.json("init", "--agency-code", HEALTH_AGENCY[0], "--agency-name", HEALTH_AGENCY[1])
    market = cli.first_init["agency_code"]
    tokens = {
        name: cli.json("user", "add", f"cr-{name}", "--unit", unit, "--role", "issuer",
                       "--token")["token"]
        for name, unit in (("market", market), ("health", HEALTH_AGENCY[0]))
    }  # fmt: skip
    args = ["issue", "--type", "FP01", "--holder-name", "杭州沐阳超市有限公司"]
    args += ["--holder-id", HOLDER_USCC]
    for k, v in FP01["fields"].items():  # type: ignore[attr-defined]
        args += ["--field", f"{k}={v}"]
    doc = cli.json(*args)
    review = cli.json("cancel", doc["licence_id"], "--reason", "申请注销")["review_id"]
    first = cli.json("approve", str(review), "--token", tokens["market"])
    assert first["status"] == "PENDING_REVIEW"
    again = cli.run("approve", str(review), "--token", tokens["market"], check=2)
    assert "already approved" in again.stderr
    assert "invalid" in cli.run("approve", str(review), "--token", "llt_x", check=2).stderr
    assert cli.json("verify", doc["pdf"])["verdict"] == "VALID"
    done = cli.json("approve", str(review), "--token", tokens["health"])
    assert done["status"] == "CANCELLED"
    assert cli.json("verify", doc["pdf"], check=1)["verdict"] == "CANCELLED"
