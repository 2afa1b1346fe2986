"""Many customers' views of a product built from its product-wide view, once per product and range (issue 11).

For a rule in a fixed zone, a customer's view differs from the product-wide one only where the
customer has changes of its own: every other occurrence is the product-wide one (the same times,
status, sequence and deadline; freezes apply to every view alike) with the customer's key. So the
product-wide occurrences are expanded and judged once, and each customer's view re-does only the
occurrences its own changes name (and those they move into the range). A ``local`` rule's
occurrences are the same for every customer in one zone but for the id (``<base>.<customer>``):
they are expanded and judged once per zone, and a customer with changes of its own re-does only
the occurrences they name, as above; a customer with blackouts on the product is answered by
``occurrences``, as before.

``SharedViews.view`` returns what ``occurrences(session, start, end, product=..., customer=...)``
returns for the same reader (tests/integration/test_shared_views.py and
test_shared_views_own_local.py compare compliance and the SLA report built both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from scheduler.occurrences.reader import ScheduleReader, viewed_by
from scheduler.occurrences.schedule import date_of, expand_for, occurrences, unplanned_scheduled
from scheduler.store.models import Customer, Product
from windows.expansion import Occurrence, expand
from windows.rules import Rule
from windows.schedule import Change, Scheduled, apply_changes

_new, _set = object.__new__, object.__setattr__


@dataclass(frozen=True)
class _RuleView:
    rule: Rule
    expanded: dict[str, Occurrence]  # by id: the rule's occurrences near the range, and those moved into it
    wide: dict[str, Scheduled]  # by id: each as scheduled product-wide (customer None)
    by_base: dict[str, list[Occurrence]]  # ``expanded`` by base id


@dataclass(frozen=True)
class _ProductView:
    rules: list[_RuleView]
    # the product-wide occurrences overlapping the range, cancelled ones too, each with "of a local rule"
    in_range: list[tuple[Scheduled, bool]]
    zone: str | None  # the zone of the ``local`` rules' occurrences (None: the product has none)
    # ``in_range`` without the cancelled ones, by start then id: the view of a customer without changes
    # of its own or unplanned windows (a ``local`` id's customer suffix keeps that order: no base id
    # is the prefix of another)
    listed: list[tuple[Scheduled, bool]]


class SharedViews:
    """Customers' views over [start, end), sharing the product-wide work of each product."""

    def __init__(self, reader: ScheduleReader, start: datetime, end: datetime) -> None:
        self.reader, self.start, self.end = reader, start, end
        self._products: dict[tuple[int, str | None], _ProductView] = {}

    def view(self, prod: Product, cust: Customer) -> list[Scheduled]:
        """``cust``'s occurrences of ``prod`` overlapping the range, not cancelled, by start then id
        (``cust`` subscribes to ``prod``)."""
        own = self.reader.changes(prod).own(cust.key)
        local = self._has_local(prod)
        if local and self._blocked(prod, cust):
            return occurrences(
                self.reader.session, self.start, self.end, product=prod.key, customer=cust.key, reader=self.reader
            )
        shared = self._product(prod, cust.timezone if local else None)
        unplanned = self._unplanned(prod, cust)
        # Without changes of its own, a customer's view is the product-wide one under its key.
        if not own and not unplanned:
            key = cust.key
            return [_viewed_by(s, key, of_local) for s, of_local in shared.listed]
        if own:
            result = self._with_own(prod, cust, shared, own)
        else:
            result = [_viewed_by(s, cust.key, of_local) for s, of_local in shared.in_range]
        result.extend(unplanned)
        result = [s for s in result if s.status != "cancelled"]
        result.sort(key=lambda s: (s.start, s.id))
        return result

    def product_wide(self, prod: Product, without_local: bool = False) -> list[Scheduled] | None:
        """The product-wide occurrences of the rules in fixed zones and the unplanned windows, not
        cancelled, by start then id (None: ``prod`` has a ``local`` rule, unless ``without_local``:
        then the same, the ``local`` rules' occurrences left out; ``occurrences`` gives those once
        per subscriber)."""
        if self._has_local(prod):
            if not without_local:
                return None
            zone = next((zone for prod_id, zone in self._products if prod_id == prod.id and zone), "UTC")
            shared = self._product(prod, zone)  # its fixed-zone rules' occurrences are the same in every zone
            result = [*(s for s, of_local in shared.in_range if not of_local), *self._unplanned(prod, None)]
        else:
            shared = self._product(prod, None)
            result = [*(s for s, _ in shared.in_range), *self._unplanned(prod, None)]
        result = [s for s in result if s.status != "cancelled"]
        result.sort(key=lambda s: (s.start, s.id))
        return result

    def _has_local(self, prod: Product) -> bool:
        return any(rule.is_local for rule in self.reader.rules(prod))

    def _blocked(self, prod: Product, cust: Customer) -> bool:
        """Do ``cust``'s blackouts (active or removed) apply to its ``local`` occurrences of ``prod``?"""
        self.reader.blocks(prod, self.start, self.end)  # reads the blackouts
        return self.reader.has_blackouts(cust)

    def _product(self, prod: Product, zone: str | None) -> _ProductView:
        """The product-wide view, its ``local`` rules expanded in ``zone`` for a customer without
        changes of its own or blackouts (what freezes and product-wide changes leave of them)."""
        found = self._products.get((prod.id, zone))
        if found is not None:
            return found
        wide_changes, by_base = self.reader.changes(prod).view(None)
        blocks = self.reader.blocks(prod, self.start, self.end)
        views = []
        in_range = []
        for rule in self.reader.rules(prod):
            if rule.is_local:
                assert zone is not None
                occurrences_near = partial(_in_zone, rule, zone)
                expanded = {o.id: o for o in self.reader.expand_in_zone(prod, rule, zone, self.start, self.end)}
            else:
                occurrences_near = partial(self.reader.expand, prod, rule, None)
                expanded = {o.id: o for o in self.reader.expand(prod, rule, None, self.start, self.end)}
            self._moved_in(rule, occurrences_near, wide_changes, expanded)
            wide = {}
            for occ in expanded.values():
                scheduled = apply_changes(occ, by_base.get(occ.base_id, []), None, prod.notice_days)
                scheduled = blocks.apply(rule, scheduled, None, partial(expand_for, rule, None))
                wide[occ.id] = scheduled
                if scheduled.start < self.end and scheduled.end > self.start:
                    in_range.append((scheduled, rule.is_local))
            bases: dict[str, list[Occurrence]] = {}
            for occ in expanded.values():
                bases.setdefault(occ.base_id, []).append(occ)
            views.append(_RuleView(rule, expanded, wide, bases))
        listed = [pair for pair in in_range if pair[0].status != "cancelled"]
        listed.sort(key=lambda pair: (pair[0].start, pair[0].id))
        found = self._products[(prod.id, zone)] = _ProductView(views, in_range, zone, listed)
        return found

    def _with_own(self, prod: Product, cust: Customer, shared: _ProductView, own: list[Change]) -> list[Scheduled]:
        """``cust``'s view where it has changes of its own: the occurrences they name judged afresh
        (as ``occurrences`` judges them for ``cust``), the others the product-wide ones."""
        names = {c.base_id for c in own}
        key = cust.key
        result = [_viewed_by(s, key, of_local) for s, of_local in shared.in_range if s.occurrence.base_id not in names]
        _, by_base = self.reader.changes(prod).view(key)
        blocks = self.reader.blocks(prod, self.start, self.end)
        for view in shared.rules:
            rule = view.rule
            local = rule.is_local
            named: dict[str, Occurrence] = {}
            for base in names:
                for occ in view.by_base.get(base, ()):
                    mine = viewed_by(occ, key) if local else occ
                    named[mine.id] = mine
            near = partial(expand_for, rule, cust) if local else partial(self.reader.expand, prod, rule, None)
            self._moved_in(rule, near, own, named, view.by_base)  # those of view.by_base are named
            for occ in named.values():
                scheduled = apply_changes(occ, by_base.get(occ.base_id, []), key, prod.notice_days)
                scheduled = blocks.apply(rule, scheduled, cust, partial(expand_for, rule, cust))
                if scheduled.start < self.end and scheduled.end > self.start:
                    result.append(scheduled)
        return result

    def _moved_in(
        self,
        rule: Rule,
        occurrences_near: Callable[[datetime, datetime], list[Occurrence]],
        changes: list[Change],
        expanded: dict[str, Occurrence],
        known: Container[str] | None = None,
    ) -> None:
        """Add to ``expanded`` the occurrences of ``rule`` that ``changes`` move into the range (as
        ``occurrences_near`` expands them), unless their base id is ``known`` (by default: in
        ``expanded``; for no customer, an occurrence's id is its base id)."""
        prefix = f"{rule.product}.{rule.name}."
        known = expanded if known is None else known
        for change in changes:
            if change.action == "move" and change.base_id.startswith(prefix) and change.base_id not in known:
                assert change.new_start and change.new_end
                if change.new_start < self.end and change.new_end > self.start:
                    day = date_of(change.base_id)
                    if day is not None:
                        lo = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=2)
                        for o in occurrences_near(lo, lo + timedelta(days=5)):
                            if o.base_id == change.base_id:
                                expanded.setdefault(o.id, o)

    def _unplanned(self, prod: Product, cust: Customer | None) -> list[Scheduled]:
        return [
            unplanned_scheduled(row, prod.key, cust)
            for row, restricted in self.reader.unplanned(prod, self.start, self.end)
            if cust is None or not restricted or cust.id in restricted
        ]


def _viewed_by(scheduled: Scheduled, customer: str, local: bool = False) -> Scheduled:
    """A product-wide occurrence as it is in ``customer``'s view (one without changes of its own, or
    blackouts): the same but the customer, and a ``local`` rule's occurrence id (``<base>.<customer>``)."""
    fields = scheduled.__dict__.copy()
    fields["customer"] = customer
    if local:
        fields["occurrence"] = viewed_by(scheduled.occurrence, customer)
    viewed = _new(Scheduled)
    _set(viewed, "__dict__", fields)
    return viewed


def _in_zone(rule: Rule, zone: str, start: datetime, end: datetime) -> list[Occurrence]:
    return expand(rule, start, end, local_tz=zone)
