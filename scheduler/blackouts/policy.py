"""A product's blackout policy (DESIGN §9): ``on_blackout``, ``blackout_lead_days``,
``blackout_overridden_counts_as``. Set by the catalogue file (``maintcal apply``)."""

from __future__ import annotations

from datetime import datetime

from scheduler.store.db import Database
from scheduler.store.repository import bump_version, get_product
from windows.errors import InvalidInput

ON_BLACKOUT = ("skip", "next")
COUNTS_AS = ("downtime", "maintenance")


def check_policy(on_blackout: str | None, lead_days: int | None, counts_as: str | None) -> None:
    if on_blackout is not None and on_blackout not in ON_BLACKOUT:
        raise InvalidInput(f'on_blackout must be "skip" or "next", not {on_blackout!r}')
    if lead_days is not None and (
        isinstance(lead_days, bool) or not isinstance(lead_days, int) or not 0 <= lead_days <= 3650
    ):
        raise InvalidInput(f"blackout_lead_days must be a whole number of days from 0 to 3650, not {lead_days!r}")
    if counts_as is not None and counts_as not in COUNTS_AS:
        raise InvalidInput(f'blackout_overridden_counts_as must be "downtime" or "maintenance", not {counts_as!r}')


def set_policy(
    db: Database,
    now: datetime,
    product: str,
    *,
    on_blackout: str | None = None,
    lead_days: int | None = None,
    counts_as: str | None = None,
) -> bool:
    """Set the given fields of ``product``'s policy; returns whether anything changed."""
    check_policy(on_blackout, lead_days, counts_as)
    with db.transaction() as session:
        prod = get_product(session, product)
        before = (prod.on_blackout, prod.blackout_lead_days, prod.blackout_overridden_counts_as)
        if on_blackout is not None:
            prod.on_blackout = on_blackout
        if lead_days is not None:
            prod.blackout_lead_days = lead_days
        if counts_as is not None:
            prod.blackout_overridden_counts_as = counts_as
        changed = before != (prod.on_blackout, prod.blackout_lead_days, prod.blackout_overridden_counts_as)
        if changed:
            bump_version(session, now)
        return changed
