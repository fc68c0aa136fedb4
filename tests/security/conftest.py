"""Each attack module gets a consortium of its own (module scope): region A with two agencies,
region B with one, on the test session's anvil node. A module runs on a mixed consortium too
(B on the ``sm`` suite) with ``pytestmark = BOTH_SUITES``, or with A, the issuer, on ``sm``
with ``pytestmark = ISSUER_ON_BOTH_SUITES``."""

from __future__ import annotations

import pytest

from ledger_client.node import AnvilNode
from tests.security.trust_fixtures import Regions, build_regions


@pytest.fixture(scope="module")
def regions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Regions:
    param = getattr(request, "param", "intl")  # B's suite, or (A's suite, B's suite)
    crypto_a, crypto_b = param if isinstance(param, tuple) else ("intl", param)
    name = f"{request.module.__name__.rsplit('.', 1)[-1]}-{crypto_a}-{crypto_b}"
    return build_regions(tmp_path_factory.mktemp(name), anvil, crypto_b=crypto_b, crypto_a=crypto_a)
