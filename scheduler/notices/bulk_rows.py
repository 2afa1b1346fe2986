"""Writing many outbox rows at once (the first planning run writes tens of thousands).

On PostgreSQL a batch of ``COPY_FROM`` rows or more is sent with a binary COPY, its ids (when the caller
needs them) taken from the table's sequence in one query first: psycopg parses the SQL of a
multi-row INSERT of thousands of placeholders on the client, which cost more than the server took
to store the rows (12 of 38 s of the first plan at 500 customers). Elsewhere (SQLite, small
batches) one multi-row INSERT ... RETURNING. Either way the ids follow the rows' order, as if the
rows were inserted one by one, and the stored values are those an INSERT stores (the columns'
own bind processing: aware datetimes as naive UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from scheduler.store.base import Base

COPY_FROM = 50


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], *, ids: bool) -> list[int]:
    """Insert ``rows`` (dicts of the same columns) into ``model``'s table in their order; returns
    their ids when ``ids`` (else [])."""
    if not rows:
        return []
    connection = session.connection()
    table = model.__table__
    assert isinstance(table, Table)
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        statement = insert(model)
        if not ids:
            session.execute(statement, list(rows))
            return []
        key = table.c.id
        return list(session.scalars(statement.returning(key, sort_by_parameter_order=True), list(rows)))
    numbers: list[int] = []
    if ids:
        numbers = list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n) ORDER BY 1"),
                {"table": table.name, "n": len(rows)},
            )
        )
        rows = [row | {"id": number} for row, number in zip(rows, numbers, strict=True)]
    names = list(rows[0])
    dialect = connection.dialect
    processors = [table.c[name].type.bind_processor(dialect) for name in names]
    quote = dialect.identifier_preparer.quote
    copy_sql = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN (FORMAT BINARY)"
    types: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                " WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0"
            ),
            {"table": table.name},
        ).all()
    )
    raw: Any = connection.connection.driver_connection  # psycopg's, in this transaction
    try:
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            copy.set_types([types[name] for name in names])  # binary: the MIME bytes as they are, not in hex
            for row in rows:
                copy.write_row(
                    [
                        row[name] if process is None else process(row[name])
                        for name, process in zip(names, processors, strict=True)
                    ]
                )
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy raises it for an INSERT (IntegrityError for a unique key: the planning run
        # re-plans when another run committed the same announcement first).
        raise DBAPIError.instance(copy_sql, None, error, dialect.loaded_dbapi.Error) from error
    return numbers
