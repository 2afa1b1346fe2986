"""Outages: measured downtime of a product (optionally one customer's), imported or added by hand.

Imports are all-or-nothing: a file with any bad row imports nothing and every problem is listed
with its line. Re-importing the same file adds nothing: a row is already known when its external
id is, or when an identical outage (product, customer, start, end) exists.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.store.db import Database
from scheduler.store.models import Customer, Outage, Product
from scheduler.store.repository import get_customer, get_product
from windows.errors import InvalidInput, MaintcalError, ManyProblems
from windows.parsing import parse_instant
from windows.text import clean_text

COLUMNS = ("product", "start", "end", "customer", "source", "id")
MAX_OUTAGE = timedelta(days=366)


@dataclass(frozen=True)
class OutageRow:
    line: int
    product: str
    start: datetime
    end: datetime
    customer: str | None
    source: str | None
    external_id: str | None


@dataclass(frozen=True)
class OutageInfo:
    id: int
    product: str
    customer: str | None
    start: datetime
    end: datetime
    source: str | None
    external_id: str | None


@dataclass(frozen=True)
class ImportResult:
    added: int
    known: int


def parse_outages(text: str, filename: str) -> list[OutageRow]:
    """Rows of a CSV (header ``product,start,end[,customer,source,id]``) or JSON file."""
    stripped = text.lstrip()
    if filename.lower().endswith(".json") or stripped.startswith(("[", "{")):
        records = _json_records(text, filename)
    else:
        records = _csv_records(text, filename)
    problems: list[str] = []
    rows = []
    for line, record in records:
        try:
            rows.append(_row(line, record))
        except MaintcalError as error:
            problems.append(f"{filename}:{line}: {error.message}")
    if problems:
        raise ManyProblems(problems)
    if not rows:
        raise InvalidInput(f"{filename}: no outages in the file")
    return rows


def _csv_records(text: str, filename: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("product", "start", "end") if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        detail = f"missing {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(unknown)}"
        raise InvalidInput(f"{filename}:1: bad header ({detail}); expected product,start,end[,customer,source,id]")
    reader.fieldnames = header
    records = []
    for record in reader:
        if None in record:
            raise InvalidInput(f"{filename}:{reader.line_num}: more fields than the header has")
        records.append((reader.line_num, dict(record)))
    return records


def _json_records(text: str, filename: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{filename}:{error.lineno}: not valid JSON: {error.msg}") from None
    if isinstance(data, dict):
        data = data.get("outages")
    if not isinstance(data, list):
        raise InvalidInput(f'{filename}: expected a JSON array of outages (or {{"outages": [...]}})')
    records = []
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InvalidInput(f"{filename}: item {index} is not an object")
        records.append((index, item))
    return records


def _row(line: int, record: dict[str, Any]) -> OutageRow:
    unknown = sorted(set(record) - set(COLUMNS))
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}")

    def text(name: str) -> str | None:
        value = record.get(name)
        if value is None:
            return None
        if not isinstance(value, str | int):
            raise InvalidInput(f"{name} must be text")
        return clean_text(name, str(value), max_length=2000, required=False) or None

    product = text("product")
    start_text, end_text = text("start"), text("end")
    if not product or not start_text or not end_text:
        raise InvalidInput("product, start and end are required")
    start, end = parse_instant(start_text), parse_instant(end_text)
    _check(start, end)
    return OutageRow(line, product, start, end, text("customer"), text("source"), text("id"))


def _check(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput(f"end {end:%Y-%m-%dT%H:%M:%SZ} is not after start {start:%Y-%m-%dT%H:%M:%SZ}")
    if end - start > MAX_OUTAGE:
        raise InvalidInput("an outage may last at most 366 days")


def import_outages(db: Database, now: datetime, rows: list[OutageRow], filename: str) -> ImportResult:
    """Add the rows not already known; all or nothing."""
    with db.transaction() as session:
        products = {p.key: p for p in session.scalars(select(Product))}
        customers = {c.key: c for c in session.scalars(select(Customer))}
        problems = []
        for row in rows:
            if row.product not in products:
                problems.append(f"{filename}:{row.line}: unknown product '{row.product}'")
            if row.customer and row.customer not in customers:
                problems.append(f"{filename}:{row.line}: unknown customer '{row.customer}'")
        if problems:
            raise ManyProblems(problems)
        added = known = 0
        for row in rows:
            product = products[row.product]
            customer = customers[row.customer] if row.customer else None
            if _known(session, product, customer, row):
                known += 1
                continue
            session.add(
                Outage(
                    product_id=product.id,
                    customer_id=customer.id if customer else None,
                    start=row.start,
                    end=row.end,
                    source=row.source,
                    external_id=row.external_id,
                    created_at=now,
                )
            )
            session.flush()
            added += 1
        return ImportResult(added, known)


def _known(session: Session, product: Product, customer: Customer | None, row: OutageRow) -> bool:
    if row.external_id:
        return (
            session.scalar(
                select(Outage.id).where(Outage.product_id == product.id, Outage.external_id == row.external_id)
            )
            is not None
        )
    customer_match = Outage.customer_id.is_(None) if customer is None else Outage.customer_id == customer.id
    return (
        session.scalar(
            select(Outage.id).where(
                Outage.product_id == product.id, customer_match, Outage.start == row.start, Outage.end == row.end
            )
        )
        is not None
    )


def add_outage(
    db: Database, now: datetime, product: str, start: datetime, end: datetime, customer: str | None = None
) -> ImportResult:
    _check(start, end)
    with db.transaction() as session:
        get_product(session, product)
        if customer:
            get_customer(session, customer)
    return import_outages(db, now, [OutageRow(0, product, start, end, customer, "manual", None)], "command line")


def list_outages(
    db: Database, product: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[OutageInfo]:
    with db.transaction() as session:
        query = (
            select(Outage, Product.key, Customer.key)
            .join(Product, Product.id == Outage.product_id)
            .outerjoin(Customer, Customer.id == Outage.customer_id)
            .order_by(Outage.start, Outage.id)
        )
        if product:
            query = query.where(Outage.product_id == get_product(session, product).id)
        if start:
            query = query.where(Outage.end > start)
        if end:
            query = query.where(Outage.start < end)
        return [
            OutageInfo(o.id, p, c, o.start, o.end, o.source, o.external_id) for o, p, c in session.execute(query).all()
        ]
