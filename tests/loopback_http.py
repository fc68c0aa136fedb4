"""One way for tests to run a real HTTP receiver (a gateway's or a region's webhook) on
127.0.0.1: a ``ThreadingHTTPServer`` on a free port, served from a daemon thread and always
shut down, so no fixture leaves a listening socket behind or binds beyond loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def loopback_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1; yields the base URL (``http://127.0.0.1:PORT``).

    Handler threads are daemons: a request a test holds open (a crash test's held answer)
    cannot keep the run alive after the ``with`` block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def send_json(handler: BaseHTTPRequestHandler, status: int, text: bytes) -> None:
    """Answer the request ``handler`` is serving with ``status`` and a JSON body."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(text)))
    handler.end_headers()
    handler.wfile.write(text)
