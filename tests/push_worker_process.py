"""A region's push worker as a process of its own (the crash test kills it with -9).

Usage: python -m tests.push_worker_process HOME RPC_URL CLAIM_SECONDS
"""

from __future__ import annotations

import sys
import threading

from licence_service.federation.subscriptions import push_worker
from licence_service.notify import RetryPolicy
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from licence_service.store.lease import Lease


def main() -> None:
    home, rpc_url, claim = sys.argv[1:4]
    rt = Runtime(load_settings(home, rpc_url=rpc_url, embedded_chain=False))
    policy = RetryPolicy(base=0.2, cap=1.0)
    worker = push_worker(rt, claim_seconds=float(claim), policy=policy, batch=1)
    print(worker.delivery.name, flush=True)
    lease = Lease(rt.sessions, "push", worker.delivery.name, ttl=1.0)
    worker.run(threading.Event(), interval=0.1, lease=lease)


if __name__ == "__main__":
    main()
