"""Reading many rows on PostgreSQL as psycopg's plain tuples, without SQLAlchemy's ``Row`` objects.

A month's compliance report at 50,000 customers reads 2.65 million rows of what the deliveries
covered: through ``Session.execute`` each cost ~2.2 us of CPU (the ORM's row loading, then a ``Row``),
through the connection ~1.5 us, through psycopg's cursor ~0.4 us. The SQL is written for PostgreSQL
(the caller keeps a SQLAlchemy statement for SQLite); instants are passed and read naive UTC, as
stored (what ``UTCDateTime`` does around them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def driver_rows(session: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (psycopg's ``%s`` placeholders) in the session's transaction."""
    connection = session.connection()
    dialect = connection.dialect
    raw: Any = connection.connection.driver_connection  # psycopg's, in this transaction
    try:
        with raw.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it (one line for the CLI)
        raise DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error) from error


def naive_utc(instant: datetime) -> datetime:
    """An aware instant as stored: naive UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None)
