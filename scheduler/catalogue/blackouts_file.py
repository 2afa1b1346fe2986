"""Blackouts, freezes and the blackout policy in the catalogue file (DESIGN §9).

- product keys ``on_blackout = "skip" | "next"``, ``blackout_lead_days`` (default 30),
  ``blackout_overridden_counts_as = "downtime" | "maintenance"``;
- ``[[customers.blackouts]]``: ``label`` and one of ``start``/``end`` (local, the customer's
  zone), ``yearly = "MM-DD:MM-DD"``, ``monthly = "last-N" | "D1-D2"``. A customer entry with a
  ``blackouts`` key is authoritative for that customer's blackouts (others are removed); without
  it, blackouts declared elsewhere (CLI, API) are kept;
- ``[[freezes]]``: ``products`` (a list of keys or ``"all"``), ``start``, ``end``, ``tz``,
  ``reason``. When the file has ``freezes``, it is authoritative for all freezes.

New blackouts follow the lead-days rule (too late: pending, for ops to approve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.declare import lead_days, retire
from scheduler.blackouts.effects import blackout_spec
from scheduler.blackouts.notify import apply_and_notify
from scheduler.blackouts.policy import COUNTS_AS, ON_BLACKOUT
from scheduler.settings import Settings
from scheduler.store.models import Customer, Product, Subscription
from scheduler.store.models_blackouts import ACTIVE, PENDING, REMOVED, Blackout, Freeze
from windows.blackouts import ONCE, BlackoutSpec, intervals, parse_monthly, parse_once, parse_yearly
from windows.errors import InvalidInput, MaintcalError
from windows.parsing import parse_local_datetime
from windows.text import clean_text
from windows.timezones import format_utc, resolve_zone, to_utc

BLACKOUT_KEYS = {"label", "start", "end", "yearly", "monthly"}
FREEZE_KEYS = {"products", "start", "end", "tz", "reason"}
POLICY_KEYS = {"on_blackout", "blackout_lead_days", "blackout_overridden_counts_as"}


@dataclass(frozen=True)
class BlackoutDecl:
    label: str
    spec: BlackoutSpec


@dataclass(frozen=True)
class FreezeDecl:
    products: tuple[str, ...] | None  # None: all products
    start: datetime  # UTC
    end: datetime
    tz: str
    reason: str


def policy_values(entry: dict[str, Any], key: str) -> dict[str, Any]:
    """The product's policy keys, checked (InvalidInput names the product)."""
    on_blackout = entry.get("on_blackout", "skip")
    lead = entry.get("blackout_lead_days", 30)
    counts_as = entry.get("blackout_overridden_counts_as", "downtime")
    if on_blackout not in ON_BLACKOUT:
        raise InvalidInput(f'product \'{key}\': on_blackout must be "skip" or "next"')
    if not isinstance(lead, int) or isinstance(lead, bool) or not 0 <= lead <= 3650:
        raise InvalidInput(f"product '{key}': blackout_lead_days must be a whole number from 0 to 3650")
    if counts_as not in COUNTS_AS:
        raise InvalidInput(f'product \'{key}\': blackout_overridden_counts_as must be "downtime" or "maintenance"')
    return {"on_blackout": on_blackout, "blackout_lead_days": lead, "blackout_overridden_counts_as": counts_as}


def _local_text(value: Any, what: str) -> str:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise InvalidInput(f'{what} must be a local date-time like "2027-11-22T00:00"')


def parse_blackout(raw: Any, customer: str) -> BlackoutDecl:
    what = f"customer '{customer}' blackout"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{what} must be a table ([[customers.blackouts]])")
    unknown = sorted(set(raw) - BLACKOUT_KEYS)
    if unknown:
        raise InvalidInput(f"{what}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(BLACKOUT_KEYS))})")
    label = raw.get("label")
    if not isinstance(label, str):
        raise InvalidInput(f"{what} needs a label")
    label = clean_text(f"{what}: label", label)
    shapes = [k for k in ("start", "yearly", "monthly") if k in raw] + (
        ["end"] if "end" in raw and "start" not in raw else []
    )
    if len(shapes) != 1:
        raise InvalidInput(f"{what} '{label}': give exactly one of start/end, yearly or monthly")
    if "start" in raw:
        if "end" not in raw:
            raise InvalidInput(f"{what} '{label}': start needs an end")
        spec = parse_once(_local_text(raw["start"], f"{what}: start"), _local_text(raw["end"], f"{what}: end"))
    elif "yearly" in raw:
        spec = parse_yearly(str(raw["yearly"]))
    else:
        spec = parse_monthly(str(raw["monthly"]))
    return BlackoutDecl(label, spec)


