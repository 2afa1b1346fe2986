"""Issue 9 §3 as reported, on the example catalogue: a customer may only ask about what it buys.

harbour-health subscribes to pureengage-cloud and outbound-engagement, not to premier-edition.
The clock is frozen at 2027-01-04T12:00Z; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg  # noqa: F401  (its C extension must be loaded before freezegun replaces datetime.date)
import pytest
from click.testing import CliRunner, Result

from cli import maintcal

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalogue.toml"
pytestmark = pytest.mark.freeze_time("2027-01-04T12:00:00Z")


def cli(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(maintcal, list(args), env={"MAINTCAL_DATABASE_URL": db_url})


def test_reschedule_request_for_a_product_not_bought(db_url: str) -> None:
    assert cli(db_url, "apply", str(EXAMPLE)).exit_code == 0
    ask = ["reschedule", "request", "premier-edition.nightly.20270316", "--to", "2027-03-20T02:00:00Z"]
    refused = cli(db_url, *ask, "--customer", "harbour-health")
    assert (refused.exit_code, refused.stdout, refused.stderr) == (
        2,
        "",
        "error: no occurrence 'premier-edition.nightly.20270316' for customer 'harbour-health'\n",
    )
    nothing = cli(db_url, "reschedule", "list", "--json")
    assert (nothing.exit_code, nothing.stdout) == (0, "[]\n")
    accepted = cli(db_url, *ask, "--customer", "thames-telecom")  # a subscriber may
    assert (accepted.exit_code, accepted.stdout, accepted.stderr) == (0, "1\n", "")
