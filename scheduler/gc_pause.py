"""Bulk work with Python's cyclic garbage collector paused.

A command that loads or builds hundreds of thousands of objects at once (the catalogue's customers,
contacts and subscriptions in ``apply``; the conflict tuples of a year) otherwise triggers collector
passes over an ever larger heap: they took half of a no-op ``apply``'s CPU at 5,000 customers and
most of a conflict listing's. Reference counting still frees everything without cycles; what has
cycles (ORM states) is collected once the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (other threads of the process run without it too).

    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