def parse_freeze(raw: Any) -> FreezeDecl:
    if not isinstance(raw, dict):
        raise InvalidInput("a freeze must be a table ([[freezes]])")
    unknown = sorted(set(raw) - FREEZE_KEYS)
    if unknown:
        raise InvalidInput(f"freeze: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(FREEZE_KEYS))})")
    products = raw.get("products")
    if products == "all":
        keys = None
    elif isinstance(products, list) and products and all(isinstance(p, str) for p in products):
        keys = tuple(products)
    else:
        raise InvalidInput('freeze: products must be a list of product keys or "all"')
    reason, tz = raw.get("reason"), raw.get("tz")
    if not isinstance(reason, str) or not isinstance(tz, str):
        raise InvalidInput("freeze: needs reason and tz (an IANA zone)")
    reason = clean_text("freeze: reason", reason, max_length=2000)
    zone = resolve_zone(tz)
    start = parse_local_datetime(_local_text(raw.get("start"), "freeze: start"))
    end = parse_local_datetime(_local_text(raw.get("end"), "freeze: end"))
    utc_start, utc_end = to_utc(start, zone.zone).replace(tzinfo=UTC), to_utc(end, zone.zone).replace(tzinfo=UTC)
    if utc_end <= utc_start:
        raise InvalidInput(f"freeze '{reason}': end is not after start")
    return FreezeDecl(keys, utc_start, utc_end, zone.name, reason)


def collect(problems: Any, parse: Any, *args: Any) -> Any:
    """``parse(*args)``, or None with the problem recorded."""
    try:
        return parse(*args)
    except MaintcalError as error:
        problems.add(error.message)
        return None


def _same(row: Blackout, decl: BlackoutDecl) -> bool:
    return row.label == decl.label and blackout_spec(row) == decl.spec


def apply_blackouts(
    session: Session,
    now: datetime,
    settings: Settings,
    customer: Customer,
    declared: list[BlackoutDecl],
) -> list[tuple[str, str, str]]:
    """Make ``customer``'s blackouts those of the file; returns plan items (action, what, detail)."""
    rows = list(
        session.scalars(
            select(Blackout)
            .where(Blackout.customer_id == customer.id, Blackout.status != REMOVED)
            .order_by(Blackout.id)
        )
    )
    keep = [r for r in rows if any(_same(r, d) for d in declared)]
    drop = [r for r in rows if r not in keep]
    new = [d for d in declared if not any(_same(r, d) for r in keep)]
    if not drop and not new:
        return []
    plan: list[tuple[str, str, str]] = []
    lead = lead_days(session, customer)
    added: list[Blackout] = []
    for decl in new:
        upcoming = intervals(decl.spec, customer.timezone, now, now + timedelta(days=800))
        if not upcoming:
            plan.append(("keep", f"blackout {customer.key} '{decl.label}'", "ended before now: not added"))
            continue
        status = ACTIVE if upcoming[0][0] >= now + timedelta(days=lead) else PENDING
        spec = decl.spec
        added.append(
            Blackout(
                customer_id=customer.id,
                label=decl.label,
                kind=spec.kind,
                local_start=spec.start.isoformat() if spec.start else None,
                local_end=spec.end.isoformat() if spec.end else None,
                spec=None if spec.kind == ONCE else spec.text(),
                status=status,
                created_at=now,
            )
        )
        detail = spec.text() + (" (pending: later than the lead days; ops approve)" if status == PENDING else "")
        plan.append(("add", f"blackout {customer.key} '{decl.label}'", detail))
    plan.extend(("remove", f"blackout {customer.key} '{r.label}'", "not in the file") for r in drop)

    def change() -> None:
        session.add_all(added)
        for row in drop:
            retire(session, row, now)

    apply_and_notify(session, now, settings, [customer], change, "customer blackouts updated")
    return plan


def apply_freezes(
    session: Session, now: datetime, settings: Settings, declared: list[FreezeDecl], products: dict[str, Product]
) -> list[tuple[str, str, str]]:
    """Make the freezes those of the file; returns plan items."""
    wanted: list[tuple[int | None, FreezeDecl]] = []
    for decl in declared:
        if decl.products is None:
            wanted.append((None, decl))
        else:
            for key in decl.products:
                if key not in products:
                    raise InvalidInput(f"freeze '{decl.reason}': unknown product '{key}'")
                wanted.append((products[key].id, decl))
    rows = list(session.scalars(select(Freeze).where(Freeze.removed_at.is_(None)).order_by(Freeze.id)))

    def same(row: Freeze, pid: int | None, d: FreezeDecl) -> bool:
        return (row.product_id, row.start, row.end, row.reason) == (pid, d.start, d.end, d.reason)

    keep = [r for r in rows if any(same(r, pid, d) for pid, d in wanted)]
    drop = [r for r in rows if r not in keep]
    new = [(pid, d) for pid, d in wanted if not any(same(r, pid, d) for r in keep)]
    if not drop and not new:
        return []
    by_id = {p.id: k for k, p in products.items()}
    plan = [
        (
            "add",
            f"freeze {by_id.get(pid, 'all') if pid else 'all'}",
            f"{format_utc(d.start)} - {format_utc(d.end)}: {d.reason}",
        )
        for pid, d in new
    ]
    plan += [("remove", f"freeze {r.id}", "not in the file") for r in drop]

    def change() -> None:
        for pid, d in new:
            session.add(
                Freeze(product_id=pid, start=d.start, end=d.end, timezone=d.tz, reason=d.reason, created_at=now)
            )
        for row in drop:
            row.removed_at = now  # kept: its occurrences come back at a higher SEQUENCE (effects)

    customers = list(session.scalars(select(Customer).join(Subscription).distinct().order_by(Customer.key)))
    apply_and_notify(session, now, settings, customers, change, "change freezes updated")
    return plan
