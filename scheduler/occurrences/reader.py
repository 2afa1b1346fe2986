"""What the schedule is built from, read once per session and answered per view (issue 11).

A ``ScheduleReader`` reads each product's rules, changes (overrides), subscribers and unplanned
windows at most once and hands every view (product-wide or one customer's) only what applies to
it: the product-wide changes and that customer's own. Reading the schedule of many customers in
one session (notice planning, compliance, SLA reports) is then linear in customers, not in
customers times the product's overrides.

A reader is a snapshot: use it inside one transaction that does not change what it has read (a
service that writes an override and reads again uses a new one). A reader made for one customer
(``only_customer``) reads just the changes that customer can see; one made ``wide_only`` reads only
the product-wide changes and no subscribers, so it answers the product-wide view of the rules in a
fixed zone and the unplanned windows, never a ``local`` rule's per-customer occurrences. One made
``among`` some customer ids lists only those as subscribers (a planning run reading a few customers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from scheduler.blackouts.effects import BlackoutRows, Blocks, freeze_rows, freeze_span
from scheduler.store.models import Customer, Override, Product, Subscription, Unplanned
from scheduler.store.repository import get_customer, get_product, rule_to_domain
from windows.expansion import Occurrence, expand
from windows.rules import Rule
from windows.schedule import Change

_new, _set = object.__new__, object.__setattr__


def viewed_by(occ: Occurrence, customer: str) -> Occurrence:
    """``occ`` (a ``local`` rule's, expanded without a customer) as ``expand`` gives it for ``customer``:
    the same fields but the id and the customer. Built as ``expand`` builds it, without ``__init__``."""
    viewed = _new(Occurrence)
    _set(viewed, "__dict__", {**occ.__dict__, "id": f"{occ.base_id}.{customer}", "customer": customer})
    return viewed


class ChangeBook:
    """The changes of one product, kept in the order they were read, found by view and occurrence."""

    def __init__(self, changes: list[Change]) -> None:
        self._wide: list[tuple[int, Change]] = []
        self._own: dict[str, list[tuple[int, Change]]] = defaultdict(list)
        for position, change in enumerate(changes):
            if change.customer is None:
                self._wide.append((position, change))
            else:
                self._own[change.customer].append((position, change))
        self._views: dict[str | None, tuple[list[Change], dict[str, list[Change]]]] = {}

    def view(self, customer: str | None) -> tuple[list[Change], dict[str, list[Change]]]:
        """The changes that apply to ``customer``'s view (None: product-wide), and the same by base id."""
        found = self._views.get(customer)
        if found is None:
            own = self._own.get(customer, []) if customer is not None else []
            merged = (
                [c for _, c in sorted(self._wide + own, key=lambda pair: pair[0])]
                if own
                else [c for _, c in self._wide]
            )
            by_base: dict[str, list[Change]] = defaultdict(list)
            for change in merged:
                by_base[change.base_id].append(change)
            found = (merged, dict(by_base))
            if customer is None or len(self._views) < 64:  # bounded: many customers each ask once
                self._views[customer] = found
        return found

    def own(self, customer: str) -> list[Change]:
        """``customer``'s own changes (not the product-wide ones), in the order they were read."""
        return [c for _, c in self._own.get(customer, [])]


class ScheduleReader:
    """Per-session cache of what occurrences are built from; ``only_customer`` narrows the changes read."""

    def __init__(
        self,
        session: Session,
        only_customer: Customer | None = None,
        *,
        wide_only: bool = False,
        among: Collection[int] | None = None,
    ) -> None:
        self.session = session
        self.only_customer = only_customer
        self.wide_only = wide_only
        self.among = None if among is None else sorted(set(among))
        self._rules: dict[int, list[Rule]] = {}
        self._books: dict[int, ChangeBook] = {}
        self._subscribers: dict[int, list[Customer]] = {}
        self._subscriptions: dict[int, set[int]] | None = None
        self._subscriber_ids: dict[int, set[int]] = {}
        self._unplanned: dict[tuple[int, datetime, datetime], list[tuple[Unplanned, set[int]]]] = {}
        self._expanded: dict[tuple[int, str, datetime, datetime], list[Occurrence]] = {}
        self._zoned: dict[tuple[int, str, str, datetime, datetime], list[Occurrence]] = {}
        self._products: list[Product] | None = None
        self._customers: dict[str, Customer] = {}
        self._by_key: dict[str, Product] = {}
        self._blocks: dict[tuple[int, datetime, datetime], Blocks] = {}
        self._blackouts: BlackoutRows | None = None

    def products(self, key: str | None = None) -> list[Product]:
        """Every product by key, or the one named ``key`` (NotFound if there is none)."""
        if key is not None:
            found = self._by_key.get(key)
            if found is None:
                found = self._by_key[key] = get_product(self.session, key)
            return [found]
        if self._products is None:
            self._products = list(self.session.scalars(select(Product).order_by(Product.key)))
        return self._products

    def know_products(self, products: Iterable[Product]) -> None:
        """Products the caller has read already: ``products(key)`` finds them without a query."""
        self._by_key.update((p.key, p) for p in products)

    def know(self, customers: Iterable[Customer]) -> None:
        """Customers the caller has read already: ``customer`` finds them without a query."""
        self._customers.update((c.key, c) for c in customers)

    def customer(self, key: str) -> Customer:
        found = self._customers.get(key)
        if found is None:
            found = self._customers[key] = get_customer(self.session, key)
        return found

    def rules(self, prod: Product) -> list[Rule]:
        found = self._rules.get(prod.id)
        if found is None:
            found = self._rules[prod.id] = [rule_to_domain(row, prod.key) for row in prod.rules]
        return found

    def changes(self, prod: Product) -> ChangeBook:
        book = self._books.get(prod.id)
        if book is None:
            query = (
                select(
                    Override.occurrence_id,
                    Customer.key,
                    Override.action,
                    Override.new_start,
                    Override.new_end,
                    Override.decision,
                    Override.customer_consent,
                    Override.waived_reason,
                )
                .outerjoin(Customer, Customer.id == Override.customer_id)
                .where(Override.product_id == prod.id)
                .order_by(Override.occurrence_id, Override.decision)
            )
            if self.wide_only:
                query = query.where(Override.customer_id.is_(None))
            elif self.only_customer is not None:
                query = query.where(or_(Override.customer_id.is_(None), Override.customer_id == self.only_customer.id))
            book = self._books[prod.id] = ChangeBook([Change(*row) for row in self.session.execute(query)])
        return book

    def subscribers(self, prod: Product) -> list[Customer]:
        found = self._subscribers.get(prod.id)
        if found is None and self.wide_only:
            found = self._subscribers[prod.id] = []
        if found is None:
            query = select(Customer).join(Subscription).where(Subscription.product_id == prod.id)
            if self.among is None:
                found = list(self.session.scalars(query.order_by(Customer.key)))
            else:
                found = sorted(
                    (
                        c
                        for i in range(0, len(self.among), 1000)
                        for c in self.session.scalars(query.where(Customer.id.in_(self.among[i : i + 1000])))
                    ),
                    key=lambda c: c.key,
                )
            self._subscribers[prod.id] = found
        return found

    def subscribed(self, customer: Customer) -> set[int]:
        """Ids of the products ``customer`` subscribes to."""
        if self.only_customer is not None and self.only_customer.id == customer.id:
            return set(
                self.session.scalars(select(Subscription.product_id).where(Subscription.customer_id == customer.id))
            )
        if self._subscriptions is None:
            self._subscriptions = defaultdict(set)
            for customer_id, product_id in self.session.execute(
                select(Subscription.customer_id, Subscription.product_id)
            ):
                self._subscriptions[customer_id].add(product_id)
        return self._subscriptions.get(customer.id, set())

    def subscribes(self, customer: Customer, prod: Product) -> bool:
        """Does ``customer`` subscribe to ``prod``? Answered from ``prod``'s subscribers (read once),
        not from every subscription, when one product is asked about (a per-product report)."""
        if self.wide_only or self.among is not None or self.only_customer is not None or self._subscriptions:
            return prod.id in self.subscribed(customer)
        ids = self._subscriber_ids.get(prod.id)
        if ids is None:  # the ids alone: loading the subscribers as objects cost 1.5 s of a 50,000-customer SLA
            subscribed = select(Subscription.customer_id).where(Subscription.product_id == prod.id)
            ids = self._subscriber_ids[prod.id] = set(self.session.scalars(subscribed))
        return customer.id in ids

    def unplanned(self, prod: Product, start: datetime, end: datetime) -> list[tuple[Unplanned, set[int]]]:
        """Unplanned windows of ``prod`` overlapping [start, end), each with the customers it is limited to."""
        key = (prod.id, start, end)
        found = self._unplanned.get(key)
        if found is None:
            rows = self.session.scalars(
                select(Unplanned)
                .options(selectinload(Unplanned.customers))
                .where(Unplanned.product_id == prod.id, Unplanned.start < end, Unplanned.end > start)
            ).all()
            found = self._unplanned[key] = [(row, {link.customer_id for link in row.customers}) for row in rows]
        return found

    def expand(
        self, prod: Product, rule: Rule, viewer: Customer | None, start: datetime, end: datetime
    ) -> list[Occurrence]:
        """``rule`` expanded for ``viewer``; a rule in a fixed zone is expanded once for every viewer, a
        ``local`` rule once per zone, then given each viewer's id (``<base id>.<customer>``)."""
        if rule.is_local:
            assert viewer is not None
            return [viewed_by(o, viewer.key) for o in self.expand_in_zone(prod, rule, viewer.timezone, start, end)]
        key = (prod.id, rule.name, start, end)
        found = self._expanded.get(key)
        if found is None:
            found = self._expanded[key] = expand(rule, start, end)
        return found

    def expand_in_zone(self, prod: Product, rule: Rule, zone: str, start: datetime, end: datetime) -> list[Occurrence]:
        """A ``local`` rule expanded in ``zone`` for no customer (ids without the customer), once."""
        key = (prod.id, rule.name, zone, start, end)
        found = self._zoned.get(key)
        if found is None:
            found = self._zoned[key] = expand(rule, start, end, local_tz=zone)
        return found

    def has_blackouts(self, customer: Customer) -> bool:
        """Has ``customer`` blackouts (active or removed) that ``blocks`` applies to its ``local``
        occurrences? (Read with the first ``blocks`` of a product with ``local`` rules.)"""
        rows = self._blackouts
        assert rows is not None or self.wide_only, "blocks() of a product with local rules reads them first"
        return rows is not None and (customer.id in rows.active or customer.id in rows.removed)

    def blocks(self, prod: Product, start: datetime, end: datetime) -> Blocks:
        """The freezes and blackouts over ``prod`` near [start, end), read once and shared by every view
        (blackouts only when ``prod`` has ``local`` rules and the reader answers per-customer views)."""
        key = (prod.id, start, end)
        found = self._blocks.get(key)
        if found is None:
            local = any(rule.is_local for rule in self.rules(prod)) and not self.wide_only
            if local and self._blackouts is None:
                self._blackouts = BlackoutRows.read(self.session, self.only_customer)
            lo, hi = freeze_span(start, end)
            freezes = freeze_rows(self.session, prod.id, lo, hi, with_removed=True)
            found = self._blocks[key] = Blocks(prod, start, end, freezes, self._blackouts if local else None)
        return found
