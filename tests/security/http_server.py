"""A region's app on a real uvicorn server on loopback, in a thread of the test process."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from licence_service.api.app import create_app
from licence_service.runtime import Runtime
from tests.chain_fixtures import free_port


@contextmanager
def serve(rt: Runtime, background: bool = False) -> Iterator[str]:
    """Serve ``rt`` on a free port; yields the base URL and stops the server afterwards."""
    port = free_port()
    config = uvicorn.Config(
        create_app(rt, background=background), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def form_token(client: httpx.Client) -> str:
    """Open the verification form as a browser would: the client keeps the CSRF cookie and
    the hidden field's token is returned for the POST."""
    page = client.get("/verify")
    found = re.search(r"name='csrf_token' value='([^']+)'", page.text)
    assert page.status_code == 200 and found, page.text
    return found.group(1)
