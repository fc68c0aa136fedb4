"""`licledger bench NAME [--quick] [--json]`: the benchmarks of issue 12, from the command line.

Each benchmark lives in the ``bench`` package (in the source tree, not the installed
package) as a module with ``run(quick: bool) -> dict``; the dict's keys are figure names
with units (``licences_per_s``, ``qr_p99_ms_32`` …) plus a ``conditions`` dict. A
benchmark whose module is not there (not written yet, or an installed copy without the
source tree) is reported as not available instead of failing the others.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from licence_service.cli.common import ExitWith, JsonOut, app, handled, out, print_json
from licence_service.domain.errors import ServiceError

bench_app = typer.Typer(help="Benchmarks of issue 12 (figures and conditions).")
app.add_typer(bench_app, name="bench")

NAMES = ("verify", "issue", "gas", "replay", "memory", "suites", "counting")
Quick = Annotated[bool, typer.Option("--quick", help="A short run (as in the test suite).")]


class NotAvailable(Exception):
    """The benchmark's module is missing or has no ``run``."""


def _replay(quick: bool) -> dict[str, Any]:
    """bench.replay has only a script entry point: run it and read its headline figure."""
    args = ["--events", "5000", "--statuses", "100"] if quick else []
    proc = subprocess.run(
        [sys.executable, "-m", "bench.replay", *args],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    if proc.returncode != 0:
        raise ServiceError(f"bench.replay failed: {proc.stderr.strip()[-300:]}", field="replay")
    match = re.search(r"best ([\d,]+) events/s", proc.stdout)
    figures: dict[str, Any] = {"report": proc.stdout.strip()}
    if match:
        figures["replay_events_per_s"] = int(match.group(1).replace(",", ""))
    return figures


def _source_tree_on_path() -> None:
    """The ``bench`` package sits beside ``licence_service`` in the source tree, uninstalled."""
    root = Path(__file__).resolve().parents[2]
    if (root / "bench" / "__init__.py").is_file() and str(root) not in sys.path:
        sys.path.append(str(root))


def runner(name: str) -> Callable[..., dict[str, Any]]:
    """The ``run`` function of benchmark ``name``, or :class:`NotAvailable`."""
    _source_tree_on_path()
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", f"bench.{name}"):
            raise
        raise NotAvailable(
            f"benchmark {name!r} is not available (no module bench.{name})"
        ) from None
    run = getattr(module, "run", None)
    if run is None:
        if name == "replay":
            return _replay
        raise NotAvailable(f"benchmark {name!r} is not available (bench.{name} has no run())")
    return run  # type: ignore[no-any-return]


def _show(name: str, figures: dict[str, Any]) -> None:
    out.print(f"[bold]{name}[/]")
    for key, value in figures.items():
        if key == "report":
            out.print(value, highlight=False, markup=False)
        elif isinstance(value, dict):
            for k, v in value.items():
                out.print(f"  {key}.{k}: {v}", highlight=False, markup=False)
        else:
            out.print(f"  {key}: {value}", highlight=False, markup=False)


@bench_app.callback(invoke_without_command=True)
def _group(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        out.print(ctx.get_help())
        raise typer.Exit(2)


def _run_and_show(name: str, as_json: bool, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run benchmark ``name`` and present its figures; a missing one is a clear error."""
    try:
        figures: dict[str, Any] = runner(name)(*args, **kwargs)
    except NotAvailable as exc:
        raise ServiceError(str(exc), field=name) from None
    if as_json:
        print_json(figures)
    else:
        _show(name, figures)
    return figures


def _run_gated(name: str, as_json: bool, quick: bool, seconds: float | None, **kwargs: Any
               ) -> NoReturn:  # fmt: skip
    """A load benchmark that is also a check: exit 1 unless every figure its module names in
    ``CHECKS`` holds (the module decides what passing means, as it does for its own logs)."""
    if seconds is not None and not 1 <= seconds <= 600:
        raise ServiceError("--seconds must be between 1 and 600", field="seconds")
    figures = _run_and_show(name, as_json, quick, seconds=seconds, **kwargs)
    checks: tuple[str, ...] = importlib.import_module(f"bench.{name}").CHECKS
    raise ExitWith(0 if all(figures[check] for check in checks) else 1)


def _command(name: str) -> None:
    @bench_app.command(name, help=f"Run the {name} benchmark.")
    @handled
    def command(quick: Quick = False, as_json: JsonOut = False) -> None:
        _run_and_show(name, as_json, quick)


for _name in NAMES:
    _command(_name)


@bench_app.command("load")
@handled
def load_cmd(
    quick: Quick = False,
    seconds: Annotated[
        float | None, typer.Option(help="How long the clients run (default 60; --quick 10).")
    ] = None,
    verifiers: Annotated[
        int | None, typer.Option(help="Verifying clients (default 32).", min=0, max=256)
    ] = None,
    issuers: Annotated[
        int | None, typer.Option(help="Issuing clients (default 4).", min=0, max=64)
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Verifying and issuing clients against two `licledger serve` instances on one
    PostgreSQL (a throwaway cluster); exit 1 unless zero errors and every acknowledged
    issuance anchored. Not part of `bench all` (it needs PostgreSQL and a minute)."""
    _run_gated("load", as_json, quick, seconds, verifiers=verifiers, issuers=issuers)


@bench_app.command("consortium")
@handled
def consortium_cmd(
    quick: Quick = False,
    seconds: Annotated[
        float | None, typer.Option(help="How long the clients run (default 60; --quick 15).")
    ] = None,
    block_period: Annotated[
        int, typer.Option(help="Seconds between the network's blocks.", min=1, max=30)
    ] = 2,
    as_json: JsonOut = False,
) -> None:
    """Three regions on three nodes of a real Clique network (@ethereumjs/client), each with
    its `licledger serve`: 32 counters verify across regions while 4 issuers issue; exit 1
    unless zero errors, every acknowledged issuance anchored exactly once and the nodes' heads
    within 3 blocks of each other at the end. Needs
    `make artifacts-london`; a few minutes; not part of `bench all`."""
    _run_gated("consortium", as_json, quick, seconds, block_period=block_period)


@bench_app.command("blocks")
@handled
def blocks_cmd(
    quick: Quick = False,
    block_time: Annotated[
        float, typer.Option(help="Seconds between blocks of the throwaway node.", min=0.5, max=60)
    ] = 2.0,
    confirmations: Annotated[
        int, typer.Option(help="LICLEDGER_CONFIRMATIONS for the run.", min=0, max=64)
    ] = 0,
    licences: Annotated[
        int,
        typer.Option(
            help="Licences anchored for throughput (default 512; --quick 64).", min=0, max=20_000
        ),
    ] = 0,
    as_json: JsonOut = False,
) -> None:
    """Anchoring throughput and time-to-VALID on a node that mines a block every
    --block-time seconds (not instantly), the worker running as in `serve`. About a minute."""
    _run_and_show(
        "blocks", as_json, quick, block_time=block_time, confirmations=confirmations,
        licences=licences,
    )  # fmt: skip


@bench_app.command("abuse")
@handled
def abuse_cmd(as_json: JsonOut = False) -> None:
    """Hostile requests (deep and huge JSON, huge and many headers, a slow head) and kill -9 of
    the master against a real `serve --workers 2`; exit 1 unless every shape got its status,
    the workers survived and a restart served. About a minute; not part of `bench all`."""
    figures = _run_and_show("abuse", as_json, False)
    raise ExitWith(0 if figures.get("passed") else 1)


@bench_app.command("all", help="Run every benchmark; missing ones are reported, not fatal.")
@handled
def all_cmd(quick: Quick = False, as_json: JsonOut = False) -> None:
    results: dict[str, Any] = {}
    missing = 0
    for name in NAMES:
        try:
            results[name] = runner(name)(quick)
        except NotAvailable as exc:
            results[name] = {"error": str(exc)}
            missing += 1
        if not as_json:
            _show(name, results[name])
    if as_json:
        print_json(results)
    raise ExitWith(2 if missing == len(NAMES) else 0)
