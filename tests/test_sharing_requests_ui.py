"""Issue 22 point 5 at the people's interfaces: the CLI on both sides of a sharing request,
the desk's reviewer section in both languages, and the audit replay tracing every step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ledger_client.node import AnvilNode
from licence_service.region.runtime import Runtime
from tests.sharing_fixtures import (
    REGION_A,
    REGION_B,
    World,
    ask,
    decide,
    fetch,
    licence_of,
    serve_world,
    status_of,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    yield from serve_world(tmp_path_factory, anvil)


def test_the_cli_asks_reviews_and_fetches(world: World) -> None:
    """`licledger federation request|status|fetch` at B; `requests|approve|refuse` at A."""
    from typer.testing import CliRunner

    from licence_service.cli.main import app

    w = world
    x = licence_of(w.a)
    env = {"LICLEDGER_RPC_URL": w.a.settings.rpc_url,
           "LICLEDGER_CHAIN_PORT": str(w.a.settings.chain_port),
           "LICLEDGER_DIRECTORY_THRESHOLD": "2"}  # fmt: skip
    runner = CliRunner()

    def run(rt: Runtime, *args: str, code: int = 0) -> Any:
        res = runner.invoke(app, [*args, "--data-dir", str(rt.settings.home), "--json"], env=env)
        assert res.exit_code == code, res.output
        assert "Traceback" not in res.output
        return json.loads(res.output) if code == 0 else res.output

    at_a = ["--from", w.url, "--region", str(REGION_A)]
    asked = run(w.regions.b, "federation", "request", x, *at_a, "--purpose", "异地年检",
                "--field", "注册资本", "--requested-by", "clerk-b")  # fmt: skip
    assert (asked["state"], asked["fields"]) == ("PENDING", ["注册资本"])
    reviewer = w.reviewer["Authorization"].removeprefix("Bearer ")
    window = w.window["Authorization"].removeprefix("Bearer ")
    pending = run(w.a, "federation", "requests", "--token", reviewer)
    assert asked["id"] in [r["id"] for r in pending]
    denied = run(w.a, "federation", "approve", str(asked["id"]), "--token", window, code=2)
    assert "needs the sharing_reviewer role" in denied
    bad = run(w.a, "federation", "approve", str(asked["id"]), "--token", reviewer,
              "--cap", "0", code=2)  # fmt: skip
    assert "use_cap must be a number of releases" in bad
    approved = run(w.a, "federation", "approve", str(asked["id"]), "--token", reviewer,
                   "--cap", "1")  # fmt: skip
    assert (approved["state"], approved["use_cap"]) == ("APPROVED", 1)
    data = run(w.regions.b, "federation", "fetch", str(asked["id"]), *at_a)
    assert set(data["fields"]) == {"注册资本"}  # only what was asked for (least privilege)
    again = run(w.regions.b, "federation", "fetch", str(asked["id"]), *at_a, code=1)
    assert "refused:" in again and "all were made" in again
    status = run(w.regions.b, "federation", "status", str(asked["id"]), *at_a)
    assert status["uses"] == 1

    other = run(w.regions.b, "federation", "request", x, *at_a, "--purpose", "其他")
    refused_row = run(w.a, "federation", "refuse", str(other["id"]), "--token", reviewer,
                      "--reason", "无合法依据")  # fmt: skip
    assert refused_row["state"] == "REFUSED"
    nothing = run(w.regions.b, "federation", "fetch", str(other["id"]), *at_a, code=1)
    assert "it is refused" in nothing


def test_the_desk_shows_a_reviewer_the_requests_to_decide(world: World) -> None:
    w, b = world, world.regions.b
    x = licence_of(w.a)
    asked = ask(b, w, x, "异地核验经营资格", requested_by="clerk-b")
    with httpx.Client(base_url=w.url, timeout=60) as c:
        zh = c.get("/desk", headers=w.reviewer).text
        assert "其他地区的数据共享申请" in zh and f"approve-{asked['id']}" in zh
        assert "异地核验经营资格" in zh and "clerk-b" in zh
        en = c.get("/desk?lang=en", headers=w.reviewer).text
        assert "Sharing requests from other regions" in en
        assert "sharing-requests" not in c.get("/desk", headers=w.window).text  # not a reviewer
        path = f"/desk/sharing-requests/{asked['id']}/approve"
        bad = c.post(path, data={"use_cap": "two"}, headers=w.reviewer)
        assert bad.status_code == 422 and "use_cap must be a whole number" in bad.text
        assert c.post(path, data={"use_cap": "1"}, headers=w.window).status_code == 403
        done = c.post(path, data={"use_cap": "1"}, headers=w.reviewer, follow_redirects=False)
        assert done.status_code == 303
        assert f"approve-{asked['id']}" not in c.get("/desk", headers=w.reviewer).text
    assert status_of(b, w, asked["id"])["use_cap"] == 1


def test_the_audit_replay_traces_every_step(world: World) -> None:
    """Request, decision and each release are on the chain: the replay lists them all."""
    from licence_service.audit.replay import replay
    from licence_service.audit.summary import report_json

    w, b = world, world.regions.b
    x = licence_of(w.a)
    asked = ask(b, w, x, "审计追溯申请")
    assert decide(w, w.reviewer, asked["id"], "approve").status_code == 200
    receipt = fetch(b, w, x, "审计追溯申请", asked["id"])["receipt"]["hash"]
    rows = report_json(w.a, replay(w.a))["sharing"]
    steps = [r["event"] for r in rows if r.get("request") == asked["request_hash"]]
    assert steps == ["request requested", "request approved"]
    (release,) = [r for r in rows if r.get("receipt") == receipt]
    assert release["consent"] == asked["request_hash"] and release["to_region"] == REGION_B
