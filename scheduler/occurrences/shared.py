"""Many customers' views of a product built from its product-wide view, once per product and range (issue 11).

For a rule in a fixed zone, a customer's view differs from the product-wide one only where the
customer has changes of its own: every other occurrence is the product-wide one (the same times,
status, sequence and deadline; freezes apply to every view alike) with the customer's key. So the
product-wide occurrences are expanded and judged once, and each customer's view re-does only the
occurrences its own changes name (and those they move into the range). A product with a ``local``
rule is answered by ``occurrences`` (per customer: the rule is expanded in the customer's zone).

``SharedViews.view`` returns what ``occurrences(session, start, end, product=..., customer=...)``
returns for the same reader (tests/integration/test_shared_views.py compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from scheduler.occurrences.reader import ScheduleReader
from scheduler.occurrences.schedule import _date_of, _expand, occurrences, unplanned_scheduled
from scheduler.store.models import Customer, Product
from windows.expansion import Occurrence
from windows.rules import Rule
from windows.schedule import Change, Scheduled, apply_changes

_new, _set = object.__new__, object.__setattr__


@dataclass(frozen=True)
class _RuleView:
    rule: Rule
    expanded: dict[str, Occurrence]  # by id: the rule's occurrences near the range, and those moved into it
    wide: dict[str, Scheduled]  # by id: each as scheduled product-wide (customer None)


@dataclass(frozen=True)
class _ProductView:
    rules: list[_RuleView]
    in_range: list[Scheduled]  # the product-wide occurrences overlapping the range, cancelled ones too


class SharedViews:
    """Customers' views over [start, end), sharing the product-wide work of each product."""

    def __init__(self, reader: ScheduleReader, start: datetime, end: datetime) -> None:
        self.reader, self.start, self.end = reader, start, end
        self._products: dict[int, _ProductView | None] = {}

    def view(self, prod: Product, cust: Customer) -> list[Scheduled]:
        """``cust``'s occurrences of ``prod`` overlapping the range, not cancelled, by start then id
        (``cust`` subscribes to ``prod``)."""
        shared = self._product(prod)
        if shared is None:
            return occurrences(
                self.reader.session, self.start, self.end, product=prod.key, customer=cust.key, reader=self.reader
            )
        own = self.reader.changes(prod).own(cust.key)
        # Without changes of its own, a customer's view is the product-wide one under its key.
        result = self._with_own(prod, cust, shared, own) if own else [_viewed_by(s, cust.key) for s in shared.in_range]
        result.extend(self._unplanned(prod, cust))
        result = [s for s in result if s.status != "cancelled"]
        result.sort(key=lambda s: (s.start, s.id))
        return result

    def product_wide(self, prod: Product) -> list[Scheduled] | None:
        """The product-wide occurrences of the rules in fixed zones and the unplanned windows, not
        cancelled, by start then id (None: ``prod`` has a ``local`` rule)."""
        shared = self._product(prod)
        if shared is None:
            return None
        result = [*shared.in_range, *self._unplanned(prod, None)]
        result = [s for s in result if s.status != "cancelled"]
        result.sort(key=lambda s: (s.start, s.id))
        return result

    def _product(self, prod: Product) -> _ProductView | None:
        if prod.id in self._products:
            return self._products[prod.id]
        rules = self.reader.rules(prod)
        if any(rule.is_local for rule in rules):
            self._products[prod.id] = None
            return None
        wide_changes, by_base = self.reader.changes(prod).view(None)
        blocks = self.reader.blocks(prod, self.start, self.end)
        views = []
        in_range = []
        for rule in rules:
            expanded = {o.id: o for o in self.reader.expand(prod, rule, None, self.start, self.end)}
            self._moved_in(prod, rule, wide_changes, expanded)
            wide = {}
            for occ in expanded.values():
                scheduled = apply_changes(occ, by_base.get(occ.base_id, []), None, prod.notice_days)
                scheduled = blocks.apply(rule, scheduled, None, partial(_expand, rule, None))
                wide[occ.id] = scheduled
                if scheduled.start < self.end and scheduled.end > self.start:
                    in_range.append(scheduled)
            views.append(_RuleView(rule, expanded, wide))
        found = self._products[prod.id] = _ProductView(views, in_range)
        return found

    def _with_own(self, prod: Product, cust: Customer, shared: _ProductView, own: list[Change]) -> list[Scheduled]:
        """``cust``'s view where it has changes of its own: those occurrences judged afresh."""
        names = {c.base_id for c in own}
        _, by_base = self.reader.changes(prod).view(cust.key)
        blocks = self.reader.blocks(prod, self.start, self.end)
        result = []
        for view in shared.rules:
            expanded = dict(view.expanded)
            self._moved_in(prod, view.rule, own, expanded)
            for occ in expanded.values():
                if occ.base_id in names:
                    scheduled = apply_changes(occ, by_base.get(occ.base_id, []), cust.key, prod.notice_days)
                    scheduled = blocks.apply(view.rule, scheduled, cust, partial(_expand, view.rule, cust))
                else:
                    scheduled = _viewed_by(view.wide[occ.id], cust.key)
                if scheduled.start < self.end and scheduled.end > self.start:
                    result.append(scheduled)
        return result

    def _moved_in(self, prod: Product, rule: Rule, changes: list[Change], expanded: dict[str, Occurrence]) -> None:
        """Add to ``expanded`` the occurrences of ``rule`` that ``changes`` move into the range (a rule
        in a fixed zone: an occurrence's id is its base id, expanded once for every customer)."""
        prefix = f"{rule.product}.{rule.name}."
        for change in changes:
            if change.action == "move" and change.base_id.startswith(prefix) and change.base_id not in expanded:
                assert change.new_start and change.new_end
                if change.new_start < self.end and change.new_end > self.start:
                    day = _date_of(change.base_id)
                    if day is not None:
                        lo = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=2)
                        for o in self.reader.expand(prod, rule, None, lo, lo + timedelta(days=5)):
                            if o.base_id == change.base_id:
                                expanded.setdefault(o.id, o)

    def _unplanned(self, prod: Product, cust: Customer | None) -> list[Scheduled]:
        return [
            unplanned_scheduled(row, prod.key, cust)
            for row, restricted in self.reader.unplanned(prod, self.start, self.end)
            if cust is None or not restricted or cust.id in restricted
        ]


def _viewed_by(scheduled: Scheduled, customer: str) -> Scheduled:
    """A product-wide occurrence (of a rule in a fixed zone) as it is in ``customer``'s view: the same
    but the customer (what ``apply_changes`` gives for a view without changes of its own)."""
    viewed = _new(Scheduled)
    _set(viewed, "__dict__", {**scheduled.__dict__, "customer": customer})
    return viewed
