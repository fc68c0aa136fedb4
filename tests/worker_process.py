"""A region's background worker as a process of its own (the crash tests kill it with -9).

Usage: python -m tests.worker_process HOME RPC_URL DATABASE_URL LEASE_TTL [anchoring|indexer]

``anchoring`` runs the anchoring worker under its lease. ``indexer`` keeps a verifier fresh as
a server process does, under the region's indexer lease, and prints after every refresh
``INDEXED FOLLOWED CHECKPOINT`` (syncs that read the chain here, syncs that followed the
holder, the index checkpoint it saw) so a test can tell which process indexed.
"""

from __future__ import annotations

import sys
import threading
import time

from licence_service.anchoring.worker import AnchorWorker
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.store.lease import Lease, holder_name


def _index(rt: Runtime, lease: Lease) -> None:
    rt.indexer.lease = lease
    while True:
        rt.verifying.refresh(time.monotonic())
        ix = rt.indexer
        print(ix.indexed_rounds, ix.followed_rounds, ix.checkpoint(), flush=True)
        time.sleep(0.2)


def main() -> None:
    home, rpc_url, database_url, ttl = sys.argv[1:5]
    role = sys.argv[5] if len(sys.argv) > 5 else "anchoring"
    settings = load_settings(home, rpc_url=rpc_url, database_url=database_url, embedded_chain=False)
    rt = Runtime(settings)
    holder = holder_name()
    print(holder, flush=True)
    lease = Lease(rt.sessions, role, holder, ttl=float(ttl))
    if role == "indexer":
        _index(rt, lease)
    else:
        AnchorWorker(rt).run(threading.Event(), interval=0.2, lease=lease)


if __name__ == "__main__":
    main()
