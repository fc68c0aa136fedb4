"""One region on the session's anvil node with two agencies' genuine, anchored licences and a
use-specific copy: the material every hostile shape is made from (package scope: one region
for the whole corpus, once per crypto suite: ``intl`` and ``sm``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledger_client.node import AnvilNode
from licence_service.anchoring.worker import AnchorWorker
from licence_service.region.bootstrap import DEFAULT_AGENCY, HEALTH_AGENCY, init_region
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence
from licence_service.services.attachments import make_copy
from signing.pades import SignerConfig, sign_pdf
from signing.pdf_metadata import read_metadata
from tests.hostile.corpus import Licence, Shape, Sources, pdf_corpus, qr_corpus
from tests.security.http_server import serve
from tests.service_fixtures import business_request, region_runtime
from verifier.engine import METADATA_FILE

A1, A2 = DEFAULT_AGENCY[0], HEALTH_AGENCY[0]


def _licence(pdf: bytes) -> Licence:
    return Licence(pdf, str(read_metadata(pdf, METADATA_FILE)["qr_token"]))


def _signer(rt: Runtime, code: str):  # type: ignore[no-untyped-def]
    def sign(pdf: bytes) -> bytes:
        return sign_pdf(pdf, SignerConfig(credentials=rt.agency_credentials(code)))

    return sign


@pytest.fixture(scope="package", params=["intl", "sm"])
def hostile_region(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Runtime:
    # the corpus is posted to the API in one burst: no rate limit in the way
    home = tmp_path_factory.mktemp(f"hostile-{request.param}")
    rt = region_runtime(home, anvil, crypto=request.param, verify_burst=100_000)
    init_region(rt, agency_code=A2, agency_name=HEALTH_AGENCY[1])
    return rt


@pytest.fixture(scope="package")
def served(hostile_region: Runtime) -> Iterator[str]:
    """The region's app on a real uvicorn server on loopback."""
    with serve(hostile_region) as url:
        yield url


@pytest.fixture(scope="package")
def sources(hostile_region: Runtime) -> Sources:
    rt = hostile_region
    own = issue_licence(rt, business_request())
    other = issue_licence(rt, business_request(agency_code=A2))
    until = (datetime.now(UTC) + timedelta(days=10)).date()
    copy = make_copy(rt, own.licence_id, "银行开户", "某银行", until)
    AnchorWorker(rt).flush()
    assert copy.pdf_path is not None
    own_pdf, other_pdf = own.pdf_path.read_bytes(), other.pdf_path.read_bytes()
    with open(copy.pdf_path, "rb") as fh:
        copy_licence = _licence(fh.read())
    return Sources(
        own=_licence(own_pdf),
        other=_licence(other_pdf),
        copy_token=copy_licence.token,
        sign_as_agency=_signer(rt, A1),
        sign_as_other=_signer(rt, A2),
        other_key=rt.agency_credentials(A2).key,
        own_meta=read_metadata(own_pdf, METADATA_FILE),
        other_meta=read_metadata(other_pdf, METADATA_FILE),
    )


@pytest.fixture(scope="package")
def pdf_shapes(sources: Sources) -> list[Shape]:
    return pdf_corpus(sources)


@pytest.fixture(scope="package")
def qr_shapes(sources: Sources) -> list[tuple[Shape, datetime | None]]:
    return qr_corpus(sources)
