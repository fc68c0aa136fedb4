"""`licledger`: one entry point for chain, set-up, issuing, status changes, verifying, serving.

Exit codes: 0 success (or VALID), 1 a valid but negative answer (a verdict other than VALID),
2 a usage or system error, always with a one-line message and never a traceback.
"""

from __future__ import annotations

import getpass
import logging
import os

from licence_service.audit import oplog
from licence_service.cli import (  # noqa: F401 - each module registers its commands
    audit,
    backup,
    bench,
    bulk,
    chain,
    database,
    deadlines,
    federation,
    licences,
    lifecycle,
    people,
    reminders,
    serve,
    sharing_requests,
)
from licence_service.cli.common import app
from licence_service.cli.exchange import exchange_app  # noqa: F401 - registers its commands


def main() -> None:
    # pyHanko logs a full traceback when it cannot build a certificate path; for us that is an
    # ordinary UNKNOWN_ISSUER verdict, explained in the checks, so keep the terminal clean.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    oplog.set_actor(f"cli:{getpass.getuser()}", os.environ.get("LICLEDGER_ROLE", "agency"))
    app()


if __name__ == "__main__":
    main()
