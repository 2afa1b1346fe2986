"""``maintcal blackout``, ``freeze`` and ``conflicts`` end to end (DESIGN §9, issue 14)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import maintcal
from commands.common import AppContext
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.integration.blackout_fixtures import NOW, load

Invoke = Callable[..., Result]


@pytest.fixture
def run(db: Database, db_url: str, tmp_path: Path) -> Callable[..., Result]:
    load(db)
    settings = Settings(database_url=db_url, pickup_dir=tmp_path / "outbox", uid_domain="test.example")

    def invoke(*args: str, now: datetime = NOW) -> Result:
        return CliRunner().invoke(maintcal, list(args), obj=AppContext(settings, now=now))

    return invoke


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def bad(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_blackout_add_list_and_the_schedule(run: Invoke) -> None:
    out = ok(
        run("blackout", "add", "deccan", "--start", "2027-02-08T00:00", "--end", "2027-02-12T00:00", "--label", "Audit")
    )
    assert out == "blackout 1 for deccan: 2027-02-08T00:00/2027-02-12T00:00 (active)\nnotices queued: 1\n"
    out = ok(run("blackout", "add", "deccan", "--yearly", "11-24:11-30", "--label", "Black Friday week", "--json"))
    assert json.loads(out) == {
        "id": 2,
        "customer": "deccan",
        "label": "Black Friday week",
        "kind": "yearly",
        "status": "active",
        "spec": "11-24:11-30",
    }
    out = ok(run("blackout", "add", "thames", "--monthly", "last-2", "--label", "Month end"))
    assert out.startswith("blackout 3 for thames: last-2 (pending)\n")  # January's last days are too close
    listed = json.loads(ok(run("blackout", "list", "--json")))
    assert [(b["id"], b["kind"], b["status"]) for b in listed] == [
        (1, "once", "active"),
        (2, "yearly", "active"),
        (3, "monthly", "pending"),
    ]
    assert (listed[0]["start"], listed[0]["end"]) == ("2027-02-07T18:30:00Z", "2027-02-11T18:30:00Z")
    assert [b["id"] for b in json.loads(ok(run("blackout", "list", "--customer", "thames", "--json")))] == [3]
    items = json.loads(
        ok(
            run(
                "occurrences",
                "--customer",
                "deccan",
                "--product",
                "lc",
                "--from",
                "2027-02-08",
                "--to",
                "2027-02-12",
                "--json",
                "--all",
            )
        )
    )
    assert [(i["id"], i["status"], i["sequence"]) for i in items] == [
        ("lc.nightly.20270209.deccan", "cancelled", 1),
        ("lc.nightly.20270211.deccan", "cancelled", 1),
    ]
    assert ok(run("blackout", "reject", "3", "--reason", "too late")) == "blackout 3 of thames rejected\n"
    assert ok(run("blackout", "remove", "1")) == "removed blackout 1 of deccan; notices queued: 1\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["blackout", "add", "deccan", "--label", "x"], "give exactly one of"),
        (["blackout", "add", "deccan", "--yearly", "11-31:12-01", "--label", "x"], "11-31 is not a date"),
        (
            ["blackout", "add", "deccan", "--monthly", "last-2", "--yearly", "11-01:11-02", "--label", "x"],
            "exactly one",
        ),
        (["blackout", "add", "nobody", "--monthly", "1-2", "--label", "x"], "nobody"),
        (["blackout", "approve", "9"], "no blackout 9"),
        (
            [
                "freeze",
                "add",
                "--start",
                "2027-03-15T00:00",
                "--end",
                "2027-03-20T00:00",
                "--tz",
                "UTC",
                "--reason",
                "x",
            ],
            "--product P or --all",
        ),
        (
            [
                "freeze",
                "add",
                "--all",
                "--start",
                "2027-03-15T00:00",
                "--end",
                "2027-03-20T00:00",
                "--tz",
                "Mars/Base",
                "--reason",
                "x",
            ],
            "unknown time zone",
        ),
        (["conflicts", "resolve", "pw.nightly.20270209", "--customer", "deccan", "--reason", "x"], "give --override"),
    ],
)
def test_bad_input_is_one_error_line(run: Invoke, args: list[str], message: str) -> None:
    assert message in bad(run(*args))


def test_conflicts_exit_1_inside_the_notice_period_until_resolved(run: Invoke) -> None:
    ok(run("blackout", "add", "deccan", "--start", "2027-02-08T00:00", "--end", "2027-02-12T00:00", "--label", "Audit"))
    listed = json.loads(ok(run("conflicts", "--from", "2027-02-01", "--to", "2027-03-01", "--json")))
    assert [(c["occurrence"], c["customer"], c["blackout"], c["resolution"], c["deadline"]) for c in listed] == [
        ("lc.nightly.20270209.deccan", "deccan", 1, "skipped", "2027-01-09T18:30:00Z"),
        ("pw.nightly.20270209", "deccan", 1, "unresolved", "2027-01-10T05:00:00Z"),
        ("lc.nightly.20270211.deccan", "deccan", 1, "skipped", "2027-01-11T18:30:00Z"),
        ("pw.nightly.20270211", "deccan", 1, "unresolved", "2027-01-12T05:00:00Z"),
    ]
    later = datetime.fromisoformat("2027-01-11T00:00:00+00:00")
    result = run("conflicts", "--from", "2027-02-01", "--to", "2027-03-01", "--json", now=later)
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)) == 4
    assert result.stderr.startswith(
        "error: 1 unresolved conflict(s) inside the notice period, first: pw.nightly.20270209"
    )
    out = ok(
        run(
            "conflicts",
            "resolve",
            "pw.nightly.20270209",
            "--customer",
            "deccan",
            "--override",
            "--reason",
            "patch",
            now=later,
        )
    )
    assert out == "pw.nightly.20270209 proceeds in blackout 1 of deccan (overridden)\n"
    ok(run("conflicts", "--from", "2027-02-01", "--to", "2027-03-01", now=later))


def test_freeze_refuses_a_move_into_it(run: Invoke) -> None:
    out = ok(
        run(
            "freeze",
            "add",
            "--all",
            "--start",
            "2027-03-15T00:00",
            "--end",
            "2027-03-20T00:00",
            "--tz",
            "America/New_York",
            "--reason",
            "release",
        )
    )
    assert out.splitlines()[0] == "freeze 1 over all products: 2027-03-15T04:00:00Z - 2027-03-20T04:00:00Z"
    assert json.loads(ok(run("freeze", "list", "--json"))) == [
        {
            "id": 1,
            "products": "all",
            "start": "2027-03-15T04:00:00Z",
            "end": "2027-03-20T04:00:00Z",
            "timezone": "America/New_York",
            "reason": "release",
        }
    ]
    line = bad(run("occurrence", "move", "pw.nightly.20270323", "--to", "2027-03-17T05:00:00Z", "--reason", "x"))
    assert line == (
        "error: the new time 2027-03-17T05:00:00Z - 2027-03-17T08:00:00Z falls in change freeze 1 over all products "
        "(2027-03-15T04:00:00Z - 2027-03-20T04:00:00Z: release); choose a time outside it"
    )
    assert ok(run("freeze", "remove", "1")).startswith("removed freeze 1; notices queued: ")
