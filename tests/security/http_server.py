"""A region's app on a real uvicorn server on loopback, in a thread of the test process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from licence_service.api.app import create_app
from licence_service.region.runtime import Runtime
from tests.chain_fixtures import free_port
from tests.people_fixtures import serving


@contextmanager
def serve(rt: Runtime, background: bool = False) -> Iterator[str]:
    """Serve ``rt`` on a free port; yields the base URL and stops the server afterwards."""
    with serving(create_app(rt, background=background), free_port()) as url:
        yield url


def form_token(client: httpx.Client) -> str:
    """Open the verification form as a browser would: the client keeps the CSRF cookie and
    the hidden field's token is returned for the POST."""
    page = client.get("/verify")
    found = re.search(r"name='csrf_token' value='([^']+)'", page.text)
    assert page.status_code == 200 and found, page.text
    return found.group(1)
