"""The catalogue of the blackout tests (integration and CLI).

NOW = Monday 2027-01-04 12:00Z. Products (notice 30 days): ``lc`` has a ``local`` rule ``nightly``
Tue & Thu 00:00-06:00 (on_blackout skip); ``ln`` a ``local`` rule ``early`` Tue 00:00-06:00
(on_blackout next); ``pw`` a product-wide rule ``nightly`` Tue & Thu 00:00-03:00 New York.
Customers: ``deccan`` (Asia/Kolkata; lc, pw), ``thames`` (Europe/London; lc, pw), ``nyc``
(America/New_York; ln).
"""

from __future__ import annotations

from datetime import UTC, datetime

from scheduler.blackouts.policy import set_policy
from scheduler.catalogue import edits as catalogue
from scheduler.store.db import Database
from windows.rulespec import RuleOptions, build_rule

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def load(db: Database) -> None:
    for key, name in (("lc", "Local Cloud"), ("ln", "Local Next"), ("pw", "Premier")):
        catalogue.add_product(db, NOW, key, name, 30)
    for options in (
        RuleOptions("lc", "nightly", "local", days="tue,thu", start="00:00", end="06:00"),
        RuleOptions("ln", "early", "local", days="tue", start="00:00", end="06:00"),
        RuleOptions("pw", "nightly", "America/New_York", days="tue,thu", start="00:00", end="03:00"),
    ):
        rule, _ = build_rule(options)
        catalogue.add_window(db, NOW, rule, waive_notice="test catalogue")
    set_policy(db, NOW, "ln", on_blackout="next")
    catalogue.add_customer(db, NOW, "deccan", "Deccan Retail", "Asia/Kolkata", ["ops@deccan.example"])
    catalogue.add_customer(db, NOW, "thames", "Thames", "Europe/London", ["a@thames.example"])
    catalogue.add_customer(db, NOW, "nyc", "NYC Bank", "America/New_York", ["ops@nyc.example"])
    catalogue.subscribe(db, NOW, "deccan", ["lc", "pw"])
    catalogue.subscribe(db, NOW, "thames", ["lc", "pw"])
    catalogue.subscribe(db, NOW, "nyc", ["ln"])
