"""The shape of the code: dependencies point one way, no import cycles, small modules.

DESIGN.md: licence_service -> {verifier, signing, ledger_client}; verifier -> {signing,
ledger_client}; nothing in ledger_client or signing knows about licences.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger_client", "signing", "verifier", "licence_service")
ALLOWED = {
    "ledger_client": set(),
    "signing": set(),
    "verifier": {"signing", "ledger_client"},
    "licence_service": {"verifier", "signing", "ledger_client"},
}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module ``path`` imports, at any depth (lazy imports count too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        out |= {n for n in names if n in modules}
    return out


def test_dependencies_point_one_way() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        own = name.split(".")[0]
        for target in _imports(path, modules):
            other = target.split(".")[0]
            if other != own and other not in ALLOWED[own]:
                wrong.append(f"{name} -> {target}")
    assert not wrong, wrong


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    # a package's __init__ importing its own modules is not a cycle through them
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, [" -> ".join(c) for c in cycles]


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_are_small(package: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# Inside licence_service: the entry points (cli, api, demo) call the use cases (services);
# nothing below them reaches back up, and the bottom layers stand alone.
ENTRY_POINTS = {"cli", "api", "demo"}
BOTTOM = {"domain": set(), "documents": {"domain"}}


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "licence_service" and len(parts) > 2 else None


def test_service_layers_point_down() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        here = _folder(name)
        if here is None:
            continue
        for target in _imports(path, modules):
            there = _folder(target)
            if there is None or there == here:
                continue
            if there in ENTRY_POINTS and here not in ENTRY_POINTS:
                wrong.append(f"{name} -> {target} (an entry point)")
            elif there == "services" and here not in ENTRY_POINTS:
                wrong.append(f"{name} -> {target} (use cases are called by entry points only)")
            elif here in BOTTOM and there not in BOTTOM[here]:
                wrong.append(f"{name} -> {target} ({here} stands on {sorted(BOTTOM[here])} only)")
    assert not wrong, wrong


def test_entry_points_leave_anchoring_to_the_use_cases() -> None:
    """CLI, API routers and pages never drive the anchoring worker themselves (the API's
    background worker in api/app.py is the one exception: it is the worker's home)."""
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ENTRY_POINTS
        for p in (ROOT / "licence_service" / folder).rglob("*.py")
        if "AnchorWorker(" in p.read_text(encoding="utf-8") and p.name != "app.py"
    ]
    assert not offenders, offenders


def test_no_private_name_is_imported_across_packages() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module in modules):
                continue
            same_package = node.module.rsplit(".", 1)[0] == name.rsplit(".", 1)[0]
            private = [a.name for a in node.names if a.name.startswith("_")]
            if private and not same_package and not all(n.startswith("__") for n in private):
                wrong.append(f"{name} imports {private} from {node.module}")
    assert not wrong, wrong


@pytest.mark.parametrize("package", [*PACKAGES[:3], "licence_service.services"])
def test_packages_name_their_public_api(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert exported, f"{package}/__init__.py names no public API (__all__)"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, missing
