"""The pages' static files, served from ``licence_service/static`` by a fixed list of names.

``jsQR.js`` (the QR decoder, npm package ``jsqr``) is copied there by ``make setup`` from
``node_modules``: nothing is fetched at run time. When it is missing the counter page still
works for pasted payloads and dropped PDFs and says why the camera cannot scan.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parents[2] / "static"
DECODER = "jsQR.js"
DESK_FILES = frozenset({"desk.js", "desk.css"})  # the agency desk's pages
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
FILES = frozenset({"counter.js", "offline.js", "counter.css", "icon.svg", DECODER}) | DESK_FILES
# Served from the site's root, not /static/: a service worker controls only the pages under
# its own path, and the counter's are /verify and /v/….
ROOT_FILES = frozenset({"sw.js", "manifest.webmanifest"})
log = logging.getLogger(__name__)

if not (STATIC / DECODER).is_file():
    log.error("%s is missing: run `make setup` (copies it from node_modules/jsqr)", DECODER)


def static_file(name: str, allowed: frozenset[str] = FILES) -> FileResponse:
    """One of ``allowed`` (:data:`FILES`); 404 for any other name, so no path ever reaches
    the disk. The service worker is revalidated on every load, so a new one takes over."""
    path = STATIC / name
    if name not in allowed or not path.is_file():
        detail = f"no static file {name!r}"
        if name == DECODER:
            detail += ": the QR decoder is not installed; run `make setup`"
        raise HTTPException(404, detail)
    cache = "no-cache" if name == "sw.js" else "public, max-age=3600"
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=headers)
