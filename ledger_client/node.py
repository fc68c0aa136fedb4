"""The embedded chain: one local anvil node with persistent state.

Only this module knows anvil. It starts the node detached (so it outlives the command that
started it), records its pid, and stops it with SIGINT so anvil dumps its state before exiting.
The state file is also dumped every ``state_interval`` seconds, so even a killed node loses at
most that much.

A node already answering on the port counts as this directory's own only when the recorded
pid is alive and its command line is this config's (its port and its state file): otherwise
it is someone else's chain — another checkout's anvil on 8545 — and ``start`` refuses it
(``ForeignNodeError``) instead of letting the caller deploy contracts onto it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ledger_client.connection import DEFAULT_CHAIN_ID, is_reachable
from ledger_client.errors import ChainUnavailableError, ForeignNodeError

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def anvil_binary() -> str:
    """The anvil executable: ``LICLEDGER_ANVIL``, the npm package's, or one on PATH."""
    env = os.environ.get("LICLEDGER_ANVIL")
    if env:
        return env
    local = _PROJECT_ROOT / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if found:
        return found
    raise ChainUnavailableError(
        "anvil not found: run `npm ci` in the project folder (it installs @foundry-rs/anvil) "
        "or set LICLEDGER_ANVIL to the binary"
    )


@dataclass(frozen=True)
class NodeConfig:
    """How to run the embedded node."""

    directory: Path
    host: str = "127.0.0.1"
    port: int = 8545
    chain_id: int = DEFAULT_CHAIN_ID
    state_interval: int = 1
    start_timeout: float = 20.0
    # Every block's whole state kept in the dump (anvil's --preserve-historical-states), only
    # for eth_call at past blocks after a restart, which nothing here makes. Blocks, receipts
    # and logs are dumped either way. With it the dump grew with every block and was
    # rewritten every ``state_interval``: 2.8 GB after one test run, and a node busy writing it
    # answered an auditor's replay at half speed.
    historical_states: bool = False
    # The EVM the contracts are compiled for (hardhat.config.js: evmVersion "cancun"), not
    # anvil's moving default (its newest fork, "Bpo1" in anvil 1.7.1). It also keeps anchoring
    # priced by execution: from Prague on (EIP-7623) calldata-heavy transactions pay a floor of
    # 10 gas per calldata token, 2,560 gas per anchored licence. A Besu network sets its fork
    # in its genesis instead. None: anvil's default.
    hardfork: str | None = "cancun"
    # Seconds between blocks (anvil's --block-time), as a real network seals them; None: a
    # block per transaction at once (instant mining, the embedded node's default).
    block_time: float | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.directory / "anvil-state.json"

    @property
    def pid_file(self) -> Path:
        return self.directory / "anvil.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "anvil.log"


class AnvilNode:
    """Start, stop and inspect the embedded node described by ``config``."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config

    def pid(self) -> int | None:
        """The recorded pid if that process is still alive."""
        try:
            pid = int(self.config.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def is_running(self) -> bool:
        return is_reachable(self.config.rpc_url)

    def is_own(self) -> bool:
        """True when the recorded pid is alive and runs this config's node (same port, same
        state file). Where ``/proc`` cannot tell (not Linux), a live recorded pid counts."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return not Path("/proc/self").exists()
        except OSError:
            return True
        args = [a.decode(errors="replace") for a in raw.split(b"\0")]
        ports = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--port"]
        states = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--state"]
        state = os.path.abspath(self.config.state_file)
        return ports == [str(self.config.port)] and [os.path.abspath(p) for p in states] == [state]

    def start(self) -> bool:
        """Start the node unless this config's node already answers; True when this call
        started it. A node on the port that is not ours raises ``ForeignNodeError``."""
        cfg = self.config
        if self.is_running():
            if self.is_own():
                return False
            raise ForeignNodeError(
                f"port {cfg.port} ({cfg.rpc_url}) is already answered by a chain node that "
                f"this data directory did not start (no node of {cfg.directory} is recorded "
                f"running there, see {cfg.pid_file.name}); nothing was deployed onto it. Stop "
                f"that node, or give this region a port of its own: `licledger chain up "
                f"--port {cfg.port + 1}` (or LICLEDGER_CHAIN_PORT={cfg.port + 1})."
            )
        cfg.directory.mkdir(parents=True, exist_ok=True)
        cmd = [
            anvil_binary(),
            "--host", cfg.host,
            "--port", str(cfg.port),
            "--chain-id", str(cfg.chain_id),
            "--state", str(cfg.state_file),
            "--state-interval", str(cfg.state_interval),
            "--base-fee", "0",
            "--gas-price", "0",
        ]  # fmt: skip
        if cfg.historical_states:
            cmd.append("--preserve-historical-states")
        if cfg.hardfork:
            cmd += ["--hardfork", cfg.hardfork]
        if cfg.block_time:
            cmd += ["--block-time", f"{cfg.block_time:g}"]
        log = open(cfg.log_file, "ab")  # noqa: SIM115 - handed to the child process
        try:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=cfg.directory,
            )  # fmt: skip
        finally:
            log.close()
        cfg.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + cfg.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ChainUnavailableError(
                    f"anvil exited at start (code {proc.returncode}); see {cfg.log_file} "
                    f"(is port {cfg.port} taken? choose another with --port)"
                )
            if self.is_running():
                return True
            time.sleep(0.1)
        self.stop()
        raise ChainUnavailableError(f"anvil did not answer within {cfg.start_timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the node gracefully (state dumped); True when a node was stopped."""
        pid = self.pid()
        if pid is None:
            self.config.pid_file.unlink(missing_ok=True)
            return False
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                if sig is signal.SIGKILL:  # the npm launcher's anvil child too: its whole group
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)
            except ProcessLookupError:
                break
            if wait_gone(pid, wait):
                break
        self.config.pid_file.unlink(missing_ok=True)
        return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return True
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
