"""``--db URL`` works before the command (global) and after it, as users type it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import maintcal
from commands.common import AppContext
from scheduler.settings import Settings
from tests.conftest import NOW
from tests.e2e.test_cli_help import COMMANDS


@pytest.fixture
def elsewhere(tmp_path: Path) -> str:
    """The database the context would use without --db: an empty file with no tables."""
    return f"sqlite:///{tmp_path / 'elsewhere.db'}"


def _invoke(default_url: str, *args: str) -> Result:
    context = AppContext(Settings(database_url=default_url, pickup_dir=Path("unused")), now=NOW)
    return CliRunner().invoke(maintcal, list(args), obj=context)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("where", ["global", "after the command"])
def test_db_before_or_after_the_command_selects_the_database(db_url: str, elsewhere: str, where: str) -> None:
    def run(*args: str) -> Result:
        if where == "global":
            return _invoke(elsewhere, "--db", db_url, *args)
        return _invoke(elsewhere, *args, "--db", db_url)

    assert _ok(run("product", "add", "pe", "--name", "PE")) == "added product pe (PE), notice 30 days\n"
    added = _ok(run("customer", "add", "acme", "--name", "Acme", "--tz", "UTC"))
    assert added == "added customer acme with 0 contact(s)\n"
    # after a sub-subcommand and its arguments
    assert _ok(run("customer", "contact", "add", "acme", "noc@acme.example.com")) == (
        "noc@acme.example.com is now a contact of acme\n"
    )
    listed = json.loads(_ok(run("customer", "list", "--json")))
    assert [(c["key"], c["contacts"]) for c in listed] == [("acme", ["noc@acme.example.com"])]
    # the default database was never touched
    result = _invoke(elsewhere, "product", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: no such table: products")


def test_db_between_options_and_with_equals(db_url: str, elsewhere: str) -> None:
    _ok(_invoke(elsewhere, "product", "add", "pe", f"--db={db_url}", "--name", "PE"))
    out = _ok(_invoke(elsewhere, "occurrences", "--db", db_url, "--from", "2027-03-01", "--to", "2027-03-02", "--json"))
    assert out == "[]\n"
    out = _ok(_invoke(elsewhere, "window", "list", "--db", db_url))
    assert out.splitlines() == ["PRODUCT  RULE  WINDOW  TIME ZONE  FROM  UNTIL  LABEL"]


def test_db_after_the_command_wins_over_the_global_one(db_url: str, elsewhere: str) -> None:
    _ok(_invoke(elsewhere, "--db", elsewhere, "product", "add", "pe", "--name", "PE", "--db", db_url))
    assert [p["key"] for p in json.loads(_ok(_invoke(db_url, "product", "list", "--json")))] == ["pe"]


def test_db_after_the_command_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    monkeypatch.setenv("MAINTCAL_DATABASE_URL", f"sqlite:///{tmp_path / 'from-env.db'}")
    result = CliRunner().invoke(maintcal, ["db", "upgrade", "--db", url])
    assert (result.exit_code, result.stdout) == (0, f"database at latest schema: {url}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen.db"]


@pytest.mark.parametrize(("path", "command"), COMMANDS[1:], ids=[" ".join(p) for p, _ in COMMANDS[1:]])
def test_every_command_takes_db(path: tuple[str, ...], command: object) -> None:
    result = CliRunner().invoke(maintcal, [*path, "--help"])
    assert result.exit_code == 0
    assert "--db URL" in result.stdout
