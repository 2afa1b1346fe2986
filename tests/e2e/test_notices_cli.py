"""``maintcal notices``, ``compliance`` and ``worker`` through the CLI (CliRunner and a subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg  # noqa: F401  (its C module must load before freezegun replaces datetime)
import pytest
from click.testing import CliRunner, Result
from freezegun.api import FrozenDateTimeFactory
from sqlalchemy import update

from cli import maintcal
from scheduler.catalogue import edits as catalogue
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery
from tests.integration.notice_fixtures import CONTACTS, FIRST, NOW, build
from tests.smtp_server import FaultHandler, smtp_server

FROZEN = pytest.mark.freeze_time("2027-01-04T12:00:00Z", real_asyncio=True)


def run(db_url: str, tmp_path: Path, *args: str, **env: str) -> Result:
    environment = {"MAINTCAL_PICKUP_DIR": str(tmp_path / "pickup"), "MAINTCAL_SMTP_URL": "", **env}
    return CliRunner().invoke(maintcal, ["--db", db_url, *args], env=environment)


@FROZEN
def test_plan_send_status_and_compliance(
    db: Database, db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    build(db)
    dry = run(db_url, tmp_path, "notices", "plan", "--dry-run", "--json")
    assert (dry.exit_code, dry.stderr) == (0, "")
    assert json.loads(dry.stdout) == {
        "dry_run": True,
        "deliveries": 3,
        "customers": 1,
        "occurrences": 1,
        "digests": [{"customer": "acme", "contact": c, "occurrences": [FIRST]} for c in CONTACTS],
    }
    planned = run(db_url, tmp_path, "notices", "plan")
    assert planned.exit_code == 0
    assert (
        planned.stdout.splitlines()[-1] == "queued 3 digest(s) to contacts of 1 customer(s), announcing 1 occurrence(s)"
    )
    assert run(db_url, tmp_path, "notices", "plan").stdout == (
        "queued 0 digest(s) to contacts of 0 customer(s), announcing 0 occurrence(s)\n"
    )
    status = run(db_url, tmp_path, "notices", "status", "--json")
    assert json.loads(status.stdout) == {
        "counts": {"queued": 3, "sending": 0, "sent": 0, "failed": 0, "superseded": 0},
        "due_now": 3,
        "next_attempt_at": "2027-01-04T12:00:00Z",
        "uncertain": 0,
        "at_risk": [],
        "failed": [],
        "channels": {"email": {"queued": 3, "sending": 0, "sent": 0, "failed": 0, "superseded": 0}},
    }
    freezer.move_to("2027-01-04T12:01:00Z")
    sent = run(db_url, tmp_path, "notices", "send", "--once")
    assert (sent.exit_code, sent.stderr) == (0, "")
    assert sent.stdout == f"sent 3, to retry 0, failed 0 via pickup directory {tmp_path / 'pickup'}\n"
    assert len(list((tmp_path / "pickup").glob("*.eml"))) == 3
    freezer.move_to("2027-03-01T00:00:00Z")
    report = run(db_url, tmp_path, "compliance", "--from", "2027-02-09", "--to", "2027-02-10", "--json")
    assert (report.exit_code, report.stderr) == (0, "")
    [item] = json.loads(report.stdout)
    assert {k: item[k] for k in ("occurrence", "customer", "deadline", "state", "noticed_at", "notified")} == {
        "occurrence": FIRST,
        "customer": "acme",
        "deadline": "2027-01-10T05:00:00Z",
        "state": "noticed",
        "noticed_at": "2027-01-04T12:01:00Z",
        "notified": list(CONTACTS),
    }
    table = run(db_url, tmp_path, "compliance", "--from", "2027-02-09", "--to", "2027-02-10")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[-1] == "noticed 1"


@FROZEN
def test_compliance_exits_1_on_a_violation(
    db: Database, db_url: str, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    build(db)
    catalogue.add_customer(db, NOW, "bare", "No Contacts Ltd", "UTC", [])
    catalogue.subscribe(db, NOW, "bare", ["pe"])
    freezer.move_to("2027-03-01T00:00:00Z")
    result = run(
        db_url, tmp_path, "compliance", "--customer", "bare", "--from", "2027-02-01", "--to", "2027-02-12", "--json"
    )
    assert result.exit_code == 1
    assert result.stderr == "error: 1 occurrence(s) not announced in time, first: pe.tue.20270209 for bare\n"
    [item] = json.loads(result.stdout)
    assert (item["state"], item["reasons"][0]["reason"]) == ("violated", "no contact")


@FROZEN
def test_a_permanent_failure_fails_the_send_and_shows_in_status(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    handler = FaultHandler(rcpt={"c@acme.example": ["550 5.1.1 no such user"]})
    server = smtp_server(handler)
    try:
        assert run(db_url, tmp_path, "notices", "plan").exit_code == 0
        sent = run(db_url, tmp_path, "notices", "send", "--once", MAINTCAL_SMTP_URL=server.url)
    finally:
        server.stop()
    assert sent.exit_code == 1
    assert sent.stdout == f"sent 2, to retry 0, failed 1 via {server.url}\n"
    assert sent.stderr == (
        "  failed: c@acme.example: 550 5.1.1 no such user\n"
        "error: 1 delivery(ies) failed permanently (see 'maintcal notices status')\n"
    )
    status = json.loads(run(db_url, tmp_path, "notices", "status", "--json").stdout)
    assert [(f["contact"], f["status"], f["last_error"]) for f in status["failed"]] == [
        ("c@acme.example", "failed", "550 5.1.1 no such user")
    ]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["compliance", "--from", "2027-02-01", "--to", "2027-01-01"],
            {},
            "error: --to 2027-01-01 must be after --from 2027-02-01\n",
        ),
        (["compliance", "--customer", "nope"], {}, "error: no customer 'nope' (see 'maintcal customer list')\n"),
        (["compliance", "--from", "2027-13-01"], {}, None),
        (
            ["notices", "send", "--once"],
            {"MAINTCAL_SMTP_URL": "ftp://user:hunter2@host"},
            "error: MAINTCAL_SMTP_URL must start with smtp:// or smtps:// (e.g. smtp://host:587?starttls=true)\n",
        ),
        (
            ["notices", "send"],
            {"MAINTCAL_MAIL_FROM": "x@y.example\r\nBcc: victim@example.org"},
            "error: MAINTCAL_MAIL_FROM 'x@y.example\\r\\nBcc: victim@example.org' contains a line break\n",
        ),
        (["worker", "--interval", "0"], {}, "error: --interval 0: use a number of seconds above zero\n"),
        (
            ["notices", "status"],
            {"MAINTCAL_LEASE_SECONDS": "soon"},
            "error: MAINTCAL_LEASE_SECONDS='soon' is not a number\n",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(
    db_url: str, tmp_path: Path, args: list[str], env: dict[str, str], message: str | None
) -> None:
    result = run(db_url, tmp_path, *args, **env)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    if message is not None:
        assert result.stderr == message
    else:
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "hunter2" not in result.stderr


def test_an_unmigrated_database_is_explained(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path, "notices", "status")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: ") and "maintcal db upgrade" in result.stderr


def test_the_worker_process_sends_and_stops_cleanly_on_sigterm(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db)
    from scheduler.notices.planning import plan_notices
    from tests.integration.notice_fixtures import settings_for

    plan_notices(db, NOW, settings_for(db_url, tmp_path))
    with db.transaction() as session:
        session.execute(update(Delivery).values(next_attempt_at=NOW.replace(year=2020)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTCAL_")}
    env.update(MAINTCAL_DATABASE_URL=db_url, MAINTCAL_PICKUP_DIR=str(tmp_path / "pickup"))
    worker = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "worker", "--interval", "1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while len(list((tmp_path / "pickup").glob("*.eml"))) < 3:
        assert time.monotonic() < deadline and worker.poll() is None, "the worker did not send"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert (worker.returncode, out) == (0, "worker stopped\n")
    assert "sending via pickup directory" in err and "sent 3, to retry 0, failed 0" in err
