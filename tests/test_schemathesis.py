"""Schemathesis against the OpenAPI document of the running app: no operation answers 500.

Every operation of /api/v1/openapi.json is fuzzed with generated requests (schema-valid ones
and schema-violating ones) sent to a real uvicorn server on loopback, with real people's
tokens (an agency person holding all agency roles; the region administrator on the people
and consortium routes) so protected routes run past authentication. Bounded: two examples
per operation and mode (141 requests over 41 operations, ~56 s at load 15 on 2 cores); the
counts are printed.
503/504 (chain or set-up unavailable) are answers, not crashes. It found a 500: a region code
too big for the directory's uint32 (now a 422 naming the field).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import suppress

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from ledger_client.node import AnvilNode
from licence_service.people.identity import UNIT_ROLES, PersonRole, UnitKind
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from tests.people_fixtures import bearer, person_token, served_region
from tests.service_fixtures import business_request

EXAMPLES = 2  # per operation, generation mode and person
BUDGET_S = 150.0  # a hard bound on the loop (56 s measured on a machine at load 15 on 2 cores)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[tuple[str, Runtime]]:
    home = tmp_path_factory.mktemp("fuzz-region")
    limits = {"verify_rate_per_minute": 1e6, "verify_burst": 10**6}
    with served_region(home, anvil, **limits) as (url, rt):
        issue_licence(rt, business_request())  # something for the lookups to find
        yield url, rt


def _fuzz(
    op: schemathesis.APIOperation, mode: GenerationMode, url: str, headers: dict[str, str]
) -> tuple[int, list[str]]:
    """Send a few generated requests for ``op``; returns how many and the 5xx answers."""
    sent, failures = 0, []

    @settings(
        max_examples=EXAMPLES, database=None, deadline=None, derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        response = case.call(base_url=url, headers={**dict(case.headers or {}), **headers},
                             timeout=30)  # fmt: skip
        sent += 1
        if response.status_code >= 500 and response.status_code not in (503, 504):
            failures.append(
                f"{response.status_code} {case.method} {case.formatted_path} {mode.name}: "
                f"{response.text[:300]}"
            )

    with suppress(Unsatisfiable):  # the schema admits no (negative) request here
        run()
    return sent, failures


def rt_agency(rt: Runtime) -> str:
    with rt.sessions() as s:
        return rt.agency(s).code


def test_no_operation_answers_500(server: tuple[str, Runtime]) -> None:
    url, rt = server
    agency = rt_agency(rt)
    tokens = [  # a person of the agency with all its roles; the region administrator for the
        # people and consortium routes
        bearer(person_token(rt, "fuzz-staff", agency, *UNIT_ROLES[UnitKind.AGENCY])),
        bearer(person_token(rt, "fuzz-admin", "region", PersonRole.REGION_ADMIN)),
    ]
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 20, "the OpenAPI document lists too few operations"
    failures: list[str] = []
    sent = 0
    started = time.monotonic()
    for op in operations:
        admin_route = op.path.startswith(("/api/v1/people", "/api/v1/regions"))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            count, found = _fuzz(op, mode, url, tokens[1] if admin_route else tokens[0])
            sent += count
            failures += found
    seconds = time.monotonic() - started
    print(f"schemathesis: {len(operations)} operations, {sent} requests in {seconds:.1f} s")
    assert seconds < BUDGET_S, f"the run took {seconds:.0f} s"
    assert sent >= len(operations) * 2, f"only {sent} requests were sent"
    assert not failures, "\n".join(sorted(set(failures))[:20])
