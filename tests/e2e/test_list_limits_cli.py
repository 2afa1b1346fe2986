"""``maintcal occurrences`` refuses a listing longer than MAINTCAL_LIST_MAX_ROWS (issue 10 §2).

The listing is gathered a quarter at a time (and stops once too long): it must equal the service's
listing of the whole range, moves, cancellations and unplanned windows included.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler.occurrences.schedule import occurrences
from scheduler.serialize import occurrence_json
from scheduler.settings import Settings
from scheduler.store.db import Database
from tests.feed_helpers import cli, load_dst_catalogue


@pytest.mark.parametrize("view", [[], ["--customer", "koala"], ["--product", "ny", "--all"]])
def test_a_listing_in_quarters_equals_the_whole_range(db: Database, db_url: str, view: list[str]) -> None:
    load_dst_catalogue(db)
    result = cli(db_url, "occurrences", *view, "--from", "2026-12-01", "--to", "2028-02-01", "--json")
    assert result.exit_code == 0, result.output
    options = {"--customer": "customer", "--product": "product"}
    named: dict[str, Any] = {options[k]: v for k, v in zip(view[::2], view[1::2], strict=False) if k in options}
    with db.transaction() as session:
        whole = occurrences(
            session,
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2028, 2, 1, tzinfo=UTC),
            include_cancelled="--all" in view,
            **named,
        )
    expected = [occurrence_json(s, Settings().uid_domain) for s in whole]
    assert len(expected) > 100
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_listing_over_the_limit_is_refused(db: Database, db_url: str, as_json: list[str]) -> None:
    load_dst_catalogue(db)
    args = ["occurrences", "--from", "2027-01-01", "--to", "2036-12-31", *as_json]
    result = cli(db_url, *args, env={"MAINTCAL_LIST_MAX_ROWS": "100"})
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: more than 100 occurrences between 2027-01-01 and 2036-12-31 (MAINTCAL_LIST_MAX_ROWS): "
        "narrow --from/--to, or name --product or --customer\n"
    )
    assert cli(db_url, *args[:4], "2027-02-01", *as_json, env={"MAINTCAL_LIST_MAX_ROWS": "100"}).exit_code == 0


def test_a_preview_over_the_limit_is_refused(db_url: str) -> None:
    rule = ["window", "preview", "--cron", "*/30 * * * *", "--duration", "15m", "--tz", "UTC"]
    too_long = cli(db_url, *rule, "--from", "2027-01-01", "--to", "2027-01-04", env={"MAINTCAL_LIST_MAX_ROWS": "100"})
    assert (too_long.exit_code, too_long.stdout) == (2, "")
    assert too_long.stderr == (
        "error: more than 100 occurrences between 2027-01-01 and 2027-01-04 (MAINTCAL_LIST_MAX_ROWS): "
        "narrow --from/--to\n"
    )
    fits = cli(
        db_url, *rule, "--from", "2027-01-01", "--to", "2027-01-03", "--json", env={"MAINTCAL_LIST_MAX_ROWS": "96"}
    )
    assert fits.exit_code == 0, fits.output
    assert len(json.loads(fits.stdout)) == 96
