"""Product edits behind ``maintcal product``, and the display-name check every catalogue entry uses.

Each function is one transaction: it takes the database and ``now`` and returns plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from scheduler.store.db import Database
from scheduler.store.models import Product
from scheduler.store.repository import bump_version
from windows.errors import Conflict, InvalidInput
from windows.parsing import check_slug
from windows.text import clean_text


@dataclass(frozen=True)
class ProductInfo:
    key: str
    name: str
    notice_days: int
    public: bool
    windows: int


def check_name(name: str, what: str = "name") -> str:
    """A display name: one line of plain text, 1 to 200 characters (``windows.text``)."""
    return clean_text(what, name)


def add_product(
    db: Database, now: datetime, key: str, name: str, notice_days: int = 30, public: bool = False
) -> ProductInfo:
    check_slug(key, "product key")
    name = check_name(name, "product name")
    if not 0 <= notice_days <= 365:
        raise InvalidInput(f"--notice-days {notice_days}: use 0 to 365")
    with db.transaction() as session:
        if session.scalar(select(Product.id).where(Product.key == key)) is not None:
            raise Conflict(f"product '{key}' already exists")
        session.add(Product(key=key, name=name, notice_days=notice_days, public=public, created_at=now, updated_at=now))
        bump_version(session, now)
    return ProductInfo(key, name, notice_days, public, 0)


def list_products(db: Database) -> list[ProductInfo]:
    with db.transaction() as session:
        return [
            ProductInfo(p.key, p.name, p.notice_days, p.public, len(p.rules))
            for p in session.scalars(select(Product).order_by(Product.key))
        ]
