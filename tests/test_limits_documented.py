"""SECURITY.md names every request and retry limit with the value the code has (issue 25.7).

The table "Request and retry limits" is read and each row's value compared with the setting's
default (``LICLEDGER_*``, from ``load_settings`` with the environment cleared of them) or the
module constant the row names; a limit added to the code without a row, or a value changed on
one side only, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from licence_service.api import idempotency as api_idempotency
from licence_service.api import workers
from licence_service.region.settings import load_settings
from licence_service.store import idempotency as store_idempotency

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {  # LICLEDGER_ name -> the Settings field
    "MAX_UPLOAD_BYTES": "max_upload_bytes",
    "MAX_JSON_BYTES": "max_json_bytes",
    "MAX_JSON_DEPTH": "max_json_depth",
    "MAX_HEADER_BYTES": "max_header_bytes",
    "MAX_HEADERS": "max_headers",
    "HEADER_TIMEOUT_SECONDS": "header_timeout",
    "VERIFY_RATE_PER_MINUTE": "verify_rate_per_minute",
    "VERIFY_BURST": "verify_burst",
    "READ_LIMIT_PER_MINUTE": "read_limit_per_minute",
}
CONSTANTS = {
    "MAX_KEY_LENGTH": api_idempotency.MAX_KEY_LENGTH,
    "IN_FLIGHT_WAIT": api_idempotency.IN_FLIGHT_WAIT,
    "HEARTBEAT": store_idempotency.HEARTBEAT,
    "DEAD_AFTER": store_idempotency.DEAD_AFTER.total_seconds(),
    "ORPHAN_GRACE": workers.ORPHAN_GRACE,
}


def _table() -> dict[str, float]:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    section = text.split("## Request and retry limits", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, float] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.fullmatch(r"[\d.]+", cells[1]):
            continue
        name = re.findall(r"`(?:LICLEDGER_)?([A-Z_]+)`", cells[0])
        assert name, line
        rows[name[-1]] = float(cells[1])
    return rows


def test_every_limit_is_in_security_md_with_the_code_s_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in SETTINGS:
        monkeypatch.delenv(f"LICLEDGER_{env}", raising=False)
    settings = load_settings(tmp_path)
    documented = _table()
    code = {env: float(getattr(settings, field)) for env, field in SETTINGS.items()}
    code.update({name: float(value) for name, value in CONSTANTS.items()})
    assert documented == code
