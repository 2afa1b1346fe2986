"""A stateful property test of the service layer (issue 9 §2): years of catalogue edits never break a promise.

Hypothesis drives random sequences of the functions behind the CLI commands, on SQLite and on
PostgreSQL, with a fresh database per example and a model clock starting 2026-12-01:

- ``apply`` of a generated catalogue file (add / change / remove windows of every form, customers
  with zones, contacts, subscriptions), ``window retire``, ``occurrence move|cancel`` (product-wide
  and per customer, with and without a notice waiver), ``reschedule request|approve|reject``,
  ``unplanned declare|extend|end``, a notice planning pass followed by sending with the pickup
  sender (real files) or by marking the deliveries sent, and clock advances of hours to months.

Domain refusals (``MaintcalError``: InvalidInput, Conflict, NotFound, PolicyRefused...) are fine
outcomes of a step, except for the notice planning pass, which takes no input and must never be
refused; any other exception fails the test, and so does a reschedule request accepted from a
customer that does not subscribe to the product. After every step, ``check_everything``
asserts the invariants listed in its docstring.

Budget: ``MAINTCAL_STATEFUL_EXAMPLES`` (default 200) examples of ``MAINTCAL_STATEFUL_STEPS``
(default 30) steps *per database*: 200 examples of 30 steps on SQLite and 200 on PostgreSQL.
Measured on the 2-core development machine: 100 + 100 examples took 6.5 minutes while another
test run shared the cores, so the default costs about 13 minutes of CI's 90. Each step
costs about 0.1 s: the invariants run every listing, feed, notice plan, compliance and four SLA
reports; they are skipped after a step that changed nothing (a refusal rolls back).

Reproducibility: in CI (hypothesis detects ``CI=...``) its ``ci`` profile derandomizes, so every
run explores the same sequences; locally the search is random and a failure found once is
replayed first from ``.hypothesis/``. For a quick local iteration:
``MAINTCAL_STATEFUL_EXAMPLES=10 .venv/bin/pytest tests/integration/test_stateful.py -k sqlite``.
A failure prints the steps with every service call, its outcome and the catalogue file applied.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from sqlalchemy import Engine, create_engine, func, select, text, update

from scheduler.blackouts import declare as blackouts
from scheduler.catalogue import edits as catalogue_service
from scheduler.catalogue.apply import apply_catalogue
from scheduler.catalogue.catalogue_file import parse_catalogue
from scheduler.feeds.content import customer_feed, horizon, product_feed
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_due
from scheduler.occurrences import reschedule, unplanned
from scheduler.occurrences.changes import change_occurrence
from scheduler.occurrences.schedule import occurrences
from scheduler.reports.compliance import compliance
from scheduler.reports.sla_report import sla_report
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import Product, WindowRule
from scheduler.store.models_outbox import QUEUED, SENDING, SENT, Delivery, DeliveryOccurrence, Notice
from tests.integration.stateful_catalogue import (
    CONTACTS,
    CUSTOMER_KEYS,
    CUSTOMER_NAMES,
    CUSTOMER_ZONES,
    PRODUCTS,
    RULE_NAMES,
    CatalogueModel,
    customers,
    render,
    windows,
)
from tests.pgserver import PgServer
from windows.blackouts import parse_monthly, parse_once, parse_yearly
from windows.errors import MaintcalError
from windows.notice import EXEMPT, NOTICED, VIOLATED, WAIVED
from windows.schedule import Scheduled

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("MAINTCAL_STATEFUL_EXAMPLES", "200"))
STEPS = int(os.environ.get("MAINTCAL_STATEFUL_STEPS", "30"))
# The invariants look at a short range around now (31 days back, like the feeds; 31 days ahead,
# beyond every notice deadline: notice_days <= 10). Every FULL_FEEDS_EVERY steps the feeds are
# also checked over the server's full horizon (31 days back, 13 months ahead).
RANGE = timedelta(days=31)
FULL_FEEDS_EVERY = 10
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PRODUCT_KEYS = tuple(p.key for p in PRODUCTS)
PASSED_DEADLINE_STATES = {NOTICED, VIOLATED, WAIVED, EXEMPT}

T = TypeVar("T")
Created = dict[tuple[str, str], tuple[date | None, datetime]]  # (product, rule) -> (valid_from, created_at)


# -- fresh databases, cheaply --------------------------------------------------------------------------


class Databases(Protocol):
    def create(self) -> str: ...

    def drop(self, url: str) -> None: ...


class SqliteDatabases:
    """A copy of the migrated template file per example."""

    def __init__(self, template: Path, scratch: Path) -> None:
        self.template, self.scratch, self.counter = template.read_bytes(), scratch, itertools.count()

    def create(self) -> str:
        path = self.scratch / f"stateful-{next(self.counter)}.db"
        path.write_bytes(self.template)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)


class PostgresDatabases:
    """``CREATE DATABASE ... TEMPLATE maintcal_template`` per example, over one admin connection pool."""

    def __init__(self, server: PgServer) -> None:
        self.server, self.counter = server, itertools.count()
        self.admin: Engine = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        name = f"stateful_{next(self.counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE maintcal_template"))
        return self.server.url(name)

    def drop(self, url: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))


# -- the machine -----------------------------------------------------------------------------------------


def z(instant: Any) -> str:
    assert isinstance(instant, datetime), instant
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class MaintcalMachine(RuleBasedStateMachine):
    """The service layer under random use; the model keeps the catalogue file, the clock and ids."""

    databases: ClassVar[Databases]
    scratch: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        self.url = self.databases.create()
        self.db = Database.open(self.url)
        self.pickup = Path(tempfile.mkdtemp(prefix="pickup-", dir=self.scratch))
        self.settings = Settings(
            database_url=self.url, pickup_dir=self.pickup, lead_days=2, smtp_connections=1, send_batch=100
        )
        self.now = START
        self.model = CatalogueModel()
        self.requests: list[int] = []
        self.unplanned: dict[str, bool] = {}  # id -> limited to named customers
        # The previous product-wide listing and its range, and what changed since (for stable ids).
        self.listing: dict[str, Scheduled] = {}
        self.listed_range: tuple[datetime, datetime] | None = None
        self.dirty_rules: set[tuple[str, str]] = set()
        self.dirty_bases: set[str] = set()
        self.dirty_customers: set[str] = set()
        self.sent_files = 0
        self.checks = 0
        self.touched = True  # False after a step that changed nothing (no call, or a refusal: rolled back)

    def teardown(self) -> None:
        self.db.dispose()
        self.databases.drop(self.url)
        shutil.rmtree(self.pickup, ignore_errors=True)

    @property
    def today(self) -> date:
        return self.now.date()

    def attempt(self, what: str, call: Callable[[], T]) -> T | None:
        """Run one service call; a domain refusal is a fine outcome (noted), anything else fails."""
        try:
            result = call()
        except MaintcalError as error:
            note(f"[{z(self.now)}] {what}: refused ({type(error).__name__}: {error.message})")
            return None
        note(f"[{z(self.now)}] {what}: ok")
        self.touched = True
        return result

    # -- steps ---------------------------------------------------------------------------------------

    @initialize(first=customers(CUSTOMER_KEYS[0]))
    def load_products(self, first: Any) -> None:
        new = self.model.copy()
        new.customers[first.key] = first
        self.apply_model(new)

    @rule(data=st.data(), edit=st.sampled_from(("add", "change", "remove", "customer", "contact", "subscription")))
    def apply(self, data: st.DataObject, edit: str) -> None:
        """Edit the catalogue file (one change) and apply it as ``maintcal apply`` does."""
        new = self.model.copy()
        if edit in ("add", "change", "remove"):
            product = data.draw(st.sampled_from(PRODUCT_KEYS), "product")
            listed = sorted(new.windows[product])
            names = [n for n in RULE_NAMES if n not in listed] if edit == "add" else listed
            if not names:
                return
            name = data.draw(st.sampled_from(names), "window")
            if edit == "remove":
                del new.windows[product][name]
            else:
                new.windows[product][name] = data.draw(windows(name, self.today), "rule")
        elif edit == "customer":
            key = data.draw(st.sampled_from(CUSTOMER_KEYS), "customer")
            if key in new.customers:
                new.customers[key] = replace(
                    new.customers[key],
                    name=data.draw(st.sampled_from(CUSTOMER_NAMES), "name"),
                    tz=data.draw(st.sampled_from(CUSTOMER_ZONES), "tz"),
                )
            else:
                new.customers[key] = data.draw(customers(key), "new customer")
        else:
            if not new.customers:
                return
            key = data.draw(st.sampled_from(sorted(new.customers)), "customer")
            old = new.customers[key]
            if edit == "contact":
                email = data.draw(st.sampled_from(CONTACTS), "contact")
                contacts = tuple(c for c in old.contacts if c != email) + (() if email in old.contacts else (email,))
                new.customers[key] = replace(old, contacts=contacts)
            else:
                product = data.draw(st.sampled_from(PRODUCT_KEYS), "product")
                subs = tuple(s for s in old.subscriptions if s != product)
                new.customers[key] = replace(
                    old, subscriptions=subs + (() if product in old.subscriptions else (product,))
                )
        self.apply_model(new)

    def apply_model(self, new: CatalogueModel) -> None:
        text_ = render(new)
        note(f"catalogue file:\n{text_}")
        plan = self.attempt(
            "apply", lambda: apply_catalogue(self.db, self.now, parse_catalogue(text_, "stateful.toml"))
        )
        if plan is None:
            return
        for product in PRODUCT_KEYS:
            before, after = self.model.windows[product], new.windows[product]
            self.dirty_rules |= {(product, n) for n in set(before) | set(after) if before.get(n) != after.get(n)}
        for key, customer in new.customers.items():
            old = self.model.customers.get(key)
            if old is None or (old.tz, sorted(old.subscriptions)) != (customer.tz, sorted(customer.subscriptions)):
                self.dirty_customers.add(key)
        self.model = new

    @rule(data=st.data(), days=st.sampled_from((None, 1, 7, 30, 0, -2)))
    def retire(self, data: st.DataObject, days: int | None) -> None:
        """``window retire PRODUCT RULE [--from DATE]`` of a rule that exists (started or not)."""
        rules = [(r.product, r.name) for r in catalogue_service.list_windows(self.db)]
        if not rules:
            return
        product, name = data.draw(st.sampled_from(rules), "rule")
        cutoff = None if days is None else self.today + timedelta(days=days)
        if self.attempt(
            f"window retire {product} {name} --from {cutoff}",
            lambda: catalogue_service.retire_window(self.db, self.now, product, name, cutoff),
        ):
            self.dirty_rules.add((product, name))
            # The file must now say what the database says, or the next apply would revive the rule.
            stored = next(r for r in catalogue_service.list_windows(self.db, product) if r.name == name)
            window = self.model.windows[product].get(name)
            if window is not None:
                self.model.windows[product][name] = replace(
                    window, valid_from=stored.valid_from, valid_until=stored.valid_until
                )

    def planned(self) -> list[Scheduled]:
        return [s for _, s in sorted(self.listing.items()) if s.kind == "planned" and s.status != "cancelled"]

    @precondition(lambda self: any(s.kind == "planned" for s in self.listing.values()))
    @rule(
        data=st.data(),
        action=st.sampled_from(("move", "cancel")),
        per_customer=st.booleans(),
        shift=st.sampled_from((DAY, 2 * HOUR, 3 * DAY, -3 * HOUR, 20 * DAY)),
        waive=st.booleans(),
    )
    def change(self, data: st.DataObject, action: str, per_customer: bool, shift: timedelta, waive: bool) -> None:
        """``occurrence move|cancel ID [--customer C] [--to ...] [--waive-notice R]``."""
        planned = self.planned()
        if not planned:
            return
        item = data.draw(st.sampled_from(planned), "occurrence")
        customer = data.draw(st.sampled_from(CUSTOMER_KEYS), "customer") if per_customer else None
        to = item.start + shift if action == "move" else None
        waiver = "ops emergency" if waive else None
        if self.attempt(
            f"occurrence {action} {item.id} --customer {customer} --to {to and z(to)} --waive-notice {waiver}",
            lambda: change_occurrence(
                self.db,
                self.now,
                self.settings,
                item.id,
                action=action,
                reason="storage firmware",
                customer=customer,
                new_start=to,
                waive_notice=waiver,
            ),
        ):
            self.dirty_bases.add(item.occurrence.base_id)

    @precondition(lambda self: any(s.kind == "planned" for s in self.listing.values()))
    @rule(data=st.data(), shift=st.sampled_from((DAY, 6 * HOUR, -DAY, 3 * DAY, 10 * DAY)))
    def request_reschedule(self, data: st.DataObject, shift: timedelta) -> None:
        """``reschedule request ID --customer C --to ...`` (any customer, any listed occurrence)."""
        planned = self.planned()
        if not planned or not self.model.customers:
            return
        customer = data.draw(st.sampled_from(sorted(self.model.customers)), "customer")
        item = data.draw(st.sampled_from(planned), "occurrence")
        to = item.start + shift
        info = self.attempt(
            f"reschedule request {item.id} --customer {customer} --to {z(to)}",
            lambda: reschedule.request(
                self.db, self.now, customer=customer, occurrence_id=item.id, proposed_start=to, reason="quarter end"
            ),
        )
        if info is not None:
            product = item.occurrence.product
            assert product in self.model.customers[customer].subscriptions, (
                f"customer '{customer}' could request a move of {item.id} but does not subscribe to '{product}'"
            )
            self.requests.append(info.id)

    @precondition(lambda self: bool(self.requests))
    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data: st.DataObject, approve: bool) -> None:
        """``reschedule approve ID`` or ``reschedule reject ID --reason ...``."""
        request_id = data.draw(st.sampled_from(self.requests), "request")
        if approve:
            info = self.attempt(
                f"reschedule approve {request_id}",
                lambda: reschedule.approve(self.db, self.now, self.settings, request_id, "fine"),
            )
            if info is not None:
                self.dirty_bases.add(".".join(info.occurrence.split(".")[:3]))
        else:
            self.attempt(
                f"reschedule reject {request_id}",
                lambda: reschedule.reject(self.db, self.now, self.settings, request_id, "change freeze"),
            )

    @rule(
        data=st.data(),
        product=st.sampled_from(PRODUCT_KEYS),
        start=st.sampled_from((timedelta(0), -3 * HOUR, HOUR, 2 * DAY)),
        duration=st.sampled_from((2 * HOUR, timedelta(minutes=30), 8 * HOUR)),
        limited=st.booleans(),
    )
    def declare(self, data: st.DataObject, product: str, start: timedelta, duration: timedelta, limited: bool) -> None:
        """``unplanned declare PRODUCT [--customer C] --start ... --duration ...``."""
        named = [data.draw(st.sampled_from(CUSTOMER_KEYS), "customer")] if limited else []
        result = self.attempt(
            f"unplanned declare {product} --customer {named} --start {z(self.now + start)} --duration {duration}",
            lambda: unplanned.declare(
                self.db,
                self.now,
                self.settings,
                product,
                customers=named,
                start=self.now + start,
                duration=duration,
                reason="disk replacement",
            ),
        )
        if result is not None:
            self.unplanned[result.info.id] = limited
            self.dirty_bases.add(result.info.id)

    @precondition(lambda self: bool(self.unplanned))
    @rule(data=st.data(), finish=st.booleans(), by=st.sampled_from((HOUR, 3 * DAY)))
    def extend_or_end(self, data: st.DataObject, finish: bool, by: timedelta) -> None:
        """``unplanned end ID --at now`` or ``unplanned extend ID --by ...``."""
        occurrence_id = data.draw(st.sampled_from(sorted(self.unplanned)), "unplanned")
        if finish:
            done = self.attempt(
                f"unplanned end {occurrence_id} --at now",
                lambda: unplanned.end(self.db, self.now, self.settings, occurrence_id, at=self.now),
            )
        else:
            done = self.attempt(
                f"unplanned extend {occurrence_id} --by {by}",
                lambda: unplanned.extend(self.db, self.now, self.settings, occurrence_id, by=by, until=None),
            )
        if done is not None:
            self.dirty_bases.add(occurrence_id)

    @rule(
        data=st.data(),
        shape=st.sampled_from(("once", "yearly", "monthly")),
        ahead=st.sampled_from((2 * DAY, 40 * DAY, 5 * DAY)),
        decide=st.sampled_from(("approve", "reject", "leave")),
    )
    def blackout(self, data: st.DataObject, shape: str, ahead: timedelta, decide: str) -> None:
        """``blackout add CUSTOMER ...`` (issue 14), then ops approve or reject it if it is pending."""
        customer = data.draw(st.sampled_from(CUSTOMER_KEYS), "customer")
        first = self.now + ahead
        if shape == "once":
            spec = parse_once(f"{first:%Y-%m-%dT%H:00}", f"{first + 3 * DAY:%Y-%m-%dT%H:00}")
        elif shape == "yearly":
            spec = parse_yearly(f"{first:%m-%d}:{first + 2 * DAY:%m-%d}")
        else:
            spec = parse_monthly("last-2")
        info = self.attempt(
            f"blackout add {customer} {spec.text()}",
            lambda: blackouts.add_blackout(self.db, self.now, self.settings, customer, spec, "Quiet period"),
        )
        if info is None:
            return
        if info.status == "pending" and decide == "approve":
            self.attempt(
                f"blackout approve {info.id}", lambda: blackouts.approve(self.db, self.now, self.settings, info.id)
            )
        elif info.status == "pending" and decide == "reject":
            self.attempt(f"blackout reject {info.id}", lambda: blackouts.reject(self.db, self.now, info.id, "too late"))
        self.dirty_customers.add(customer)  # its 'local' occurrences may be skipped

    @rule(how=st.sampled_from(("pickup", "mark-sent", "plan-only")))
    def notices(self, how: str) -> None:
        """``notices plan``, then ``notices send --once`` (pickup directory) or deliveries marked sent."""
        self.touched = True
        # A planning pass takes no input: refusing it (say, for one bad address) silences everyone.
        planned = plan_notices(self.db, self.now, self.settings)
        note(f"[{z(self.now)}] notices plan: {planned.deliveries} digest(s)")
        if how == "pickup":
            stats = send_due(self.db, self.settings, lambda: self.now)
            note(f"notices send: sent {stats.sent}, retry {stats.retried}, failed {stats.failed}")
            assert stats.sent == len(list(self.pickup.iterdir())) - self.sent_files
            self.sent_files += stats.sent
        elif how == "mark-sent":
            with self.db.transaction() as session:
                session.execute(update(Delivery).where(Delivery.status == QUEUED).values(status=SENT, sent_at=self.now))

    @rule(by=st.sampled_from((HOUR, 7 * HOUR, DAY, 4 * DAY, 12 * DAY, 40 * DAY, 75 * DAY)))
    def advance_clock(self, by: timedelta) -> None:
        self.now += by
        self.touched = True
        note(f"clock -> {z(self.now)}")

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def check_everything(self) -> None:
        """After every step:

        - every listing, feed, dry-run notice plan, compliance and SLA report (this and last month) succeeds;
        - each feed parses with icalendar and ical and agrees with ``occurrences`` (UID, DTSTART, DTEND, SEQUENCE),
          over 31 days back and ahead, and over the server's whole feed horizon every FULL_FEEDS_EVERY steps;
        - occurrences of one rule never overlap (product-wide and in every customer's view);
        - ids (and so UIDs) of occurrences whose rule, customer and changes did not change are stable;
        - a rule without ``from`` has no occurrence that ended before the rule was added;
        - nothing is announced twice to one contact (same occurrence, start, end, sequence);
        - every occurrence whose deadline passed is noticed, violated, waived or exempt, never pending or missing.

        A step that changed nothing (it found nothing to act on, or the service refused and rolled
        back) leaves the state checked after the previous step; it is not checked again.
        """
        if not self.touched:  # the state is the one checked after the previous step
            return
        self.touched = False
        lo, hi = self.now - RANGE, self.now + RANGE
        catalogue_service.list_windows(self.db)
        listing, views, created = self.listings(lo, hi)
        self.check_no_overlap([listing, *views.values()])
        self.check_stable_ids(listing, lo, hi)
        self.check_begins_when_added(listing, created)
        self.check_feeds(lo, hi, listing, views)
        self.checks += 1
        if self.checks % FULL_FEEDS_EVERY == 0:
            wide_lo, wide_hi = horizon(self.now)
            wide, wide_views, _ = self.listings(wide_lo, wide_hi)
            self.check_feeds(wide_lo, wide_hi, wide, wide_views)
        plan_notices(self.db, self.now, self.settings, dry_run=True)
        self.check_announced_once()
        self.check_compliance(views, created, lo, hi)
        for month in {month_of(self.today), month_of(self.today.replace(day=1) - DAY)}:
            for product in self.products():
                sla_report(self.db, self.now, product=product, month=month)

    def products(self) -> list[str]:
        """The products in the database (none when the first apply was refused)."""
        with self.db.transaction() as session:
            return list(session.scalars(select(Product.key).order_by(Product.key)))

    def listings(self, lo: datetime, hi: datetime) -> tuple[list[Scheduled], dict[str, list[Scheduled]], Created]:
        """The product-wide listing, every customer's, and (valid_from, effective_from) of every rule.

        A rule's occurrences begin at ``effective_from`` (when it was added, or last reshaped);
        earlier ones exist only as history imported by an explicit ``valid_from``.
        """
        with self.db.transaction() as session:
            listing = occurrences(session, lo, hi, include_cancelled=True)
            views = {
                c: occurrences(session, lo, hi, customer=c, include_cancelled=True)
                for c in sorted(self.model.customers)
            }
            created = {
                (p, r): (valid_from, at)
                for p, r, valid_from, at in session.execute(
                    select(Product.key, WindowRule.name, WindowRule.valid_from, WindowRule.effective_from).join(Product)
                )
            }
        return listing, views, created

    def check_no_overlap(self, listings: Iterable[list[Scheduled]]) -> None:
        for items in listings:
            by_rule: dict[tuple[str, str, str | None], list[Scheduled]] = defaultdict(list)
            for s in items:
                if s.kind == "planned" and s.status != "cancelled":
                    by_rule[(s.occurrence.product, s.occurrence.rule, s.customer)].append(s)
            for key, found in by_rule.items():
                found.sort(key=lambda s: (s.start, s.end))
                for a, b in itertools.pairwise(found):
                    assert b.start >= a.end, f"{key}: {a.id} {z(a.start)}-{z(a.end)} overlaps {b.id} {z(b.start)}"

    def unchanged(self, s: Scheduled) -> bool:
        occ = s.occurrence
        return (
            (occ.product, occ.rule) not in self.dirty_rules
            and occ.base_id not in self.dirty_bases
            and occ.customer not in self.dirty_customers
        )

    def check_stable_ids(self, listing: list[Scheduled], lo: datetime, hi: datetime) -> None:
        current = {s.id: s for s in listing}
        if self.listed_range is not None:
            common = (max(lo, self.listed_range[0]), min(hi, self.listed_range[1]))

            def inside(s: Scheduled) -> bool:
                return common[0] <= s.start and s.end <= common[1] and self.unchanged(s)

            def shape(s: Scheduled | None) -> tuple[Any, ...] | None:
                return None if s is None else (s.status, z(s.start), z(s.end), s.sequence)

            for before in filter(inside, self.listing.values()):
                assert shape(current.get(before.id)) == shape(before), f"{before.id} changed or vanished"
            for now in filter(inside, current.values()):
                assert now.id in self.listing, f"{now.id} appeared though nothing about it changed"
        self.listing, self.listed_range = current, (lo, hi)
        self.dirty_rules, self.dirty_bases, self.dirty_customers = set(), set(), set()

    def check_begins_when_added(self, listing: list[Scheduled], created: Created) -> None:
        for s in listing:
            if s.kind != "planned":
                continue
            valid_from, added = created[(s.occurrence.product, s.occurrence.rule)]
            if valid_from is None:
                assert s.occurrence.start >= added, f"{s.id} ({z(s.occurrence.start)}) is before its rule was added"

    def check_feeds(
        self, start: datetime, end: datetime, listing: list[Scheduled], views: dict[str, list[Scheduled]]
    ) -> None:
        """Every customer's and product's feed over [start, end) against the listings of that range."""
        with self.db.transaction() as session:
            for key, items in views.items():
                feed = customer_feed(session, self.settings, key, start, end).body
                self.same_events(f"feed of {key}", feed, [s for s in items if s.status != "cancelled"])
            for product in self.products():
                feed = product_feed(session, self.settings, product, start, end).body
                wide = [
                    s
                    for s in listing
                    if s.occurrence.product == product
                    and s.status != "cancelled"
                    and s.occurrence.customer is None
                    and not self.unplanned.get(s.id, False)
                ]
                self.same_events(f"feed of {product}", feed, wide)

    def same_events(self, what: str, body: bytes, items: list[Scheduled]) -> None:
        expected = sorted((f"{s.id}@{self.settings.uid_domain}", z(s.start), z(s.end), s.sequence) for s in items)
        calendar = Calendar.from_ical(body)
        by_icalendar = sorted((str(e["UID"]), z(e.start), z(e.end), int(str(e["SEQUENCE"]))) for e in calendar.events)
        strict = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
        by_ical = sorted((str(e.uid), z(e.dtstart), z(e.dtend), int(e.sequence or 0)) for e in strict.events)
        assert by_icalendar == expected, f"{what}: icalendar reads {by_icalendar}, occurrences say {expected}"
        assert by_ical == expected, f"{what}: ical reads {by_ical}, occurrences say {expected}"

    def check_announced_once(self) -> None:
        with self.db.transaction() as session:
            twice = session.execute(
                select(
                    Notice.customer_id,
                    Delivery.email,
                    DeliveryOccurrence.occurrence_id,
                    DeliveryOccurrence.start,
                    DeliveryOccurrence.end,
                    DeliveryOccurrence.sequence,
                    func.count(),
                )
                .join(Delivery, Delivery.notice_id == Notice.id)
                .join(DeliveryOccurrence, DeliveryOccurrence.delivery_id == Delivery.id)
                .where(Notice.kind == "announce", Delivery.status.in_((QUEUED, SENDING, SENT)))
                .group_by(
                    Notice.customer_id,
                    Delivery.email,
                    DeliveryOccurrence.occurrence_id,
                    DeliveryOccurrence.start,
                    DeliveryOccurrence.end,
                    DeliveryOccurrence.sequence,
                )
                .having(func.count() > 1)
            ).all()
        assert not twice, f"announced more than once: {twice}"

    def check_compliance(
        self,
        views: dict[str, list[Scheduled]],
        created: Created,
        lo: datetime,
        hi: datetime,
    ) -> None:
        states = {(c.item.id, c.customer): c.verdict for c in compliance(self.db, self.now, lo, hi)}
        for customer, items in views.items():
            for s in items:
                if s.kind != "planned" or s.status == "cancelled" or s.notice_deadline is None:
                    continue
                if s.notice_deadline >= self.now:
                    continue  # a notice sent at the deadline itself is on time (DESIGN §3): not passed yet
                imported = s.occurrence.start < created[(s.occurrence.product, s.occurrence.rule)][1]
                verdict = states.get((s.id, customer))
                if verdict is None:
                    assert imported, f"{s.id} for {customer}: deadline {z(s.notice_deadline)} passed, not in compliance"
                    continue
                assert verdict.state in PASSED_DEADLINE_STATES, (
                    f"{s.id} for {customer}: deadline {z(s.notice_deadline)} passed at {z(self.now)}, "
                    f"compliance says {verdict.state}"
                )


# -- the tests ---------------------------------------------------------------------------------------------


def stateful_settings() -> settings:
    """The loaded profile (``ci``: derandomized, no example database, in CI) with this test's budget."""
    return settings(
        settings.default,
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def run_machine(name: str, databases: Databases, scratch: Path) -> None:
    machine = type(name, (MaintcalMachine,), {"databases": databases, "scratch": scratch})
    run_state_machine_as_test(machine, settings=stateful_settings())


def test_stateful_sqlite(sqlite_template: Path, tmp_path: Path) -> None:
    run_machine("SqliteMachine", SqliteDatabases(sqlite_template, tmp_path), tmp_path)


def test_stateful_postgres(pg_server: PgServer, tmp_path: Path) -> None:
    databases = PostgresDatabases(pg_server)
    try:
        run_machine("PostgresMachine", databases, tmp_path)
    finally:
        databases.admin.dispose()
