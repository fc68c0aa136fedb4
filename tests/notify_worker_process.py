"""The notifier's delivery worker as a process of its own (the crash test kills it with -9).

Usage: python -m tests.notify_worker_process DATABASE_URL WEBHOOK_URL CLAIM_SECONDS KEY_FILE
(the field key the recipients are sealed with)
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from licence_service.notify import DeliveryWorker, WebhookAdapter
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.field_key import FieldKey
from licence_service.store.lease import Lease


def main() -> None:
    database_url, url, claim, key = sys.argv[1:5]
    sessions = make_sessions(make_engine(database_url), FieldKey(Path(key)))
    worker = DeliveryWorker(
        sessions, {"sms": WebhookAdapter(url, timeout=1.0)}, claim_seconds=float(claim)
    )
    print(worker.name, flush=True)
    lease = Lease(sessions, "notify", worker.name, ttl=1.0)
    worker.run(threading.Event(), interval=0.1, lease=lease)


if __name__ == "__main__":
    main()
