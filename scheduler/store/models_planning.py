"""Models of the planning run's watermark (issue 11): what the last run planned, and what changed since.

``plan_marks`` holds one row: the data version and the instant (``now``) the last planning run
planned everything up to, with the settings it used. ``plan_changes`` names what a change of data
version touched (a product, a customer, or one customer on one product); a version with no row
here touched anything (``bump_version``), and the next planning run re-plans every customer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.store.base import Base


class PlanMark(Base):
    """One row (id 1): the last planning run planned every customer at ``version`` and ``planned_at``."""

    __tablename__ = "plan_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    planned_at: Mapped[datetime]
    lead_days: Mapped[int] = mapped_column(Integer)
    ahead_hours: Mapped[int] = mapped_column(Integer)


class PlanChange(Base):
    """Data ``version`` changed ``product_id`` (None: every product) for ``customer_id`` (None: every one)."""

    __tablename__ = "plan_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, index=True)
    product_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(Integer)
