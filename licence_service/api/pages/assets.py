"""The pages' static files, served from ``licence_service/static`` by a fixed list of names.

``jsQR.js`` (the QR decoder, npm package ``jsqr``) and ``sm2.js`` (the offline counter's SM2
verifier, the browser build of the npm package ``sm-crypto``) are copied there by ``make setup``
from ``node_modules``, at the versions ``package-lock.json`` locks: nothing is fetched at run
time, from a CDN or elsewhere. When the decoder is missing the counter page still works for
pasted payloads and dropped PDFs and says why the camera cannot scan; without ``sm2.js`` an
offline check of an ``sm`` region's code says the verifier is missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parents[2] / "static"
DECODER = "jsQR.js"
SM2_VERIFIER = "sm2.js"
DESK_FILES = frozenset({"desk.js", "desk.css", "wallet.js"})  # the desk's and wallet's pages
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
COUNTER_FILES = {"counter.js", "offline.js", "counter.css", "icon.svg", DECODER, SM2_VERIFIER}
FILES = frozenset(COUNTER_FILES) | DESK_FILES
# Served from the site's root, not /static/: a service worker controls only the pages under
# its own path, and the counter's are /verify and /v/….
ROOT_FILES = frozenset({"sw.js", "manifest.webmanifest"})
log = logging.getLogger(__name__)

for _name, _package in ((DECODER, "jsqr"), (SM2_VERIFIER, "sm-crypto")):
    if not (STATIC / _name).is_file():
        log.error("%s is missing: run `make setup` (copies it from node_modules/%s)", _name,
                  _package)  # fmt: skip


def static_file(name: str, allowed: frozenset[str] = FILES) -> FileResponse:
    """One of ``allowed`` (:data:`FILES`); 404 for any other name, so no path ever reaches
    the disk. The service worker is revalidated on every load, so a new one takes over."""
    path = STATIC / name
    if name not in allowed or not path.is_file():
        detail = f"no static file {name!r}"
        if name in (DECODER, SM2_VERIFIER):
            detail += ": it is not installed; run `make setup`"
        raise HTTPException(404, detail)
    cache = "no-cache" if name == "sw.js" else "public, max-age=3600"
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=headers)
