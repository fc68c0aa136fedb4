"""An error is reported once, by the command that was run, with exit code 2 and no traceback.

Before, `region init` called the `init` command and both were wrapped in the error handler:
an error printed `error: …` and then a spurious `error: unexpected Exit: 2`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chain_fixtures import free_port

EXE = str(Path(sys.executable).parent / "licledger")


def _run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args, "--data-dir", str(home)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("command", [["init"], ["region", "init"]])
def test_a_bad_code_is_one_clear_error(tmp_path: Path, command: list[str]) -> None:
    proc = _run(tmp_path, *command, "--region-code", "12")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "region_code" in lines[0] and "unexpected" not in proc.stderr
    assert not (tmp_path / "keys").exists()  # refused before anything was made


@pytest.mark.e2e
def test_an_unreachable_chain_is_one_clear_error(tmp_path: Path) -> None:
    rpc = f"http://127.0.0.1:{free_port()}"
    proc = _run(tmp_path, "region", "init", LICLEDGER_RPC_URL=rpc)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
