"""Refusing times inside a change freeze: moves, reschedule requests, unplanned and one-off windows.

Imports only the store and the domain, so the rooms that create or move windows can call it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scheduler.blackouts.effects import freeze_rows
from scheduler.store.models import Product
from windows.errors import PolicyRefused
from windows.timezones import format_utc


def refuse_frozen(session: Session, product: Product, start: datetime, end: datetime, what: str) -> None:
    """Raise ``PolicyRefused`` naming the freeze if [start, end) overlaps one over ``product``.

    ``what`` names the time in the message: "the new time", "the proposed time", "the window".
    """
    frozen = freeze_rows(session, product.id, start, end)
    if frozen:
        freeze = frozen[0]
        scope = f"product '{product.key}'" if freeze.product_id is not None else "all products"
        raise PolicyRefused(
            f"{what} {format_utc(start)} - {format_utc(end)} falls in change freeze {freeze.id} over {scope} "
            f"({format_utc(freeze.start)} - {format_utc(freeze.end)}: {freeze.reason}); choose a time outside it"
        )
