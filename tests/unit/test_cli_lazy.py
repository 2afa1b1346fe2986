"""The lazy top-level group (issue 11): its table names every command module, loads every command
with all its subcommands, lists them as an eager group would, and ``--help`` imports no command."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import click
import pytest

import commands
from cli import LAZY, maintcal


def _command_modules() -> list[str]:
    return sorted(f"commands.{m.name}" for m in pkgutil.iter_modules(commands.__path__) if m.name != "common")


def _paths(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _paths(sub, (*path, name))


@pytest.fixture
def fresh_modules() -> Iterator[None]:
    """Let a test import the command modules anew; put back the ones the other tests hold."""
    saved = dict(sys.modules)
    loaded = dict(maintcal.loaded)
    yield
    for name in [m for m in sys.modules if m.startswith("commands.")]:
        del sys.modules[name]
    sys.modules.update(saved)
    maintcal.loaded = loaded


def _forget_command_modules() -> None:
    for name in [m for m in sys.modules if m.startswith("commands.") and m != "commands.common"]:
        del sys.modules[name]
    maintcal.loaded = {}


def _eager() -> dict[str, click.Command]:
    """Every command of every module, as importing them all builds it."""
    found: dict[str, click.Command] = {}
    for name in _command_modules():
        module: ModuleType = importlib.import_module(name)
        found.update((c.name or "", c) for c in module.COMMANDS)
    return found


def test_every_command_module_is_in_the_table() -> None:
    named = {entry.module for entry in LAZY.values()} | {m for entry in LAZY.values() for m in entry.extended_by}
    assert sorted(named) == _command_modules()


def test_the_table_names_each_command_where_it_lives_with_its_help() -> None:
    eager = _eager()
    assert sorted(eager) == sorted(LAZY)
    for name, command in eager.items():
        entry = LAZY[name]
        assert getattr(importlib.import_module(entry.module), entry.attribute) is command
        assert entry.help == " ".join((command.help or "").split("\n\n")[0].split())


def test_each_command_loads_alone_with_every_subcommand(fresh_modules: None) -> None:
    _forget_command_modules()
    expected = {name: sorted(_paths(command)) for name, command in _eager().items()}
    context = click.Context(maintcal)
    for name in LAZY:
        _forget_command_modules()  # as in a new process: only this command's modules get imported
        command = maintcal.get_command(context, name)
        assert command is not None
        assert sorted(_paths(command)) == expected[name], name
        assert any("--db" in p.opts for p in command.params)  # accept_db_anywhere ran on it


def test_help_lists_the_commands_as_an_eager_group_would() -> None:
    lazy, eager = click.HelpFormatter(), click.HelpFormatter()
    maintcal.format_commands(click.Context(maintcal), lazy)
    group = click.Group("maintcal", commands=_eager())
    group.format_commands(click.Context(group), eager)
    assert lazy.getvalue() == eager.getvalue()
    assert "serve" in lazy.getvalue()


def test_help_imports_no_command_module_nor_the_database_layer() -> None:
    script = (
        "import sys\n"
        "from cli import maintcal\n"
        "try:\n"
        "    maintcal.main(['--help'])\n"  # standalone, as the console script runs it
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('commands.', 'scheduler.store', 'sqlalchemy', 'alembic', 'fastapi', 'rich')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "['commands.common']"
