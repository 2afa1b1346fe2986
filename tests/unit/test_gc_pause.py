"""``gc_paused``: the collector is off in the block, and what the block made is aged into the oldest
generation afterwards (no collection walks it on the way), unless the process froze objects itself."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from scheduler import gc_pause
from scheduler.gc_pause import gc_paused


class Node:
    """A tracked object that can sit in a cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def _generation_of(target: object) -> int | None:
    for generation in range(3):
        if any(o is target for o in gc.get_objects(generation)):
            return generation
    return None


@pytest.fixture
def collector_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A test earlier in the session may have started the HTTP app (freeze_start_up): not here.
    monkeypatch.setattr(gc_pause, "_froze_start_up", False)
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_what_the_block_made_ends_in_the_oldest_generation_and_the_collector_is_back_on() -> None:
    with gc_paused():
        assert not gc.isenabled()
        made = Node()
        assert _generation_of(made) == 0
    assert gc.isenabled()
    assert _generation_of(made) == 2
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector_on")
# The full collection also frees what earlier tests left in cycles (a psycopg connection warns then).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_cycle_made_in_the_block_is_still_collected_by_a_full_collection() -> None:
    with gc_paused():
        first, second = Node(), Node()
        first.other, second.other = second, first
    alive = weakref.ref(first)
    del first, second
    assert alive() is not None  # a cycle: reference counting alone does not free it
    gc.collect()
    assert alive() is None


@pytest.mark.usefixtures("collector_on")
def test_objects_frozen_at_start_up_stay_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = Node()
    monkeypatch.setattr(gc_pause, "_froze_start_up", False)  # restored after the test
    gc_pause.freeze_start_up()
    try:
        with gc_paused():
            made = Node()
        # Still frozen (the count may drop meanwhile: frozen objects freed by reference counting).
        assert gc.get_freeze_count() > 0
        assert _generation_of(frozen) is None  # still in the permanent generation
        assert _generation_of(made) == 0  # left to the collector
    finally:
        gc.unfreeze()


def test_a_disabled_collector_stays_disabled() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
