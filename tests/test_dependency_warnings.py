"""No dependency warns when the project is imported: a warning printed by every CLI command is
noise a user learns to ignore (cryptography 47's DSA deprecation, raised by pyHanko's imports, made
every command print one and turned `make test` red on a fresh clone).

Each top-level package is imported whole in a fresh interpreter with every warning an error, so a
new third-party warning fails here, and so does one of the project's own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

IMPORT_ALL = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = sorted(i.name for i in pkgutil.walk_packages(package.__path__, package.__name__ + "."))
for name in names:
    if ".migrations." not in name:  # alembic's scripts run only inside alembic
        importlib.import_module(name)
"""


@pytest.mark.e2e
@pytest.mark.parametrize(
    "package", ["ledger_client", "signing", "verifier", "licence_service", "bench"]
)
def test_importing_a_package_raises_no_warning(package: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", IMPORT_ALL, package],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""


@pytest.mark.e2e
def test_pyhanko_alone_still_warns() -> None:
    """The filter is ours: without the project's import, the dependency's warning is there (if it
    stops being there, the filter in signing/__init__.py can go)."""
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import pyhanko.sign.signers.pdf_cms"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "DSA is deprecated" in proc.stderr
