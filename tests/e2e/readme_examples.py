"""Run the README's examples, compare what they print with the README, or regenerate it.

The README shows each command with its output in ```console blocks, as a terminal would::

    ```console
    $ maintcal window add data-exports --days tue-thu --start 22:00 --end 05:00 \\
        --tz America/New_York --from 2027-02-08
    added window data-exports.w1: tue,wed,thu 22:00-05:00 (America/New_York)
    ```

- Every ```console block is run, top to bottom, in README order, against ONE fresh SQLite database
  (``sqlite:///maintcal.db``) in a scratch directory where ``examples/`` is linked in (so
  ``examples/...`` paths work and files the examples write stay there), with default settings
  (pickup directory ``var/outbox``, base URL ``http://127.0.0.1:8000``) and the clock pinned to
  ``START`` (2027-01-04T12:00:00Z). Commands run in-process with click's CliRunner.
- ``$ `` starts a command (``maintcal ...`` only; a trailing ``\\`` continues it on the next line;
  a ``# comment`` is allowed). The lines up to the next ``$ `` are what it prints, stdout and
  stderr interleaved as in a terminal. ``[exit N]`` as the last line: it exits with N (else 0).
- Compared exactly, except: line ends (CRLF) and spaces at the end of a line are ignored (editors
  strip them); a line ``...`` matches any number of lines (for long outputs); random secrets are
  shown masked (``/feeds/<token>.ics``, ``mcak_<secret>``).
- ``<!-- readme-test: now 2027-01-04T13:40:00Z -->`` moves the clock for the commands after it
  (say so in the prose, too).
- Any other block with shell commands (```sh: ``make run``, ``maintcal serve``, ``worker``,
  ``curl``) is not run and must say so on the line before its fence:
  ``<!-- readme-test: not run (reason) -->``; an unmarked one fails the test, so no example
  escapes it by accident.

Check (what ``tests/e2e/test_readme.py`` does)::

    .venv/bin/python -m tests.e2e.readme_examples README.md

Regenerate every output in place after a change of behaviour, then review ``git diff README.md``
(a ``...`` elision is kept with as many lines before and after it as it had)::

    .venv/bin/python -m tests.e2e.readme_examples --update README.md
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

START = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
ELLIPSIS = "..."
DIRECTIVE = re.compile(r"^<!--\s*readme-test:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
EXIT = re.compile(r"^\[exit (?P<code>\d+)\]$")
SHELL_LANGS = {"sh", "bash", "shell", "console", "shell-session"}
SECRETS = [
    (re.compile(r"(/feeds/)[A-Za-z0-9_-]{20,}(\.ics)"), r"\1<token>\2"),
    (re.compile(r"\bmcak_[A-Za-z0-9_-]{20,}"), "mcak_<secret>"),
]
# Settings of the developer's environment must not change what the examples print.
CLEAN_ENV: dict[str, str | None] = {
    name: None for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES", "MAINTCAL_DEBUG")
}


class ReadmeError(Exception):
    """The README's examples are malformed (not a mismatch of output)."""


@dataclass
class Example:
    """One ``$ maintcal ...`` command of a console block and the output the README shows."""

    line: int  # 1-based line of the ``$`` in the README
    command: str
    expected: list[str]
    output_start: int  # 0-based README line index of the first output line
    output_end: int  # ... one past the last
    now: datetime = START


@dataclass
class Outcome:
    example: Example
    actual: list[str]
    ok: bool


@dataclass
class Readme:
    lines: list[str]
    examples: list[Example] = field(default_factory=list)


def parse(text: str) -> Readme:
    """The console examples of a README, with the clock each runs at; checks not-run markers."""
    readme = Readme(text.splitlines())
    lines = readme.lines
    now = START
    index = 0
    while index < len(lines):
        directive = DIRECTIVE.match(lines[index])
        if directive and directive["body"].startswith("now "):
            now = _parse_now(directive["body"][4:], index + 1)
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        close = next((i for i in range(index + 1, len(lines)) if lines[i].rstrip() == "```"), None)
        if close is None:
            raise ReadmeError(f"line {index + 1}: code block never closed")
        body = lines[index + 1 : close]
        if fence["lang"] == "console":
            readme.examples += _console_examples(lines, index + 1, close, now)
        elif _has_commands(fence["lang"], body) and not _marked_not_run(lines, index):
            raise ReadmeError(
                f"line {index + 1}: a ```{fence['lang']} block with commands is neither a ```console example "
                "(run and checked) nor marked '<!-- readme-test: not run (reason) -->' on the line before"
            )
        index = close + 1
    return readme


def _parse_now(value: str, line: int) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ReadmeError(f"line {line}: 'now' needs an ISO 8601 instant like 2027-01-04T13:40:00Z") from None
    if when.tzinfo is None:
        raise ReadmeError(f"line {line}: 'now' needs an offset or Z")
    return when.astimezone(UTC)


def _has_commands(lang: str, body: Sequence[str]) -> bool:
    return lang in SHELL_LANGS or any(re.match(r"^\s*(\$ )?maintcal\s", line) for line in body)


def _marked_not_run(lines: Sequence[str], fence: int) -> bool:
    directive = DIRECTIVE.match(lines[fence - 1]) if fence > 0 else None
    return bool(directive and directive["body"].startswith("not run"))


def _console_examples(lines: Sequence[str], first: int, close: int, now: datetime) -> list[Example]:
    examples: list[Example] = []
    index = first
    if index < close and not lines[index].startswith("$ "):
        raise ReadmeError(f"line {index + 1}: a console block starts with '$ command'")
    while index < close:
        line_no = index + 1
        command = lines[index][2:]
        while command.rstrip().endswith("\\"):
            index += 1
            if index >= close:
                raise ReadmeError(f"line {line_no}: the command's last line ends with '\\'")
            command = command.rstrip()[:-1].rstrip() + " " + lines[index].strip()
        index += 1
        output_start = index
        while index < close and not lines[index].startswith("$ "):
            index += 1
        examples.append(Example(line_no, command, list(lines[output_start:index]), output_start, index, now))
    return examples


