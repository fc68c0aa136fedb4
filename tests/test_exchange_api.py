"""The exchange over HTTP and the CLI (issue 22, point 6): region B pages A's feed and
snapshot and manages its push subscriptions at A with signed requests to A's real server;
a region sees and ends only its own subscriptions; bad input is a 422 naming the field; the
older ``since`` form of the feed still answers its callers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ledger_client.node import AnvilNode
from licence_service.cli.main import app as cli_app
from licence_service.federation.client import RemoteError, call
from licence_service.federation.sync import (
    first_sync,
    pull_changes,
    remote_subscribe,
    remote_subscriptions,
    remote_unsubscribe,
)
from licence_service.services import issue_licence
from tests.federation_fixtures import Consortium, build_consortium
from tests.security.http_server import serve
from tests.service_fixtures import business_request

pytestmark = pytest.mark.e2e  # a real server on loopback
A = 330100
HOOK = "http://127.0.0.1:9/push"  # never called here: nothing is delivered in these tests


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Consortium:
    root = tmp_path_factory.mktemp("exchange-api")
    return build_consortium(root, anvil.config.rpc_url, anvil.config.port)


@pytest.fixture(scope="module")
def a_url(consortium: Consortium) -> Iterator[str]:
    with serve(consortium.a) as url:
        yield url


def test_first_sync_then_paged_feed_over_http(consortium: Consortium, a_url: str) -> None:
    a, b = consortium.a, consortium.b
    before = [issue_licence(a, business_request(), wait=False).licence_id for _ in range(3)]
    synced = first_sync(b, a_url, A, "BL01", limit=2)
    assert {e["licence_id"] for e in synced["snapshot"]} >= set(before)
    after = [issue_licence(a, business_request(), wait=False).licence_id for _ in range(3)]
    page = pull_changes(b, a_url, A, "BL01", synced["cursor"], limit=2)
    assert [e["licence_id"] for e in page["items"]] == after[:2] and page["more"]
    rest = pull_changes(b, a_url, A, "BL01", page["cursor"], limit=2)
    assert [e["licence_id"] for e in rest["items"]] == after[2:] and not rest["more"]
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    old = call(b, a_url, "GET", "/api/v1/federation/changes",
               params={"type": "BL01", "since": since}, to_region=A)  # fmt: skip
    assert isinstance(old, list) and {e["licence_id"] for e in old} >= set(before + after)
    for params, field in (({"type": "BL01", "cursor": "abc"}, "cursor"),
                          ({"type": "BL01", "limit": "0"}, "limit")):  # fmt: skip
        with pytest.raises(RemoteError) as caught:
            call(b, a_url, "GET", "/api/v1/federation/changes", params=params, to_region=A)
        assert caught.value.status_code == 422 and field in str(caught.value)
    unsigned = httpx.get(f"{a_url}/api/v1/federation/snapshot", params={"type": "BL01"})
    assert unsigned.status_code == 401


def test_subscriptions_are_each_regions_own(consortium: Consortium, a_url: str) -> None:
    b, c = consortium.b, consortium.c
    made = remote_subscribe(b, a_url, A, HOOK, "BL01", "", "0")
    assert made["region"] == 440300 and made["cursor"] == "0" and made["active"]
    assert [s["id"] for s in remote_subscriptions(b, a_url, A)] == [made["id"]]
    assert remote_subscriptions(c, a_url, A) == []  # C sees nothing of B's
    with pytest.raises(RemoteError) as caught:
        remote_unsubscribe(c, a_url, A, made["id"])  # nor ends it
    assert caught.value.status_code == 404
    for body, field in (({"url": "ftp://x", "type": "BL01"}, "url"),
                        ({"url": HOOK, "type": "BL01", "cursor": "x"}, "cursor"),
                        ({"url": HOOK, "type": "NOPE"}, "type")):  # fmt: skip
        with pytest.raises(RemoteError) as caught:
            call(b, a_url, "POST", "/api/v1/federation/subscriptions", body, to_region=A)
        assert caught.value.status_code == 422 and field in str(caught.value), caught.value
    ended = remote_unsubscribe(b, a_url, A, made["id"])
    assert not ended["active"] and remote_subscriptions(b, a_url, A) == []


def _cli(home: Path, anvil: AnvilNode, *args: str) -> tuple[int, str]:
    env = {"LICLEDGER_RPC_URL": anvil.config.rpc_url, "LICLEDGER_EMBEDDED_CHAIN": "false"}
    got = CliRunner().invoke(cli_app, [*args, "--data-dir", str(home)], env=env)
    return got.exit_code, got.output


def test_cli_subscribes_lists_and_ends(
    consortium: Consortium, a_url: str, anvil: AnvilNode
) -> None:
    a_home, b_home = consortium.a.settings.home, consortium.b.settings.home
    code, text = _cli(b_home, anvil, "exchange", "subscribe", "--region", str(A), "--from",
                      a_url, "--url", HOOK, "--type", "BL01", "--json")  # fmt: skip
    assert code == 0, text
    made = json.loads(text)
    code, text = _cli(a_home, anvil, "exchange", "subscriptions", "--json")  # A: held here
    assert code == 0 and [s["id"] for s in json.loads(text)] == [made["id"]], text
    code, text = _cli(b_home, anvil, "exchange", "changes", "--region", str(A), "--from",
                      a_url, "--type", "BL01", "--cursor", "abc")  # fmt: skip
    assert code == 2 and "cursor" in text and "Traceback" not in text
    code, text = _cli(b_home, anvil, "exchange", "unsubscribe", str(made["id"]), "--region",
                      str(A), "--from", a_url)  # fmt: skip
    assert code == 0 and f"#{made['id']}" in text, text
    code, text = _cli(a_home, anvil, "exchange", "subscriptions")
    assert code == 0 and "no subscriptions" in text
