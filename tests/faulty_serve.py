"""`licledger serve` (one process) that dies hard at a chosen point of a request, as a worker
killed by the kernel (``os._exit``: no cleanup, no answer) — for tests/test_exactly_once.py.

``LICLEDGER_TEST_FAULT``:
- ``before-issue``: an issuance dies after its key's row is written, before anything is done;
- ``after-status``: a status change dies right after its change is committed.
The rest of argv is `licledger`'s.
"""

from __future__ import annotations

import os
from typing import Any

from licence_service.api.routers import licences, lifecycle
from licence_service.cli.main import main


def _dies(*_: Any, **__: Any) -> Any:
    os._exit(9)


def _changes_then_dies(*args: Any, **kwargs: Any) -> Any:
    real(*args, **kwargs)
    os._exit(9)


real = lifecycle.apply_action
if os.environ["LICLEDGER_TEST_FAULT"] == "before-issue":
    licences.issue_licence = _dies  # type: ignore[assignment]
else:
    lifecycle.apply_action = _changes_then_dies

if __name__ == "__main__":
    main()
