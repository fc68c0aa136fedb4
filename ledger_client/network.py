"""A multi-node test network: N Clique signer nodes of a real client on loopback.

The production consortium runs one validator per region (Besu QBFT, ``deploy/``). Besu needs a
JVM and a download this machine cannot make, so the network that the tests and
`licledger chain up --nodes N` start is the npm client ``@ethereumjs/client`` (0.10.5) with
Clique proof of authority: every node is a signer (one per region), peers are static (each
node is given all the others as bootnodes, discovery off), blocks come every
``block_period`` seconds.

What that client needs and what it still cannot do, learnt by running it, is in
deploy/README.md (*A multi-node network run here*): a London genesis (its Clique miner stops
at Paris), base fee 0, node keys fixed before the first start, five client bugs patched in
memory (scripts/ethereumjs-clique-loader.mjs), stranded nodes restarted (``converge``).

Only this module knows the client; the rest of the code sees JSON-RPC URLs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_keys import keys
from web3 import Web3
from web3.types import RPCEndpoint

from ledger_client.clique import genesis
from ledger_client.connection import DEFAULT_CHAIN_ID, BoundedLogsProvider, is_reachable
from ledger_client.errors import ChainUnavailableError, ForeignNodeError
from ledger_client.node import wait_gone

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_CLIENT = (
    _PROJECT_ROOT
    / "chain-client"
    / "node_modules"
    / "@ethereumjs"
    / "client"
    / "dist"
    / "esm"
    / "bin"
)
_SCRIPTS = _PROJECT_ROOT / "scripts"
CHAIN_NAME = "licledger"  # the client names its network folder after the genesis file


@dataclass(frozen=True)
class NetworkConfig:
    """Where and how the network runs: node ``i`` answers JSON-RPC on ``rpc_port + i`` and
    talks devp2p on ``p2p_port + i``."""

    directory: Path
    nodes: int = 3
    host: str = "127.0.0.1"
    rpc_port: int = 8545
    p2p_port: int = 30303
    chain_id: int = DEFAULT_CHAIN_ID
    block_period: int = 2
    start_timeout: float = 60.0
    log_level: str = os.environ.get("LICLEDGER_CHAIN_LOG_LEVEL", "info")

    @property
    def layout_file(self) -> Path:
        return self.directory / "network.json"

    @property
    def genesis_file(self) -> Path:
        return self.directory / f"{CHAIN_NAME}.json"

    def node_dir(self, index: int) -> Path:
        return self.directory / f"node{index}"

    def rpc_url(self, index: int) -> str:
        return f"http://{self.host}:{self.rpc_port + index}"


@dataclass(frozen=True)
class NodeStatus:
    """One node as `licledger chain status --json` shows it."""

    index: int
    rpc_url: str
    pid: int | None
    running: bool
    signer: str
    sealing: bool
    peers: int | None
    head_block: int | None
    head_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CliqueNetwork:
    """Create, start, stop and inspect the network described by ``config``."""

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config

    # ------------------------------------------------------------------ layout

    def layout(self) -> dict[str, Any]:
        """The keys and genesis of this network, created on first use and kept: a network
        keeps its node count (a new count is refused, naming the folder to remove)."""
        cfg = self.config
        if cfg.layout_file.exists():
            layout: dict[str, Any] = json.loads(cfg.layout_file.read_text())
            if len(layout["nodes"]) != cfg.nodes:
                raise ChainUnavailableError(
                    f"the network in {cfg.directory} has {len(layout['nodes'])} nodes, not "
                    f"{cfg.nodes}: use --nodes {len(layout['nodes'])}, or stop it and remove "
                    f"{cfg.directory} to create a new one"
                )
            return layout
        if cfg.nodes < 1:
            raise ChainUnavailableError(f"--nodes must be at least 1 (got {cfg.nodes})")
        cfg.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        nodes = []
        for _ in range(cfg.nodes):
            signer, node_key = secrets.token_hex(32), secrets.token_hex(32)
            enode = keys.PrivateKey(bytes.fromhex(node_key)).public_key.to_hex()[2:]
            address = Account.from_key(signer).address
            nodes.append(
                {"signer_key": signer, "node_key": node_key, "signer": address, "enode_id": enode}
            )
        layout = {
            "chain_id": cfg.chain_id,
            "block_period": cfg.block_period,
            "rpc_port": cfg.rpc_port,
            "p2p_port": cfg.p2p_port,
            "nodes": nodes,
        }
        cfg.genesis_file.write_text(json.dumps(genesis(layout), indent=1))
        for index, node in enumerate(nodes):
            network_dir = cfg.node_dir(index) / CHAIN_NAME
            network_dir.mkdir(parents=True, exist_ok=True)
            (cfg.node_dir(index) / "signer.key").write_text(node["signer_key"])
            subprocess.run(
                ["node", str(_SCRIPTS / "ethereumjs-nodekey.mjs"), str(network_dir),
                 node["node_key"]],
                check=True, cwd=_PROJECT_ROOT, capture_output=True, timeout=60,
            )  # fmt: skip
        fd = os.open(cfg.layout_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(layout, fh, indent=1)
        return layout

    @property
    def rpc_urls(self) -> list[str]:
        return [self.config.rpc_url(i) for i in range(self.config.nodes)]

    # ------------------------------------------------------------------ processes

    def pid(self, index: int) -> int | None:
        try:
            pid = int((self.config.node_dir(index) / "node.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:  # a child of this process that exited is a zombie until reaped: reap it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self, followers: Collection[int] = ()) -> list[int]:
        """Start every node not running (all at once: each has the others as static peers),
        then wait until each answers; the indices started now. ``followers`` seal nothing."""
        started = [
            i
            for i in range(self.config.nodes)
            if self.start_node(i, wait=False, seal=i not in followers)
        ]
        for index in started:
            self._wait_answering(index)
        return started

    def start_node(
        self, index: int, wait: bool = True, seal: bool = True, seal_empty: bool = True
    ) -> bool:
        """Start node ``index`` unless it runs; True when this call started it. ``seal``
        False: it follows (verifies, serves and relays) without sealing blocks;
        ``seal_empty`` False: it seals only blocks with transactions (a test's knob)."""
        cfg = self.config
        layout = self.layout()
        if self.pid(index) is not None:
            return False
        if is_reachable(cfg.rpc_url(index)):
            raise ForeignNodeError(
                f"port {cfg.rpc_port + index} ({cfg.rpc_url(index)}) is answered by a chain "
                f"node that {cfg.directory} did not start; stop it or choose --port"
            )
        peers = ",".join(
            f"enode://{node['enode_id']}@{cfg.host}:{self.peer_port(index, i)}"
            for i, node in enumerate(layout["nodes"])
            if i != index
        )
        node_dir = cfg.node_dir(index)
        cmd = [
            "node", "--import", str(_SCRIPTS / "ethereumjs-clique-loader.mjs"),
            str(_CLIENT / "cli.js"),
            "--gethGenesis", str(cfg.genesis_file),
            "--dataDir", str(node_dir),
            "--port", str(cfg.p2p_port + index),
            "--rpc", "--rpcAddr", cfg.host, "--rpcPort", str(cfg.rpc_port + index),
            "--unlock", str(node_dir / "signer.key"),
            "--discDns=false", "--discV4=false",
            "--maxPeers", str(max(1, cfg.nodes - 1)),
            "--logFile=false", "--logLevel", cfg.log_level,
        ]  # fmt: skip
        if peers:
            cmd += ["--bootnodes", peers]
        if seal:
            cmd.append("--mine")
        (node_dir / "sealing").write_text("1" if seal else "0")
        log = open(node_dir / "node.log", "ab")  # noqa: SIM115 - handed to the child process
        env = {**os.environ, "LICLEDGER_SEAL_ONLY_WITH_TXS": "0" if seal_empty else "1"}
        try:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=node_dir, env=env,
            )  # fmt: skip
        finally:
            log.close()
        (node_dir / "node.pid").write_text(str(proc.pid))
        if wait:
            self._wait_answering(index)
        return True

    def peer_port(self, dialer: int, peer: int) -> int:
        """The port node ``dialer`` dials to reach node ``peer`` (a test may put a link it
        can cut between them: tests/tcp_link.py)."""
        return self.config.p2p_port + peer

    def _wait_answering(self, index: int) -> None:
        deadline = time.monotonic() + self.config.start_timeout
        while time.monotonic() < deadline:
            if self.pid(index) is None:
                raise ChainUnavailableError(
                    f"chain node {index} exited at start; "
                    f"see {self.config.node_dir(index) / 'node.log'}"
                )
            if is_reachable(self.config.rpc_url(index)):
                return
            time.sleep(0.2)
        self.stop_node(index)
        raise ChainUnavailableError(
            f"chain node {index} did not answer within {self.config.start_timeout:.0f} s"
        )

    def stop_node(self, index: int, timeout: float = 15.0) -> bool:
        """Stop node ``index`` (SIGINT: the client closes its databases); True when it ran."""
        pid = self.pid(index)
        pid_file = self.config.node_dir(index) / "node.pid"
        if pid is None:
            pid_file.unlink(missing_ok=True)
            return False
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            if wait_gone(pid, wait):
                break
        pid_file.unlink(missing_ok=True)
        return True

    def stop(self) -> int:
        """Stop every node, all signalled at once; how many were running."""
        running = [i for i in range(self.config.nodes) if self.pid(i) is not None]
        for index in running:
            pid = self.pid(index)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGINT)
        for index in running:
            self.stop_node(index)
        return len(running)

    def converge(self, timeout: float = 90.0) -> list[NodeStatus]:
        """Wait until every running node is on one chain; a node left on a branch of its own
        is restarted as a follower (see ``_stranded``). Returns the final status."""
        deadline = time.monotonic() + timeout
        behind: dict[int, int] = {}
        agreed = 0
        while True:
            nodes = [n for n in self.status() if n.running]
            if self._agree(nodes):
                agreed += 1
                if agreed >= 2:
                    return self.status()
            else:
                agreed = 0
            if time.monotonic() > deadline:
                raise ChainUnavailableError(
                    "the chain nodes did not agree on one chain within "
                    f"{timeout:.0f} s: "
                    + "; ".join(f"node {n.index} at {n.head_block} {n.head_hash}" for n in nodes)
                )
            for index in self._stranded(nodes, behind):
                self.stop_node(index)
                self.start_node(index, seal=False)
                behind.pop(index, None)
            time.sleep(self.config.block_period / 2)

    def _agree(self, nodes: list[NodeStatus]) -> bool:
        """All running nodes past genesis and on one chain: each holds the same block at the
        lowest head among them (a follower may lag a few blocks; it is not on a branch)."""
        heads = [n.head_block or 0 for n in nodes]
        if not nodes or min(heads) < 1:
            return False
        hashes = {self.block_hash(n.index, min(heads)) for n in nodes}
        return len(hashes) == 1 and None not in hashes

    def _stranded(self, nodes: list[NodeStatus], looks: dict[int, int]) -> list[int]:
        """Nodes whose head is not on the leading node's chain, for three looks in a row.

        @ethereumjs/client 0.10.5 does not leave a branch it sealed itself: a node that sealed
        a block at the same height as a peer (two signers at once, at a start or after a
        partition) keeps it and stops importing; only a restart, which re-fetches the last 100
        blocks from its peers, moves it to the heavier chain. It comes back as a follower: a
        node that joins a running chain seals at once on the first head it imports, and so
        forks again."""
        leader = max(nodes, key=lambda n: n.head_block or 0)
        stuck = []
        for n in nodes:
            if (
                n.head_block is not None
                and self.block_hash(leader.index, n.head_block) != n.head_hash
            ):
                looks[n.index] = looks.get(n.index, 0) + 1
                if looks[n.index] >= 3:
                    stuck.append(n.index)
            else:
                looks.pop(n.index, None)
        return stuck

    def block(self, index: int, number: int | str = "latest") -> dict[str, Any] | None:
        """Block ``number`` (or a tag) on node ``index``, raw: web3's block formatter refuses
        Clique's 97-byte extraData (None: unreachable or unknown)."""
        w3 = Web3(BoundedLogsProvider(self.config.rpc_url(index), request_kwargs={"timeout": 2.0}))
        which = hex(number) if isinstance(number, int) else number
        try:
            found = w3.provider.make_request(RPCEndpoint("eth_getBlockByNumber"), [which, False])
            return dict(found["result"]) if found.get("result") else None
        except Exception:
            return None

    def block_hash(self, index: int, number: int) -> str | None:
        """The hash of block ``number`` on node ``index`` (None: unreachable or unknown)."""
        block = self.block(index, number)
        return None if block is None else str(block["hash"])

    # ------------------------------------------------------------------ status

    def status(self) -> list[NodeStatus]:
        layout = self.layout()
        return [
            self._node_status(i, layout["nodes"][i]["signer"]) for i in range(self.config.nodes)
        ]

    def _node_status(self, index: int, signer: str) -> NodeStatus:
        url = self.config.rpc_url(index)
        pid = self.pid(index)
        seal_file = self.config.node_dir(index) / "sealing"
        sealing = pid is not None and seal_file.exists() and seal_file.read_text() == "1"
        block = self.block(index)
        try:
            w3 = Web3(BoundedLogsProvider(url, request_kwargs={"timeout": 2.0}))
            peers: int | None = int(w3.net.peer_count)
        except Exception:
            block = None
        if block is None:
            return NodeStatus(index, url, pid, False, signer, sealing, None, None, None)
        number, head_hash = int(block["number"], 16), str(block["hash"])
        return NodeStatus(index, url, pid, True, signer, sealing, peers, number, head_hash)
