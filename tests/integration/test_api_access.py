"""A customer sees and touches only the products it subscribes to (issue 9 §3), on both databases.

``nile`` subscribes to ``pe`` only. ``pp`` is a private product that only ``thames`` buys, ``pc``
has a ``local`` rule (ids carry the customer). For nile, an id of ``pp`` or ``pc`` must answer
exactly like an id that does not exist, through the service, the CLI and the HTTP API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import maintcal
from commands.common import AppContext
from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.http.app import create_app
from scheduler.occurrences import reschedule
from scheduler.store.db import Database
from tests.http_client import ApiClient
from tests.integration.changes_fixtures import NOW, load, settings, utc
from windows.errors import NotFound
from windows.rulespec import RuleOptions, build_rule

# (occurrence id, proposed start): real occurrences of products nile does not buy, then ids that
# do not exist at all. Each must get the same answer as the others.
NOT_NILES = [
    ("pp.nightly.20270302", "2027-03-03T05:00:00Z"),  # private product, thames only
    ("pc.early.20270302.nile", "2027-03-03T00:00:00Z"),  # local rule of a product nile does not buy
    ("pc.early.20270302.thames", "2027-03-03T00:00:00Z"),  # another customer's local occurrence
    ("pp.nightly.00010101", "2027-03-03T05:00:00Z"),  # unsubscribed: never expanded, whatever the date
    ("pp.unplanned-1", "2027-03-03T05:00:00Z"),
    ("pp.nightly.20270303", "2027-03-03T05:00:00Z"),  # no occurrence that day
    ("zz.nightly.20270302", "2027-03-03T05:00:00Z"),  # no such product
    ("zz.unplanned-1", "2027-03-03T05:00:00Z"),
    ("pe.nightly.20270303", "2027-03-03T05:00:00Z"),  # nile's product, no occurrence that day
    ("pe", "2027-03-03T05:00:00Z"),
]


def load_private(db: Database) -> None:
    """``load`` plus the private product ``pp`` (Tue & Thu 00:00-03:00 New York) bought by thames only."""
    load(db)
    catalogue.add_product(db, NOW, "pp", "Private Platform", 30)
    rule, _ = build_rule(RuleOptions("pp", "nightly", "America/New_York", days="tue,thu", start="00:00", end="03:00"))
    catalogue.add_window(db, NOW, rule, waive_notice="test catalogue")
    catalogue.subscribe(db, NOW, "thames", ["pp"])


@pytest.fixture
def loaded(db: Database) -> Database:
    load_private(db)
    return db


@pytest.fixture
def api(loaded: Database, db_url: str, tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(create_app(settings(tmp_path, db_url), database=loaded, clock=lambda: NOW))
    yield client
    client.close()


def _missing(occurrence: str, customer: str = "nile") -> str:
    return f"no occurrence '{occurrence}' for customer '{customer}'"


@pytest.mark.parametrize(("occurrence", "to"), NOT_NILES)
def test_service_refuses_products_not_bought(loaded: Database, occurrence: str, to: str) -> None:
    with pytest.raises(NotFound) as refused:
        reschedule.request(loaded, NOW, customer="nile", occurrence_id=occurrence, proposed_start=utc(to))
    assert refused.value.message == _missing(occurrence)
    assert reschedule.list_requests(loaded) == []


def test_a_subscriber_still_may_ask(loaded: Database) -> None:
    info = reschedule.request(
        loaded, NOW, customer="thames", occurrence_id="pp.nightly.20270302", proposed_start=utc("2027-03-03T05:00:00Z")
    )
    assert (info.id, info.product, info.customer, info.status) == (1, "pp", "thames", "pending")


def test_unsubscribing_ends_access_and_approval(loaded: Database, tmp_path: Path, db_url: str) -> None:
    info = reschedule.request(
        loaded, NOW, customer="thames", occurrence_id="pp.nightly.20270302", proposed_start=utc("2027-03-03T05:00:00Z")
    )
    catalogue.subscribe(loaded, NOW, "thames", ["pp"], subscribed=False)
    with pytest.raises(NotFound) as refused:
        reschedule.approve(loaded, NOW, settings(tmp_path, db_url), info.id)
    assert refused.value.message == _missing("pp.nightly.20270302", "thames")
    with pytest.raises(NotFound):
        reschedule.request(
            loaded,
            NOW,
            customer="thames",
            occurrence_id="pp.nightly.20270304",
            proposed_start=utc("2027-03-05T05:00:00Z"),
        )
    [still] = reschedule.list_requests(loaded)
    assert (still.id, still.status) == (info.id, "pending")  # ops can still reject it


@pytest.mark.parametrize(("occurrence", "to"), NOT_NILES)
def test_cli_refuses_products_not_bought(
    loaded: Database, db_url: str, tmp_path: Path, occurrence: str, to: str
) -> None:
    result = CliRunner().invoke(
        maintcal,
        ["reschedule", "request", occurrence, "--customer", "nile", "--to", to],
        obj=AppContext(settings(tmp_path, db_url), now=NOW),
    )
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {_missing(occurrence)}\n")


@pytest.mark.parametrize(("occurrence", "to"), NOT_NILES)
def test_api_answers_like_an_unknown_id(api: ApiClient, loaded: Database, occurrence: str, to: str) -> None:
    key = issue_api_key(loaded, NOW, "nile")
    response = api.call(
        "POST", "/api/v1/reschedule-requests", key, json={"occurrence": occurrence, "proposed_start": to}
    )
    assert (response.status_code, response.json()) == (404, {"error": _missing(occurrence)})
    assert response.headers["content-type"] == "application/json"
    assert api.call("GET", "/api/v1/reschedule-requests", key).json() == []


def test_occurrences_filtered_by_product(api: ApiClient, loaded: Database) -> None:
    nile = issue_api_key(loaded, NOW, "nile")
    thames = issue_api_key(loaded, NOW, "thames")
    window = "from=2027-03-02&to=2027-03-03"
    mine = api.call("GET", f"/api/v1/occurrences?{window}&product=pe", nile)
    assert (mine.status_code, [(o["id"], o["customer"], o["start"]) for o in mine.json()]) == (
        200,
        [("pe.nightly.20270302", "nile", "2027-03-02T05:00:00Z")],
    )
    bought = api.call("GET", f"/api/v1/occurrences?{window}&product=pp", thames)
    assert (bought.status_code, [o["id"] for o in bought.json()]) == (200, ["pp.nightly.20270302"])
    everything = api.call("GET", f"/api/v1/occurrences?{window}", nile)
    assert [o["id"] for o in everything.json()] == ["pe.nightly.20270302"]
    for product in ("pp", "pc", "zz", "PP", "a" * 300):
        response = api.call("GET", f"/api/v1/occurrences?{window}&product={product}", nile)
        assert (response.status_code, response.json()) == (404, {"error": f"no product '{product}'"})


def test_requests_of_others_are_unknown_ids(api: ApiClient, loaded: Database) -> None:
    thames = issue_api_key(loaded, NOW, "thames")
    nile = issue_api_key(loaded, NOW, "nile")
    body = {"occurrence": "pp.nightly.20270302", "proposed_start": "2027-03-03T05:00:00Z"}
    assert api.call("POST", "/api/v1/reschedule-requests", thames, json=body).status_code == 201
    theirs = api.call("GET", "/api/v1/reschedule-requests/1", nile)
    unknown = api.call("GET", "/api/v1/reschedule-requests/2", nile)
    assert (theirs.status_code, theirs.json()) == (404, {"error": "no reschedule request 1"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no reschedule request 2"})
    assert api.call("GET", "/api/v1/reschedule-requests", nile).json() == []
