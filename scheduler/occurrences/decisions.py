"""Decisions on one occurrence, taken one at a time and ordered by the database, never by a clock.

Every decision that changes an occurrence (a move, a cancel, an approved reschedule request) takes
the occurrence's next decision number (``overrides.decision``: 1, 2, 3...) *before* it reads the
occurrence's current state, and the unique key on (product, occurrence, decision) lets only one of
two concurrent decisions have a number. The other one fails when it writes and is run again from
the start, so it decides on a state that includes the first one and gets the next number:

- PostgreSQL (READ COMMITTED): the second insert of the same number waits for the first
  transaction and fails with a unique violation when it commits. A decision whose number was read
  after the previous decision committed also reads that decision's effect (later statement, later
  snapshot), so number order is commit order and each decision sees every decision before it.
- SQLite: the unique key (or, for rows changed in place, a compare-and-set ``UPDATE ... WHERE
  sequence = <read value>``, ``LostRace``) finds a decision that another connection committed
  after this one read, and this one is run again. (pysqlite begins a transaction only at the
  first write, so the reads before it are not isolated: only the write can detect the race.)

The clocks of the deciding processes (``created_at``) are recorded for people to read only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from scheduler.store.db import Database
from scheduler.store.models import Override

T = TypeVar("T")


class LostRace(Exception):
    """A compare-and-set write found the row changed by a concurrent transaction: run again."""


ATTEMPTS = 5
# Unique keys that hand out numbers by "max + 1": losing one of them to a concurrent transaction
# means "run again", not "bad input".
_NUMBERING_KEYS = (
    "uq_overrides_product_id",  # PostgreSQL names the constraint
    "overrides.decision",  # SQLite names the columns
    "uq_unplanned_product_id",
    "unplanned.number",
)
_RETRYABLE_ERRORS = (
    "database is locked",  # SQLite: another connection wrote since this transaction read
    "could not serialize access",  # PostgreSQL serialization failure
    "deadlock detected",
)


def next_decision(session: Session, product_id: int, base_id: str) -> int:
    """The number the next decision on occurrence ``base_id`` of the product takes (1 for the first).

    Call it before reading the occurrence's state (see the module docstring).
    """
    found = session.scalar(
        select(func.max(Override.decision)).where(Override.product_id == product_id, Override.occurrence_id == base_id)
    )
    return (found or 0) + 1


def serialised(db: Database, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction; run it again when a concurrent decision committed first.

    ``work`` must do everything (reads, checks, writes) inside the session it is given, so a run
    again decides afresh on the state that includes the concurrent decision.
    """
    for attempt in range(ATTEMPTS):
        try:
            with db.transaction() as session:
                return work(session)
        except (IntegrityError, OperationalError, LostRace) as error:
            if attempt == ATTEMPTS - 1 or not (isinstance(error, LostRace) or _lost_a_race(error)):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _lost_a_race(error: IntegrityError | OperationalError) -> bool:
    text = str(error.orig)
    if isinstance(error, IntegrityError):
        return any(key in text for key in _NUMBERING_KEYS)
    return any(message in text for message in _RETRYABLE_ERRORS)
