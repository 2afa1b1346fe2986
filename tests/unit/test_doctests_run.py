"""The examples in the docstrings of the production packages run with every ``pytest`` (``make test``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pytest_collects_the_doctests_of_the_production_packages() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert {"tests", "windows", "scheduler", "notifications"} <= set(options["testpaths"])
    assert "--doctest-modules" in options["addopts"].split()
    with_examples = sorted(
        str(path.relative_to(ROOT))
        for package in ("windows", "scheduler", "notifications")
        for path in (ROOT / package).rglob("*.py")
        if ">>> " in path.read_text(encoding="utf-8")
    )
    assert len(with_examples) >= 15, with_examples
