"""Load-and-fault section "issuance": concurrent keyed issuance on two `licledger serve`
instances × 2 workers on one PostgreSQL, with dropped connections, each request retried once.

Every client issues to distinct holders, each request with its own ``Idempotency-Key``
(``wait`` true: the request anchors). Every ``DROP_EVERY``-th first attempt gives up after
``DROP_AFTER`` seconds (a dropped connection while the server works). After any error or drop
the request is sent once more with the same key to the other instance. Then the database must
hold exactly one licence per holder, every key must have been answered with one licence, and
every licence must be anchored. ``run`` returns (and ``main`` prints) the figures; the test
(tests/test_exactly_once.py) runs it small, `licledger bench abuse` larger.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from bench.load import AGENCY, ISSUE, _anchored, _run
from bench.pg import pg_cluster
from bench.region import machine
from bench.verify_server import RATE_ENV, Region, free_port, licledger, serving
from licence_service.api.idempotency import IN_FLIGHT_WAIT
from licence_service.domain.national_ids import make_uscc
from licence_service.store.field_key import FieldKey
from licence_service.store.models import Licence, LicenceVersion

DROP_EVERY = 4
DROP_AFTER = 0.3


@dataclass
class Outcome:
    """What the clients saw (appended under a lock)."""

    latencies: list[float] = field(default_factory=list)
    answers: dict[str, set[str]] = field(default_factory=dict)  # key -> licence ids answered
    errors: list[str] = field(default_factory=list)  # final answers that were not 201
    retried: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def holder_id(client: int, n: int) -> str:
    """A distinct valid USCC per request."""
    return make_uscc("330106", f"MA{client:03d}{n:04d}")


def _post(c: httpx.Client, url: str, body: dict[str, Any], key: str, timeout: float) -> str:
    """The licence id of a 201, else raise with what came back."""
    r = c.post(f"{url}/api/v1/licences", json=body, headers={"Idempotency-Key": key},
               timeout=timeout)  # fmt: skip
    if r.status_code != 201:
        raise RuntimeError(f"{r.status_code} {r.text[:160]}")
    return str(r.json()["licence_id"])


def _client(
    n: int, urls: list[str], requests: int, headers: dict[str, str], out: Outcome
) -> None:  # fmt: skip
    with httpx.Client(headers=headers) as c:
        for i in range(requests):
            key = f"abuse-{n}-{i}-{os.getpid()}"
            body = {**ISSUE, "wait": True, "holder_id": holder_id(n, i)}
            first, other = urls[(n + i) % 2], urls[(n + i + 1) % 2]
            drop = (n * requests + i) % DROP_EVERY == 0
            started = time.monotonic()
            ids: list[str] = []
            try:
                ids.append(_post(c, first, body, key, DROP_AFTER if drop else 120.0))
            except (httpx.HTTPError, RuntimeError):
                with out.lock:
                    out.retried += 1
                try:  # the retry waits while the first attempt lives (IN_FLIGHT_WAIT)
                    ids.append(_post(c, other, body, key, IN_FLIGHT_WAIT + 60))
                except (httpx.HTTPError, RuntimeError) as exc:
                    with out.lock:
                        out.errors.append(f"{key}: {type(exc).__name__}: {exc}")
            with out.lock:
                out.latencies.append(time.monotonic() - started)
                out.answers[key] = set(ids)


def _replay_all(out: Outcome, urls: list[str], headers: dict[str, str]) -> None:
    """Ask every key once more (a late retry): it must answer the licence it answered."""
    with httpx.Client(headers=headers, timeout=60) as c:
        for n, key in enumerate(sorted(out.answers)):
            client, i = (int(part) for part in key.split("-")[1:3])
            body = {**ISSUE, "wait": True, "holder_id": holder_id(client, i)}
            try:
                out.answers[key].add(_post(c, urls[n % 2], body, key, 60.0))
            except (httpx.HTTPError, RuntimeError) as exc:
                out.errors.append(f"{key} replayed: {exc}")


def _holders(database_url: str) -> dict[str, int]:
    """Licences per holder, as recorded: by the holder ID's keyed hash (the ID is sealed)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Licence.holder_id_hash, func.count()).group_by(Licence.holder_id_hash)
            ).all()
    finally:
        engine.dispose()
    return {bytes(h).hex(): int(k) for h, k in rows if h is not None}


