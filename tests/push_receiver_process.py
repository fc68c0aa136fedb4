"""A region's push receiver as a process of its own, its delivery ids in a SQLite file: the
restart test starts it after another receiver accepted a push on the same file.

Usage: python -m tests.push_receiver_process HOME RPC_URL AUDIENCE SEEN_PATH
Prints the webhook URL, serves until its standard input closes, then prints one JSON line:
the delivery ids it took for duplicates and the pushes it refused.
"""

from __future__ import annotations

import json
import sys

from licence_service.federation.push_seen import SqliteSeen
from licence_service.region.runtime import Runtime
from licence_service.region.settings import load_settings
from tests.push_fixtures import receiving


def main() -> None:
    home, rpc_url, audience, seen_path = sys.argv[1:5]
    rt = Runtime(load_settings(home, rpc_url=rpc_url, embedded_chain=False))
    with SqliteSeen(seen_path) as seen, receiving(rt, int(audience), seen) as (receiver, url):
        print(url, flush=True)
        sys.stdin.read()
    print(json.dumps({"duplicates": receiver.duplicates, "refused": receiver.refused}), flush=True)


if __name__ == "__main__":
    main()
