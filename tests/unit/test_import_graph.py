"""The project's own modules import each other one way only, and ``windows/`` stays pure.

The graph is read with ``ast``, not by importing: an edge A -> B for every ``import`` in A of a
module B of ``windows/``, ``notifications/``, ``scheduler/``, ``commands/`` or ``cli.py``. Imports
at any depth count (inside functions too: a deferred import hides a circle, it does not remove
it), except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("windows", "notifications", "scheduler", "commands")
NOT_IN_WINDOWS = ("sqlalchemy", "alembic", "click", "fastapi", "starlette", "uvicorn", "aiosmtplib", "pydantic")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    paths = [ROOT / "cli.py", *(p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py")))]
    return {module_name(p): p for p in paths}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every module name an import statement may load (a name from a package may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return []


def imports_of(path: Path, module: str) -> set[str]:
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                visit(branch)
            return
        found.update(_imported(node, module, is_package))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {
        name: {target for target in imports_of(path, name) if target in modules and target != name}
        for name, path in modules.items()
    }


def test_the_graph_sees_the_project() -> None:
    graph = import_graph()
    assert len(graph) >= 80
    assert "windows.deadline" in graph["windows.schedule"]
    assert "windows.schedule" in graph["windows.notice"]
    assert "scheduler.store.base" in graph["scheduler.store.models_outbox"]
    assert "scheduler.store.models" in graph["scheduler.store.tables"]  # `from scheduler.store import models`


def test_no_import_cycles_among_the_project_modules() -> None:
    try:
        order = list(TopologicalSorter(import_graph()).static_order())
    except CycleError as error:
        raise AssertionError("import cycle: " + " -> ".join(error.args[1])) from None
    assert len(order) == len(project_modules())


def test_windows_imports_no_framework() -> None:
    windows = sorted(name for name in project_modules() if name == "windows" or name.startswith("windows."))
    code = (
        "import importlib, sys\n"
        f"for name in {windows!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {NOT_IN_WINDOWS!r} if m in sys.modules))\n"
        "print(len([m for m in sys.modules if m == 'windows' or m.startswith('windows.')]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == ["[]", str(len(windows))]