def _versions(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [str(i) for i in conn.scalars(select(LicenceVersion.identifier))]
    finally:
        engine.dispose()


def run(clients: int = 16, requests: int = 6, workers: int = 2) -> dict[str, Any]:
    """The scenario at ``clients`` × ``requests``; the figures and the exactly-once checks."""
    with tempfile.TemporaryDirectory(prefix="licledger-abuse-") as tmp, pg_cluster() as pg:
        home = Path(tmp) / "region"
        url = pg.create_database("abuse")
        env = {**os.environ, **RATE_ENV, "LICLEDGER_HOME": str(home),
               "LICLEDGER_CHAIN_PORT": str(free_port()), "LICLEDGER_DATABASE_URL": url}  # fmt: skip
        env.pop("LICLEDGER_RPC_URL", None)
        region = Region(home, env)
        out = Outcome()
        try:
            _run([*licledger(), "chain", "up"], env)
            _run([*licledger(), "init", "--json"], env)
            made = _run([*licledger(), "user", "add", "abuse-issuer", "--unit", AGENCY, "--role",
                         "issuer", "--token", "--json"], env)  # fmt: skip
            headers = {"Authorization": f"Bearer {json.loads(made)['token']}"}
            with serving(region, workers) as a, serving(region, workers) as b:
                started = time.monotonic()
                threads = [
                    threading.Thread(
                        target=_client, args=(n, [a.url, b.url], requests, headers, out)
                    )
                    for n in range(clients)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = time.monotonic() - started
                _replay_all(out, [a.url, b.url], headers)
                ids = [i for got in out.answers.values() for i in got]
                settled = _anchored(url, ids, 120)
            holders = _holders(url)
            recorded = _versions(url)
            key = FieldKey.for_home(home)
            expected = {key.holder_hash(holder_id(n, i)).hex()
                        for n in range(clients) for i in range(requests)}  # fmt: skip
        finally:
            _run([*licledger(), "chain", "down"], env)
    ms = sorted(x * 1000 for x in out.latencies)

    def pick(q: float) -> float | None:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1) if ms else None

    per_holder = Counter(holders.get(h, 0) for h in expected)
    answered = [got for got in out.answers.values()]
    return {
        "requests": clients * requests,
        "retried": out.retried,
        "errors": len(out.errors),
        "first_errors": out.errors[:3],
        "duplicates": sum(k - 1 for k in holders.values() if k > 1),
        "holders_without_licence": per_holder.get(0, 0),
        "keys_with_one_answer": sum(1 for got in answered if len(got) == 1),
        "keys_with_two_answers": sum(1 for got in answered if len(got) > 1),
        "answered_ids_recorded": all(i in set(recorded) for got in answered for i in got),
        "anchored": settled["anchored"],
        "licences": len(recorded),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "seconds": round(elapsed, 1),
        "conditions": {
            **machine(),
            "database": "PostgreSQL (throwaway cluster, fsync off)",
            "instances": 2,
            "workers_each": workers,
            "clients": clients,
            "requests_each": requests,
            "drop_every": DROP_EVERY,
            "drop_after_s": DROP_AFTER,
        },
    }


def exactly_once(figures: dict[str, Any]) -> bool:
    """No error, no duplicate, every holder one licence, every key one answer, all anchored."""
    n = figures["requests"]
    return bool(
        figures["errors"] == 0 and figures["duplicates"] == 0
        and figures["holders_without_licence"] == 0 and figures["licences"] == n
        and figures["keys_with_one_answer"] == n and figures["answered_ids_recorded"]
        and figures["anchored"] == n
    )  # fmt: skip


def section(_target: object = None, clients: int = 32, requests: int = 12) -> dict[str, Any]:
    """The section of `licledger bench abuse` (``SECTIONS`` entry ``(Target) -> dict``): it
    starts its own two instances on PostgreSQL, so the shared target is not used; place it
    before the section that kills the target. ``passed`` says whether it was exactly-once."""
    figures = run(clients, requests)
    return {**figures, "passed": exactly_once(figures)}


def main(clients: int = 32, requests: int = 12) -> dict[str, Any]:
    """The benchmark section: the scenario larger (still bounded); prints the figures."""
    figures = section(None, clients, requests)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return figures


if __name__ == "__main__":
    main()
