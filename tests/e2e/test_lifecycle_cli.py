"""``maintcal customer set``, ``customer endpoint ...``, ``deliveries`` and ``notices status`` with
endpoints, through the CLI (issue 15), against a real webhook receiver on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg  # noqa: F401  (its C module must load before freezegun replaces datetime)
import pytest
from click.testing import CliRunner, Result
from freezegun.api import FrozenDateTimeFactory

from cli import maintcal
from scheduler.store.db import Database
from tests.integration.notice_fixtures import FIRST, build
from tests.webhook_receiver import Receiver

FROZEN = pytest.mark.freeze_time("2027-01-04T12:00:00Z", real_asyncio=True)


def run(db_url: str, tmp_path: Path, *args: str) -> Result:
    env = {
        "MAINTCAL_PICKUP_DIR": str(tmp_path / "pickup"),
        "MAINTCAL_SMTP_URL": "",
        "MAINTCAL_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    return CliRunner().invoke(maintcal, ["--db", db_url, *args], env=env)


@FROZEN
def test_endpoints_options_and_deliveries(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver, freezer: FrozenDateTimeFactory
) -> None:
    build(db, contacts=("a@acme.example",))
    options = run(db_url, tmp_path, "customer", "set", "acme", "--reminders", "48h", "--lifecycle-notices")
    assert options.stdout == "acme: reminders 48h; started/finished notices for planned windows on\n"
    added = run(db_url, tmp_path, "customer", "endpoint", "add", "acme", "--kind", "webhook", "--url", receiver.url)
    assert added.exit_code == 0, added.output
    first, second = added.stdout.splitlines()
    assert first == "added webhook endpoint 1 to acme" and second.startswith("signing secret (shown only now): whsec_")
    listed = run(db_url, tmp_path, "customer", "endpoint", "list", "acme", "--json")
    assert json.loads(listed.stdout) == [
        {"id": 1, "customer": "acme", "kind": "webhook", "url": receiver.url, "events": None}
    ]
    assert "whsec_" not in listed.stdout

    assert run(db_url, tmp_path, "notices", "plan").exit_code == 0
    assert run(db_url, tmp_path, "notices", "send").exit_code == 0
    status = run(db_url, tmp_path, "notices", "status")
    assert status.stdout.splitlines()[1:] == ["  email: sent 1", "  webhook: sent 1"]
    told = json.loads(run(db_url, tmp_path, "deliveries", "--occurrence", FIRST, "--json").stdout)
    assert [(d["channel"], d["recipient"], d["kind"], d["event"], d["status"], d["sent_at"]) for d in told] == [
        ("email", "a@acme.example", "announce", "occurrence.announced", "sent", "2027-01-04T12:00:00Z"),
        (
            "webhook",
            f"webhook endpoint 1 (http://127.0.0.1:{receiver.port}/...)",
            "announce",
            "occurrence.announced",
            "sent",
            "2027-01-04T12:00:00Z",
        ),
    ]
    assert told[0]["message_id"].startswith("<") and told[1]["webhook_id"] == receiver.requests[0].headers["webhook-id"]
    table = run(db_url, tmp_path, "deliveries", "--occurrence", FIRST)
    assert "a@acme.example" in table.stdout and "webhook" in table.stdout
    assert run(db_url, tmp_path, "deliveries", "--occurrence", "pe.tue.20990101").stdout == (
        "no deliveries about pe.tue.20990101\n"
    )


@FROZEN
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customer", "set", "acme", "--reminders", "soon"], "error: invalid duration 'soon'"),
        (["customer", "set", "acme", "--reminders", "none,24h"], "error: reminders: 'none' cannot be combined"),
        (["customer", "endpoint", "add", "acme", "--kind", "webhook", "--url", "ftp://x/y"], "error: --url refused"),
        (["customer", "endpoint", "rotate-secret", "acme", "7"], "error: customer 'acme' has no endpoint 7"),
    ],
)
def test_bad_input_is_one_error_line(
    db: Database, db_url: str, tmp_path: Path, args: list[str], message: str, freezer: FrozenDateTimeFactory
) -> None:
    build(db)
    result = run(db_url, tmp_path, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
