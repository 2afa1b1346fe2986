"""How the SLA treats a product-wide occurrence that ops kept in a customer's blackout (DESIGN §9).

``blackout_overridden_counts_as = "downtime"`` (the default): for that customer it counts as
downtime, however well it was noticed; ``"maintenance"``: it is judged like any other window.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.store.models import Customer, Product
from scheduler.store.models_blackouts import ConflictResolution
from windows.sla import WindowVerdict

OVERRIDDEN_REASON = "kept in the customer's blackout (conflict overridden): counts as downtime"


def overridden_verdicts(
    session: Session, prod: Product, customer: str, verdicts: list[WindowVerdict]
) -> list[WindowVerdict]:
    """``verdicts`` of ``customer`` with its overridden occurrences made downtime, if the policy says so."""
    if prod.blackout_overridden_counts_as != "downtime":
        return verdicts
    kept = set(
        session.scalars(
            select(ConflictResolution.occurrence_id)
            .join(Customer, Customer.id == ConflictResolution.customer_id)
            .where(ConflictResolution.product_id == prod.id, Customer.key == customer)
        )
    )
    if not kept:
        return verdicts
    return [WindowVerdict(v.window, False, OVERRIDDEN_REASON) if v.window.id in kept else v for v in verdicts]
