"""The measures of one SLA month in whole seconds: excluded time E and downtime D (DESIGN §4), pure.

:func:`windows.sla.compute_sla` turns its windows and outages into spans of whole seconds since
the epoch (half-open ``[start, end)``; excluded ones narrowed, downtime ones widened) and asks here
for E and D, up to ``now`` and for the whole month (the error budget needs both). One sort and one
merge per set, then one sweep of the downtime against the excluded spans: plain loops over ints,
which for the few spans of a real month cost less than any column or bitmap scheme.

>>> measures([(10, 20), (15, 30)], [(0, 12), (25, 40), (35, 50)], 5, 45, 45)
(20, 20, 20, 20)
>>> measures([(10, 20)], [(0, 12), (25, 40)], 5, 30, 45)
(10, 10, 10, 20)
"""

from __future__ import annotations

Span = tuple[int, int]  # [start, end) in whole seconds since the Unix epoch


def measures(excluded: list[Span], downtime: list[Span], lo: int, counted: int, hi: int) -> tuple[int, int, int, int]:
    """(E, D) counted in ``[lo, counted)``, then (E, D) in ``[lo, hi)``; ``lo <= counted <= hi``.

    E is the union of ``excluded`` clipped to ``[lo, hi)``; D the union of ``downtime`` clipped
    to it, minus E. Spans come in any order, overlapping or empty.
    """
    keep = _merge(excluded, lo, hi) if excluded else excluded
    down = _merge(downtime, lo, hi) if downtime else downtime
    full_e = sum([end - start for start, end in keep])
    full_d = sum([end - start for start, end in down])
    if keep and down:
        full_d -= _overlap(down, keep)
    if counted >= hi:
        return full_e, full_d, full_e, full_d
    keep, down = _merge(keep, lo, counted), _merge(down, lo, counted)
    e = sum([end - start for start, end in keep])
    d = sum([end - start for start, end in down])
    if keep and down:
        d -= _overlap(down, keep)
    return e, d, full_e, full_d


def _merge(spans: list[Span], lo: int, hi: int) -> list[Span]:
    """Sorted, disjoint union clipped to ``[lo, hi)``; empty spans dropped, touching ones merged."""
    merged: list[Span] = []
    last_start = last_end = 0
    for start, end in sorted(spans):
        if start < lo:
            start = lo
        if end > hi:
            end = hi
        if start >= end:
            continue
        if merged and start <= last_end:
            if end > last_end:
                last_end = end
                merged[-1] = (last_start, end)
        else:
            last_start, last_end = start, end
            merged.append((start, end))
    return merged


def _overlap(a: list[Span], b: list[Span]) -> int:
    """Length of the intersection of two sorted disjoint span lists (two pointers)."""
    total = i = j = 0
    a_count, b_count = len(a), len(b)
    while i < a_count and j < b_count:
        a_start, a_end = a[i]
        b_start, b_end = b[j]
        start = a_start if a_start > b_start else b_start
        end = a_end if a_end < b_end else b_end
        if start < end:
            total += end - start
        if a_end < b_end:
            i += 1
        else:
            j += 1
    return total
