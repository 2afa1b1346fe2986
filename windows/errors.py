"""One error hierarchy for maintcal, mapped once to CLI exit codes and HTTP statuses.

Every message is written for an operator reading it at 3 a.m.: what is wrong and, where
possible, what to do instead.
"""

from __future__ import annotations


class MaintcalError(Exception):
    """Base class: a problem the user can act on (never a bug)."""

    exit_code = 2
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(MaintcalError):
    """Bad input: a malformed value, an impossible rule, a file with errors."""

    exit_code = 2
    http_status = 422


class NotFound(MaintcalError):
    """A named thing (product, customer, rule, occurrence) does not exist."""

    exit_code = 2
    http_status = 404


class Conflict(MaintcalError):
    """The request is well formed but the current state forbids it."""

    exit_code = 2
    http_status = 409


class PolicyRefused(MaintcalError):
    """A policy (notice period, reschedule rules) refuses the change."""

    exit_code = 2
    http_status = 422


class CheckFailed(MaintcalError):
    """A check ran and found problems (compliance violations)."""

    exit_code = 1
    http_status = 409


class ManyProblems(InvalidInput):
    """Several problems found at once (a catalogue file): all are listed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))
        self.problems = problems
