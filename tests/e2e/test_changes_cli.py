"""The CLI of occurrence changes, unplanned maintenance, reschedule requests and outages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import maintcal
from commands.common import AppContext
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.integration.changes_fixtures import NOW, load

Invoke = Callable[..., Result]


@pytest.fixture
def run(db: Database, db_url: str, tmp_path: Path) -> Invoke:
    load(db)
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(maintcal, list(args), obj=AppContext(settings, now=NOW))

    return invoke


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def _bad(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_cancel_and_move_print_what_they_did(run: Invoke) -> None:
    invoke = run
    out = _ok(invoke("occurrence", "cancel", "pe.nightly.20270302", "--customer", "nile", "--reason", "migration"))
    assert out == "cancelled pe.nightly.20270302 for nile (sequence 1)\nnotices queued: 1 to contacts of nile\n"
    out = _ok(invoke("occurrence", "move", "pe.nightly.20270304", "--to", "2027-03-05T05:00:00Z", "--reason", "freeze"))
    assert out.splitlines() == [
        "moved pe.nightly.20270304 product-wide (every customer of pe)",
        "  harbour: moved to 2027-03-05T05:00:00Z - 2027-03-05T08:00:00Z (sequence 1)",
        "  nile: moved to 2027-03-05T05:00:00Z - 2027-03-05T08:00:00Z (sequence 1)",
        "  thames: moved to 2027-03-05T05:00:00Z - 2027-03-05T08:00:00Z (sequence 1)",
        "notices queued: 4 to contacts of harbour, nile, thames",
    ]
    listed = json.loads(
        _ok(
            invoke("occurrences", "--customer", "nile", "--from", "2027-03-01", "--to", "2027-03-06", "--json", "--all")
        )
    )
    assert [(o["id"], o["status"], o["start"], o["sequence"]) for o in listed] == [
        ("pe.nightly.20270302", "cancelled", "2027-03-02T05:00:00Z", 1),
        ("pe.nightly.20270304", "moved", "2027-03-05T05:00:00Z", 1),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("occurrence", "cancel", "pe.nightly.20270303", "--reason", "x"),
            "error: no occurrence 'pe.nightly.20270303'",
        ),
        (("occurrence", "move", "pe.nightly.20270302", "--to", "tomorrow", "--reason", "x"), "error: Invalid value"),
        (
            ("occurrence", "move", "pe.nightly.20270302", "--to", "2027-01-10T00:00:00Z", "--reason", "x"),
            "less than 30",
        ),
        (("occurrence", "move", "pe.nightly.20270302", "--reason", "x"), "error: Missing option '--to'"),
        (("unplanned", "declare", "pe", "--reason", "x"), "exactly one of --duration or --end"),
        (("unplanned", "declare", "pe", "--duration", "0m", "--reason", "x"), "must be longer than zero"),
        (("unplanned", "extend", "pe.unplanned-4", "--by", "1h"), "error: no unplanned maintenance 'pe.unplanned-4'"),
        (("reschedule", "approve", "42"), "error: no reschedule request 42"),
        (("reschedule", "approve", "abc"), "is not a valid integer"),
        (("reschedule", "list", "--status", "maybe"), "error: Invalid value for '--status'"),
        (("customer", "api-key", "nobody"), "error: no customer 'nobody'"),
        (("outages", "add", "pe", "--start", "2027-03-01T10:00:00Z", "--end", "2027-03-01T09:00:00Z"), "not after"),
    ],
)
def test_bad_input_is_one_error_line(run: Invoke, args: tuple[str, ...], message: str) -> None:
    assert message in _bad(run(*args))


def test_unplanned_and_reschedule_flow(run: Invoke) -> None:
    invoke = run
    out = _ok(invoke("unplanned", "declare", "pe", "--customer", "thames", "--duration", "2h", "--reason", "disk"))
    assert out.splitlines() == [
        "declared pe.unplanned-1: 2027-01-04T12:00:00Z - 2027-01-04T14:00:00Z (sequence 0)",
        "affected customers: thames",
        "contacts notified: 2",
    ]
    out = _ok(invoke("unplanned", "extend", "pe.unplanned-1", "--until", "2027-01-04T15:00:00Z"))
    assert out.splitlines()[0] == "extended pe.unplanned-1: 2027-01-04T12:00:00Z - 2027-01-04T15:00:00Z (sequence 1)"
    listed = json.loads(_ok(invoke("unplanned", "list", "--json")))
    assert [(u["id"], u["state"], u["customers"], u["sequence"]) for u in listed] == [
        ("pe.unplanned-1", "open", ["thames"], 1)
    ]

    request_id = _ok(
        invoke("reschedule", "request", "pe.nightly.20270302", "--customer", "thames", "--to", "2027-03-03T05:00:00Z")
    ).strip()
    assert request_id == "1"
    pending = json.loads(_ok(invoke("reschedule", "list", "--status", "pending", "--json")))
    assert [
        (r["id"], r["occurrence"], r["customer"], r["status"], r["proposed_start"], r["proposed_end"], r["reason"])
        for r in pending
    ] == [(1, "pe.nightly.20270302", "thames", "pending", "2027-03-03T05:00:00Z", "2027-03-03T08:00:00Z", None)]
    out = _ok(invoke("reschedule", "approve", "1", "--note", "ok"))
    assert out == "approved request 1: pe.nightly.20270302 for thames now starts 2027-03-03T05:00:00Z\n"
    assert "error: request 1 was already approved" in _bad(invoke("reschedule", "reject", "1", "--reason", "no"))


def test_api_key_is_shown_once(run: Invoke) -> None:
    invoke = run
    key = _ok(invoke("customer", "api-key", "thames")).strip()
    assert key.startswith("mcak_") and len(key) >= 5 + 43
    assert "already has an API key" in _bad(invoke("customer", "api-key", "thames"))
    rotated = _ok(invoke("customer", "api-key", "thames", "--rotate")).strip()
    assert rotated != key
