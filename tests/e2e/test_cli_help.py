"""Every command and subcommand of ``maintcal`` explains itself (walks the click tree)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from cli import maintcal


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):  # the top-level group is lazy: ask it, as click does
        context = click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(maintcal))
IDS = [" ".join(("maintcal", *path)) for path, _ in COMMANDS]


def test_the_tree_holds_the_catalogue_commands() -> None:
    names = set(IDS)
    assert {
        "maintcal db upgrade",
        "maintcal apply",
        "maintcal product add",
        "maintcal product list",
        "maintcal window add",
        "maintcal window list",
        "maintcal window retire",
        "maintcal window preview",
        "maintcal customer add",
        "maintcal customer list",
        "maintcal customer contact add",
        "maintcal customer contact remove",
        "maintcal customer subscribe",
        "maintcal customer unsubscribe",
        "maintcal occurrences",
    } <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_has_help_text(path: tuple[str, ...], command: click.Command) -> None:
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    assert command.get_short_help_str(limit=80).strip()


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_has_help_text(path: tuple[str, ...], command: click.Command) -> None:
    undocumented = [
        param.opts[0]
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert undocumented == []


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_runs_without_a_database(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(maintcal, [*path, "--help"], env={"MAINTCAL_DATABASE_URL": "sqlite:////nonexistent/x"})
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith(f"Usage: maintcal {' '.join(path)}".rstrip())
    first_line = (command.help or "").strip().splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(result.stdout.split())  # click wraps long lines


def test_short_help_flag_and_version() -> None:
    assert CliRunner().invoke(maintcal, ["-h"]).stdout.startswith("Usage: maintcal [OPTIONS] COMMAND [ARGS]...")
    version = CliRunner().invoke(maintcal, ["--version"])
    assert (version.exit_code, version.stdout.startswith("maintcal, version ")) == (0, True)
