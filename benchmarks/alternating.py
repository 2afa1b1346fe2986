"""Timing two or more sides fairly: the same warm-up, then rounds that alternate them (A B A B ...).

Used by expand.py, sla.py and listing.py; prints nothing when run (``make bench`` runs every script).
Each side runs once untimed (warm-up: imports, caches, the allocator), then once per round in turn,
so a slow moment of the shared machine falls on every side alike. Best and median are reported, of
wall-clock time and of CPU time (this process and the commands it ran; waiting for a core does not
count in it, so it is steadier on a shared machine).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timed:
    name: str
    times: list[float]  # wall-clock seconds, one per round
    cpu: list[float]  # CPU seconds of this process and its finished children, one per round
    result: Any  # what the side returned in its last round

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def alternate(sides: Sequence[tuple[str, Callable[[], Any]]], rounds: int) -> list[Timed]:
    """Warm each side up once, then time ``rounds`` rounds of every side in turn."""
    for _, run in sides:
        run()
    times: list[list[float]] = [[] for _ in sides]
    cpu: list[list[float]] = [[] for _ in sides]
    results: list[Any] = [None] * len(sides)
    for _ in range(rounds):
        for i, (_, run) in enumerate(sides):
            gc.collect()
            began, began_cpu = time.perf_counter(), cpu_seconds()
            results[i] = run()
            times[i].append(time.perf_counter() - began)
            cpu[i].append(cpu_seconds() - began_cpu)
    return [Timed(name, t, c, r) for (name, _), t, c, r in zip(sides, times, cpu, results, strict=True)]


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (a command run by subprocess)."""
    now = os.times()
    return time.process_time() + now.children_user + now.children_system


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: 2 cores, several sessions)."""
    try:
        with open("/proc/loadavg") as file:
            return " ".join(file.read().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "unknown"
