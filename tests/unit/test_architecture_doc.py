"""ARCHITECTURE.md names only modules that exist, and functions where it says they are.

Checked: every backticked file path (``scheduler/feeds/service.py``, ``cli.py``), every backticked
dotted module name of the project (``scheduler.store.tables``), and every "`name` in `path`"
(the function or class ``name``, or ``Class.method``, is defined in that file).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
TOP = ("windows", "notifications", "scheduler", "commands", "migrations", "tests")
BACKTICKED = re.findall(r"`([^`\s]+)`", TEXT)
PATHS = sorted({t for t in BACKTICKED if t.endswith(".py") and ("/" in t or t == "cli.py")})  # not `__init__.py`
DOTTED = sorted({t for t in BACKTICKED if re.fullmatch(rf"(?:{'|'.join(TOP)})(?:\.\w+)+", t) and not t.endswith(".py")})
NAMED_IN = sorted(set(re.findall(r"`([A-Za-z_][\w.]*)` in\s+`([\w/]+\.py)`", TEXT)))


def defined(path: Path) -> set[str]:
    """Top-level functions and classes of ``path``, and ``Class.method`` for their methods."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return names


def test_the_document_names_modules() -> None:
    assert len(PATHS) >= 25, PATHS
    assert len(DOTTED) >= 7, DOTTED
    assert len(NAMED_IN) >= 10, NAMED_IN


def test_every_named_file_exists() -> None:
    assert [p for p in PATHS if not (ROOT / p).is_file()] == []
    assert all(p == "cli.py" or p.split("/")[0] in TOP for p in PATHS), PATHS


def test_every_dotted_module_exists() -> None:
    def exists(name: str) -> bool:
        base = ROOT.joinpath(*name.split("."))
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()

    assert [name for name in DOTTED if not exists(name)] == []


def test_every_function_is_where_the_document_says() -> None:
    assert [(name, path) for name, path in NAMED_IN if name not in defined(ROOT / path)] == []


def test_every_room_is_described() -> None:
    rooms = sorted(p.parent.name for p in (ROOT / "scheduler").glob("*/__init__.py"))
    assert [room for room in rooms if f"`scheduler.{room}`" not in TEXT] == []