def normalize(output: str, exit_code: int) -> list[str]:
    """What a command printed as README lines: CRLF, trailing spaces, secrets; ``[exit N]``."""
    for pattern, replacement in SECRETS:
        output = pattern.sub(replacement, output)
    lines = [line.rstrip() for line in output.replace("\r\n", "\n").split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    if exit_code:
        lines.append(f"[exit {exit_code}]")
    return lines


def matches(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether ``actual`` equals ``expected``, where an ``...`` line stands for any lines.

    >>> matches(["a", "...", "z"], ["a", "b", "c", "z"])
    True
    >>> matches(["a", "...", "z"], ["a", "z"])
    True
    >>> matches(["a", "...", "z"], ["a", "b"])
    False
    >>> matches(["a  "], ["a"])
    True
    """
    want = [line.rstrip() for line in expected]
    # reachable[j]: expected[:i] can match actual[:j]
    reachable = [True] + [False] * len(actual)
    for line in want:
        if line == ELLIPSIS:
            for j in range(1, len(actual) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [reachable[j] and actual[j] == line for j in range(len(actual))]
    return reachable[-1]


def regenerated(expected: Sequence[str], actual: Sequence[str]) -> list[str]:
    """The README lines for ``actual``: ``expected`` unchanged if it still matches, else ``actual``
    with the first and last ``...`` elision kept (as many lines before and after as before).

    >>> regenerated(["a", "...", "z"], ["a", "b", "c", "y"])
    ['a', '...', 'y']
    >>> regenerated(["a", "...", "z"], ["a", "y"])
    ['a', 'y']
    """
    if matches(expected, actual):
        return list(expected)
    if ELLIPSIS not in expected:
        return list(actual)
    head = expected.index(ELLIPSIS)
    tail = len(expected) - 1 - max(i for i, line in enumerate(expected) if line == ELLIPSIS)
    if len(actual) <= head + tail:
        return list(actual)
    return [*actual[:head], ELLIPSIS, *actual[len(actual) - tail :]]


def run(readme: Readme, workdir: Path, examples_dir: Path) -> list[Outcome]:
    """Run every example in order in ``workdir`` (fresh database there) and compare its output."""
    from cli import maintcal
    from commands.common import AppContext
    from scheduler.settings import Settings

    (workdir / "examples").symlink_to(examples_dir.resolve(), target_is_directory=True)
    settings = Settings.from_env({}).with_database("sqlite:///maintcal.db")
    runner = CliRunner()
    outcomes = []
    with contextlib.chdir(workdir):
        for example in readme.examples:
            try:
                args = shlex.split(example.command, comments=True)
            except ValueError as error:
                raise ReadmeError(f"line {example.line}: {error}") from None
            if not args or args[0] != "maintcal":
                raise ReadmeError(f"line {example.line}: console examples run 'maintcal ...' only")
            context = AppContext(settings, now=example.now, clock=_pinned(example.now))
            result = runner.invoke(maintcal, args[1:], obj=context, prog_name="maintcal", env=CLEAN_ENV)
            output = result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                output += "".join(traceback.format_exception(result.exception))
            actual = normalize(output, result.exit_code)
            outcomes.append(Outcome(example, actual, matches(example.expected, actual)))
    return outcomes


def _pinned(when: datetime) -> Callable[[], datetime]:
    """A clock that always says ``when`` (sending notices reads the clock again)."""
    return lambda: when


def update(readme: Readme, outcomes: Sequence[Outcome]) -> str:
    """The README text with every example's output regenerated."""
    lines = list(readme.lines)
    for outcome in reversed(outcomes):
        example = outcome.example
        lines[example.output_start : example.output_end] = regenerated(example.expected, outcome.actual)
    return "\n".join(lines) + "\n"


def describe(failures: Sequence[Outcome]) -> str:
    """A report of the examples whose output differs from the README."""
    parts = []
    for outcome in failures:
        example = outcome.example
        parts.append(
            f"README line {example.line}: $ {example.command}\n--- README shows\n"
            + "\n".join(example.expected)
            + "\n+++ it printed\n"
            + "\n".join(outcome.actual)
        )
    hint = "regenerate with: .venv/bin/python -m tests.e2e.readme_examples --update README.md"
    return "\n\n".join([*parts, hint])


def check_file(path: Path, workdir: Path, *, write: bool = False) -> list[Outcome]:
    """Run the examples of README ``path``; with ``write``, rewrite their outputs in place.

    Returns the examples whose output differed (before any rewrite).
    """
    readme = parse(path.read_text(encoding="utf-8"))
    outcomes = run(readme, workdir, path.parent / "examples")
    if write:
        path.write_text(update(readme, outcomes), encoding="utf-8")
    return [o for o in outcomes if not o.ok]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.readme_examples", description=__doc__.splitlines()[0])
    parser.add_argument("readme", type=Path, help="the README to check (README.md)")
    parser.add_argument("--update", action="store_true", help="rewrite the outputs in place")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="maintcal-readme-") as scratch:
        try:
            failures = check_file(options.readme, Path(scratch), write=options.update)
        except ReadmeError as error:
            print(f"error: {options.readme}: {error}", file=sys.stderr)
            return 2
    if options.update:
        print(f"{options.readme}: {len(failures)} example output(s) regenerated")
        return 0
    if failures:
        print(describe(failures), file=sys.stderr)
        return 1
    print(f"{options.readme}: every example prints what it shows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
