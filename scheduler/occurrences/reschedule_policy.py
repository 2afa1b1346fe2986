"""The reschedule policy (per product, each refusal one clear reason), checked when a customer asks
and again when ops approve:

- the occurrence exists for that customer, is planned, not cancelled and still in the future;
- the request comes at least ``reschedule_cutoff_hours`` before its current start;
- the new start lies within ``reschedule_max_shift_days`` of the original start and after
  ``now + cutoff``;
- the window keeps its length and does not overlap another occurrence of the same product for
  that customer;
- only for a product the customer subscribes to (otherwise: the same NotFound as an unknown id).

One open request per occurrence and customer is the database's to enforce (``reschedule``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler.occurrences.schedule import find_occurrence, occurrences
from scheduler.store.models import Customer, Product
from scheduler.store.repository import subscribed_product
from windows.errors import NotFound, PolicyRefused
from windows.schedule import Scheduled
from windows.timezones import format_utc


def occurrence_for(session: Session, occurrence_id: str, cust: Customer) -> tuple[Scheduled, Product]:
    """The occurrence as ``cust`` sees it, in a product it subscribes to.

    Anything else (unknown product, a product it does not buy, another customer's ``local``
    occurrence, no occurrence that day) is the same NotFound, decided before the id is looked at.
    """
    missing = NotFound(f"no occurrence '{occurrence_id}' for customer '{cust.key}'")
    product = subscribed_product(session, cust, occurrence_id.split(".")[0])
    if product is None:
        raise missing
    parts = occurrence_id.split(".")
    if len(parts) >= 2 and parts[1].startswith("unplanned-"):
        raise PolicyRefused("unplanned maintenance cannot be rescheduled")
    current = find_occurrence(session, occurrence_id, cust.key)
    if current is None:
        raise missing
    return current, product


def check_policy(
    session: Session,
    now: datetime,
    product: Product,
    cust: Customer,
    current: Scheduled,
    new_start: datetime,
    new_end: datetime,
) -> None:
    if current.status == "cancelled":
        raise PolicyRefused(f"occurrence '{current.id}' is cancelled")
    if current.start <= now:
        raise PolicyRefused(f"occurrence '{current.id}' has already started")
    cutoff = timedelta(hours=product.reschedule_cutoff_hours)
    if now > current.start - cutoff:
        raise PolicyRefused(
            f"requests must come at least {product.reschedule_cutoff_hours} h before the window "
            f"(it starts {format_utc(current.start)})"
        )
    if new_start < now + cutoff:
        raise PolicyRefused(f"the new start must be at least {product.reschedule_cutoff_hours} h from now")
    original = current.occurrence.start
    shift = timedelta(days=product.reschedule_max_shift_days)
    if abs(new_start - original) > shift:
        raise PolicyRefused(
            f"the new start must lie within {product.reschedule_max_shift_days} days of the original "
            f"start {format_utc(original)}"
        )
    if new_end - new_start != current.end - current.start:
        raise PolicyRefused(
            f"the window must keep its length of {int((current.end - current.start).total_seconds() // 60)} minutes"
        )
    if new_start == current.start:
        raise PolicyRefused("the new start is the current start: nothing to move")
    others = occurrences(
        session, new_start - timedelta(days=8), new_end + timedelta(days=1), product=product.key, customer=cust.key
    )
    for other in others:
        if other.id != current.id and other.start < new_end and other.end > new_start:
            raise PolicyRefused(f"the new time overlaps occurrence '{other.id}' ({format_utc(other.start)})")
