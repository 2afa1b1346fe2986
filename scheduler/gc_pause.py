"""Bulk work with Python's cyclic garbage collector paused.

A command that loads or builds hundreds of thousands of objects at once (the catalogue's customers,
contacts and subscriptions in ``apply``; the conflict tuples of a year; a month's compliance items)
otherwise triggers collector passes over an ever larger heap: they took half of a no-op ``apply``'s
CPU at 5,000 customers, most of a conflict listing's, and half of an SLA report's at 50,000.
Reference counting still frees everything without cycles.

Pausing alone only defers the cost: every object made in the block is still in the youngest
generation when the collector is enabled again, and the first collection after the block walks them
all (8.7 s of a 33 s compliance report of 1,235,000 items). So the block's survivors are moved to the
oldest generation without a walk (``gc.freeze()`` then ``gc.unfreeze()``), where they wait for the
next full collection, whose timing CPython paces by the growth of that generation: cycles made in
the block (ORM states) are collected then. A process that froze objects itself with
``freeze_start_up`` (the HTTP server freezes what start-up built) keeps them frozen: there the
survivors are left to the collector. (``gc.get_freeze_count()`` would tell, but it walks every
frozen object: in a server process or a test session that is most of the heap, on every call.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_froze_start_up = False  # set by ``freeze_start_up``: this process keeps objects frozen


def freeze_start_up() -> None:
    """Collect, then freeze what exists now (what start-up built lives as long as the process): the
    collector's full passes no longer walk it, and ``gc_paused`` leaves the frozen objects alone."""
    global _froze_start_up
    gc.collect()
    gc.freeze()
    _froze_start_up = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (other threads of the process run without it too),
    then age what the block made into the oldest generation (unless objects are frozen already).

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
        if not _froze_start_up:
            gc.freeze()  # every tracked object to the permanent generation, without a walk ...
            gc.unfreeze()  # ... and all of them back into the oldest generation
        if was_enabled:
            gc.enable()
