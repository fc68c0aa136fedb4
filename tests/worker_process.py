"""A region's anchoring worker as a process of its own (the crash tests kill it with -9).

Usage: python -m tests.worker_process HOME RPC_URL DATABASE_URL LEASE_TTL
"""

from __future__ import annotations

import sys
import threading

from licence_service.anchoring.lease import Lease, holder_name
from licence_service.anchoring.worker import AnchorWorker
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings


def main() -> None:
    home, rpc_url, database_url, ttl = sys.argv[1:5]
    settings = load_settings(home, rpc_url=rpc_url, database_url=database_url, embedded_chain=False)
    rt = Runtime(settings)
    holder = holder_name()
    print(holder, flush=True)
    lease = Lease(rt.sessions, "anchoring", holder, ttl=float(ttl))
    AnchorWorker(rt).run(threading.Event(), interval=0.2, lease=lease)


if __name__ == "__main__":
    main()
