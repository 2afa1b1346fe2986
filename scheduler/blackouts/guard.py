"""Refusing times inside a change freeze (moves, reschedule requests, unplanned and one-off windows)
and moves of a customer's own occurrences into its blackouts.

Imports only the store and the domain, so the rooms that create or move windows can call it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.blackouts.effects import blackout_blocks, freeze_rows
from scheduler.store.models import Customer, Product
from scheduler.store.models_blackouts import ACTIVE, Blackout
from windows.collisions import BlockedIndex
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


def refuse_blackout(session: Session, customer: Customer, start: datetime, end: datetime, what: str) -> None:
    """Raise ``PolicyRefused`` if [start, end) falls in one of ``customer``'s active blackouts
    (a ``local`` occurrence moved there would only be skipped again)."""
    rows = list(
        session.scalars(
            select(Blackout).where(Blackout.customer_id == customer.id, Blackout.status == ACTIVE).order_by(Blackout.id)
        )
    )
    if not rows:
        return
    hit = BlockedIndex(blackout_blocks(rows, customer.timezone, start, end)).first_overlap(start, end)
    if hit is not None:
        label = next(r.label for r in rows if f"b{r.id}" == hit.ident)
        raise PolicyRefused(
            f"{what} {format_utc(start)} - {format_utc(end)} falls in blackout {hit.ident[1:]} '{label}' of "
            f"{customer.key} ({format_utc(hit.start)} - {format_utc(hit.end)}); choose a time outside it"
        )
