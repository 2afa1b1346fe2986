"""What every command shares: the context object, error mapping, value types and output helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import click

from scheduler.settings import Settings
from windows.errors import InvalidInput, MaintcalError
from windows.parsing import parse_date, parse_duration, parse_instant


def system_clock() -> datetime:
    """The real time, in UTC: the one place the CLI reads the clock."""
    return datetime.now(UTC)


@dataclass
class AppContext:
    """Carried in ``ctx.obj``: settings and the clock, read once at the entrypoint.

    ``now`` is the instant a command acts at; ``clock`` is for the commands that run on (notice sending, the
    worker) and read the time again. A caller (the tests, the README examples) pins both.
    """

    settings: Settings
    now: datetime = field(default_factory=system_clock)
    _db: Any = None
    clock: Callable[[], datetime] = system_clock

    def db(self) -> Any:
        """The database (engine + session factory), opened lazily on first use."""
        if self._db is None:
            from scheduler.store.db import Database

            self._db = Database.open(self.settings.database_url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


pass_app = click.make_pass_decorator(AppContext)


def _use_database(ctx: click.Context, _param: click.Parameter, url: str | None) -> None:
    if url:
        app = ctx.find_object(AppContext)
        assert app is not None, "the maintcal group puts an AppContext in ctx.obj"
        app.settings = app.settings.with_database(url)


def accept_db_anywhere(command: click.Command) -> None:
    """Let ``--db URL`` follow any (sub)command too, as users type it: ``maintcal window list --db URL``.

    The global ``maintcal --db URL ...`` keeps working; given after the command, ``--db`` wins. The
    option sets the context's settings before the command runs (the database opens lazily).
    """
    command.params.append(
        click.Option(
            ["--db"],
            metavar="URL",
            expose_value=False,
            callback=_use_database,
            help="Database URL (same as maintcal --db URL).",
        )
    )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_db_anywhere(sub)


def error_line(message: str) -> None:
    """The one ``error:`` line on stderr; a password, feed token or API key in it is masked."""
    from scheduler.redaction import redact

    click.echo(f"error: {redact(message)}", err=True)


def fail(error: MaintcalError) -> NoReturn:
    error_line(error.message)
    sys.exit(error.exit_code)


def _is_database_error(error: Exception) -> bool:
    """A SQLAlchemy error, checked without importing SQLAlchemy (a command that raised one has loaded it)."""
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(error, module.SQLAlchemyError)


class MaintcalGroup(click.Group):
    """A group whose errors are one ``error: ...`` line on stderr and a DESIGN §5 exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except MaintcalError as error:
            fail(error)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            error_line(error.format_message())
            sys.exit(
                2 if isinstance(error, click.UsageError | click.BadParameter | click.FileError) else error.exit_code
            )
        except click.Abort:
            error_line("aborted")
            sys.exit(1)
        except OSError as error:
            error_line(str(error))
            sys.exit(1)
        except Exception as error:  # a bug: still one line for the operator; details with MAINTCAL_DEBUG=1
            if _is_database_error(error):
                first = str(getattr(error, "orig", None) or error).splitlines()[0]
                hint = (
                    " (has 'maintcal db upgrade' been run?)"
                    if "no such table" in first or "does not exist" in first
                    else ""
                )
                error_line(f"database: {first}{hint}")
                sys.exit(1)
            if os.environ.get("MAINTCAL_DEBUG"):
                raise
            error_line(f"internal error ({type(error).__name__}: {error}); rerun with MAINTCAL_DEBUG=1")
            sys.exit(1)
        sys.exit(0)


class _Converted(click.ParamType):  # type: ignore[type-arg]
    """A click type that converts with a windows.parsing function and reports its message."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except MaintcalError as error:
            self.fail(error.message, param, ctx)

    def parse(self, value: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class DurationType(_Converted):
    name = "duration"

    def parse(self, value: str) -> timedelta:
        return parse_duration(value)


class DateType(_Converted):
    name = "date"

    def parse(self, value: str) -> date:
        return parse_date(value)


class InstantType(_Converted):
    """Instants; ``now`` is kept as the string and resolved with the context's clock."""

    name = "instant"

    def parse(self, value: str) -> datetime | str:
        if value.strip().lower() == "now":
            return "now"
        return parse_instant(value)


class PercentType(_Converted):
    name = "percent"

    def parse(self, value: str) -> Decimal:
        try:
            percent = Decimal(value.strip().rstrip("%"))
        except InvalidOperation:
            raise InvalidInput(f"'{value}' is not a percentage like 99.95") from None
        if not percent.is_finite() or not 0 < percent <= 100:
            raise InvalidInput(f"'{value}' must be a percentage above 0 and at most 100")
        return percent


PERCENT = PercentType()
DURATION = DurationType()
DATE = DateType()
INSTANT = InstantType()


def instant(value: datetime | str | None, now: datetime) -> datetime | None:
    if value == "now":
        return now
    return value if isinstance(value, datetime) or value is None else parse_instant(value, now)


def day_start(day: date) -> datetime:
    """``DATE`` as the instant 00:00Z (DESIGN §5: ranges are [from 00:00Z, to 00:00Z))."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    from rich.console import Console  # loaded by the commands that print a table, not by --help
    from rich.table import Table

    table = Table(*columns, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(width=200, soft_wrap=True).print(table)
