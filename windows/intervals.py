"""Interval arithmetic on half-open spans of whole seconds: union, difference, measure (pure).

Spans are ``(start, end)`` pairs of ints, ``[start, end)``; empty ones (``start >= end``) are dropped.
The work is done on *columns* (sorted starts, sorted ends) in one sweep after sorting, with no
per-second bitmap. :mod:`windows.sla` uses the column helpers directly; the public functions here
take and return lists of spans.

>>> union([(0, 10), (5, 20)], 0, 15), subtract([(0, 10)], [(3, 4)]), measure([(0, 10)], 2, 30)
([(0, 15)], [(0, 3), (4, 10)], 8)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from operator import lt

Span = tuple[int, int]  # [start, end) in whole seconds since the Unix epoch


@dataclass(frozen=True)
class Sweep:
    """Merged, sorted, disjoint spans that never touch: excluded time, and downtime outside it."""

    excluded: list[Span]
    downtime: list[Span]


def sweep(excluded: Iterable[Span], downtime: Iterable[Span], lo: int, hi: int) -> Sweep:
    """Union of ``excluded``; union of ``downtime`` minus it; both clipped to ``[lo, hi)``.

    >>> sweep([(10, 20), (15, 30)], [(0, 12), (25, 40), (35, 50)], 5, 45)
    Sweep(excluded=[(10, 30)], downtime=[(5, 10), (30, 45)])
    """
    keep = _union(*_columns(excluded), lo, hi)
    down = _subtract(_union(*_columns(downtime), lo, hi), keep)
    return Sweep(list(zip(*keep, strict=True)), list(zip(*down, strict=True)))


def union(spans: Iterable[Span], lo: int, hi: int) -> list[Span]:
    """Sorted disjoint union of half-open spans, clipped to ``[lo, hi)``; touching spans merge.

    >>> union([(5, 9), (1, 3), (3, 4), (8, 20), (7, 7)], 0, 10)
    [(1, 4), (5, 10)]
    """
    return list(zip(*_union(*_columns(spans), lo, hi), strict=True))


def subtract(spans: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    """Sorted disjoint spans covering ``spans`` and not ``holes`` (both in any order, overlapping or not).

    >>> subtract([(20, 30), (0, 10)], [(2, 4), (8, 22), (25, 26), (3, 5)])
    [(0, 2), (5, 8), (22, 25), (26, 30)]
    """
    columns, hole_columns = _columns(spans), _columns(holes)
    everything = columns[0] + hole_columns[0], columns[1] + hole_columns[1]
    if not everything[0]:
        return []
    lo, hi = min(everything[0]), max(everything[1])
    return list(zip(*_subtract(_union(*columns, lo, hi), _union(*hole_columns, lo, hi)), strict=True))


def measure(spans: Iterable[Span], lo: int, hi: int) -> int:
    """Total length of sorted disjoint spans inside ``[lo, hi)``.

    >>> measure([(0, 10), (20, 30)], 5, 25)
    10
    """
    return _measure(_columns(spans), lo, hi)


# The sweep works on columns: sorted starts and sorted ends in two lists of ints. Every step is a
# sort (of ints, or of two sorted runs: linear) or a pass of map/compress/bisect, so the loops run
# in C rather than one Python iteration per span.
_Columns = tuple[list[int], list[int]]


def _columns(spans: Iterable[Span]) -> _Columns:
    pairs = [(start, end) for start, end in spans if start < end]
    return [start for start, _ in pairs], [end for _, end in pairs]


def _union(starts: list[int], ends: list[int], lo: int, hi: int) -> _Columns:
    """Merged columns of non-empty spans, clipped to ``[lo, hi)``.

    With starts and ends sorted separately, the i-th end is never before the i-th start, and nothing
    covers ``[ends[i], starts[i + 1])`` exactly when ``ends[i] < starts[i + 1]``: the gaps of the union.
    """
    if not starts:
        return [], []
    starts, ends = sorted(starts), sorted(ends)
    later = starts[1:]
    gaps = list(map(lt, ends, later))
    return _clip([starts[0], *compress(later, gaps)], [*compress(ends, gaps), ends[-1]], lo, hi)


def _subtract(spans: _Columns, holes: _Columns) -> _Columns:
    """Merged columns minus merged columns: the spans intersected with the gaps between holes."""
    (starts, ends), (hole_starts, hole_ends) = spans, holes
    if not starts or not hole_starts:
        return starts, ends
    lo, hi = min(starts[0], hole_starts[0]), max(ends[-1], hole_ends[-1])
    gap_starts, gap_ends = [lo, *hole_ends], [*hole_starts, hi]
    if gap_starts[-1] == gap_ends[-1]:
        del gap_starts[-1], gap_ends[-1]
    if gap_starts[0] == gap_ends[0]:
        del gap_starts[0], gap_ends[0]
    return _intersect((starts, ends), (gap_starts, gap_ends))


def _intersect(a: _Columns, b: _Columns) -> _Columns:
    """Intersection of two merged columns.

    Each side is disjoint, so at most two spans cover a point. Sorting all starts and all ends
    (two sorted runs each: linear), a point after exactly i ends is covered twice from
    ``starts[i + 1]`` to ``ends[i]``.
    """
    starts, ends = sorted(a[0] + b[0]), sorted(a[1] + b[1])
    later = starts[1:]
    both = list(map(lt, later, ends))
    return list(compress(later, both)), list(compress(ends, both))


def _clip(starts: list[int], ends: list[int], lo: int, hi: int) -> _Columns:
    if lo >= hi:
        return [], []
    first, last = bisect_right(ends, lo), bisect_left(starts, hi)
    starts, ends = starts[first:last], ends[first:last]
    if starts:
        starts[0], ends[-1] = max(starts[0], lo), min(ends[-1], hi)
    return starts, ends


def _measure(spans: _Columns, lo: int, hi: int) -> int:
    starts, ends = _clip(*spans, lo, hi)
    return sum(ends) - sum(starts)
