"""Event-loop lag, measured from inside a server process (a diagnostic; nothing uses it by default).

``LoopLagApp(app, path)`` wraps an ASGI app: for as long as its lifespan runs, a task sleeps
``interval`` again and again and notes how late each wake-up is (the lag: how long a callback that
was due then, such as a ``/healthz`` request, waited), together with what the loop thread did
meanwhile, from Linux's ``/proc/thread-self/schedstat``: time on a CPU (the loop was busy running
something) and time runnable but waiting for a CPU (the process was starved by others). The rest of a
late wake-up is time off the CPU and not in the run queue: waiting for the GIL held by another thread
of the process, or a blocking call. While a wake-up is late, a sampling thread notes the loop
thread's Python stack, so the report also says what the loop was running when it stalled; garbage
collector passes are timed too. The figures (``LagRecord``, each with its instant) are written as
JSON to ``path`` when the lifespan ends; ``LagRecord.load(...).report(since, until)`` sums up a span
of them. ``benchmarks/feed_load.py`` uses it; it adds no work to a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INTERVAL = 0.005  # seconds between wake-ups
STALL = 0.010  # a wake-up at least this late is a stall: sampled, attributed, listed
MAX_WAKEUPS = 2_000_000  # wake-ups recorded (about 3 hours at INTERVAL); later ones are not
FRAMES = 8  # innermost Python frames of a sampled stack


class ThreadTimes:
    """The calling thread's (seconds on a CPU, seconds runnable but waiting for one), from schedstat.

    Where the file is missing (not Linux), CPU time comes from ``time.thread_time`` and waiting is 0.
    """

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None

    def read(self) -> tuple[float, float]:
        if self._fd is None:
            return time.thread_time(), 0.0
        on_cpu, waiting = os.pread(self._fd, 64, 0).split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


Wakeup = tuple[float, float, float, float]  # (due, lag, cpu, waiting), in seconds


def percentile(ordered: list[float], share: float) -> float:
    """The value below which ``share`` of ``ordered`` (sorted) lies; 0.0 for none."""
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass
class LagRecord:
    """Wake-ups and what the loop thread did before each: the raw figures, and their report (pure).

    Every wake-up carries its due instant (the monotonic clock, shared by all processes of the machine),
    so a report can cover one phase of a benchmark: ``report(since, until)``.
    """

    interval: float = INTERVAL
    stall: float = STALL
    wakeups: list[Wakeup] = field(default_factory=list)
    stacks: list[tuple[float, str]] = field(default_factory=list)  # (instant, stack) sampled in stalls
    gc_pauses: list[tuple[float, int, float, float]] = field(default_factory=list)  # (instant, generation, s, cpu s)

    def tick(self, due: float, woke: float, cpu: float, waiting: float) -> None:
        """A wake-up due at ``due`` came at ``woke``; meanwhile (since the previous wake-up) the loop
        thread was ``cpu`` seconds on a CPU and ``waiting`` seconds in the run queue."""
        if len(self.wakeups) < MAX_WAKEUPS:
            self.wakeups.append((due, max(0.0, woke - due), cpu, waiting))

    def dump(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "stall": self.stall,
            "wakeups": self.wakeups,
            "stacks": self.stacks,
            "gc_pauses": self.gc_pauses,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> LagRecord:
        return cls(
            data["interval"],
            data["stall"],
            [(due, lag, cpu, waiting) for due, lag, cpu, waiting in data["wakeups"]],
            [(at, stack) for at, stack in data["stacks"]],
            [(at, generation, seconds, cpu) for at, generation, seconds, cpu in data["gc_pauses"]],
        )

    def stalls(self, since: float = float("-inf"), until: float = float("inf")) -> list[Wakeup]:
        """The wake-ups at least ``stall`` late, due between ``since`` and ``until``."""
        return [wakeup for wakeup in self.wakeups if since <= wakeup[0] < until and wakeup[1] >= self.stall]

    def report(self, since: float = float("-inf"), until: float = float("inf")) -> dict[str, Any]:
        """Between ``since`` and ``until`` (all durations in ms):

        - ``lag``: percentiles of how late the wake-ups were;
        - ``busy_lag``: the same for the part of each lag the loop thread spent on a CPU (its CPU time
          since the previous wake-up, capped at the lag): what would be left with a CPU to spare, and
          ``busy_stalls``, how many of those parts are a stall long;
        - ``loop``: the loop thread's CPU time and run-queue time in all;
        - ``stall_lag``: the stalls' lag split into busy, starved (the run-queue time, capped at the rest
          of the lag) and other (the GIL held by another thread of the process, a blocking call);
        - ``gc``: collector passes in the loop thread (wall and CPU time); ``stacks``: the stacks sampled in
          stalls.
        """
        span = [wakeup for wakeup in self.wakeups if since <= wakeup[0] < until]
        lags = sorted(lag for _, lag, _, _ in span)
        busy_lags = sorted(min(cpu, lag) for _, lag, cpu, _ in span)
        busy = starved = total = 0.0
        for _, lag, cpu, waiting in self.stalls(since, until):
            on_cpu = min(cpu, lag)
            busy += on_cpu
            starved += min(waiting, lag - on_cpu)
            total += lag
        pauses = [pause[1:] for pause in self.gc_pauses if since <= pause[0] < until]

        def ms(ordered: list[float]) -> dict[str, float]:
            return {name: percentile(ordered, share) * 1e3 for name, share in (("p50", 0.5), ("p99", 0.99), ("max", 1))}

        return {
            "wakeups": len(span),
            "lag_ms": ms(lags),
            "busy_lag_ms": ms(busy_lags),
            "busy_stalls": sum(1 for busy in busy_lags if busy >= self.stall),
            "loop_ms": {"cpu": sum(w[2] for w in span) * 1e3, "waiting": sum(w[3] for w in span) * 1e3},
            "stalls": len(self.stalls(since, until)),
            "stall_lag_ms": {
                "total": total * 1e3,
                "busy": busy * 1e3,
                "starved": starved * 1e3,
                "other": (total - busy - starved) * 1e3,
            },
            "gc": {
                "passes": len(pauses),
                "ms": sum(seconds for _, seconds, _ in pauses) * 1e3,
                "cpu_ms": sum(cpu for _, _, cpu in pauses) * 1e3,
                "max_ms": max((seconds for _, seconds, _ in pauses), default=0.0) * 1e3,
                "max_cpu_ms": max((cpu for _, _, cpu in pauses), default=0.0) * 1e3,
                "gen2_passes": sum(1 for generation, _, _ in pauses if generation == 2),
            },
            "stacks": Counter(stack for at, stack in self.stacks if since <= at < until).most_common(),
        }


class LoopLagMonitor:
    """Runs in one event loop: the wake-up task, a stack sampler thread and a GC timer."""

    def __init__(self, record: LagRecord | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.record = record or LagRecord()
        self.clock = clock
        self._due = float("inf")  # the current wake-up's due instant (read by the sampler)
        self._task: asyncio.Task[None] | None = None
        self._sampler: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop_thread = threading.get_ident()
        self._gc_started = (0.0, 0.0)  # (instant, loop thread CPU seconds) the current GC pass began
        self._times: ThreadTimes | None = None

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._times = ThreadTimes()  # of the loop thread: opened in it
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._sampler = threading.Thread(target=self._sample, name="looplag-sampler", daemon=True)
        self._sampler.start()
        gc.callbacks.append(self._gc)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc)
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._times is not None:
            self._times.close()

    async def _run(self) -> None:
        assert self._times is not None
        cpu, waiting = self._times.read()
        while True:
            self._due = self.clock() + self.record.interval
            await asyncio.sleep(self.record.interval)
            woke = self.clock()
            now_cpu, now_waiting = self._times.read()
            self.record.tick(self._due, woke, now_cpu - cpu, now_waiting - waiting)
            cpu, waiting = now_cpu, now_waiting

    def _sample(self) -> None:
        """While a wake-up is late, note the loop thread's innermost Python frames."""
        while not self._stop.wait(self.record.interval / 2):
            if self.clock() - self._due < self.record.stall:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            names: list[str] = []
            while frame is not None and len(names) < FRAMES:
                code = frame.f_code
                names.append(f"{Path(code.co_filename).stem}.{code.co_name}:{frame.f_lineno}")
                frame = frame.f_back
            self.record.stacks.append((self.clock(), " < ".join(names) or "(no Python frame)"))

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self._loop_thread or self._times is None:
            return
        if phase == "start":
            self._gc_started = (self.clock(), self._times.read()[0])
        else:
            started, cpu = self._gc_started
            seconds = self.clock() - started
            self.record.gc_pauses.append((started, info["generation"], seconds, self._times.read()[0] - cpu))


class LoopLagApp:
    """``app`` whose lifespan also runs a ``LoopLagMonitor``, its report written to ``path`` at the end."""

    def __init__(self, app: ASGIApp, path: Path, record: LagRecord | None = None) -> None:
        self.app = app
        self.path = path
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        monitor = LoopLagMonitor(self.record)
        monitor.start()

        async def send_then_report(message: Message) -> None:
            # The server may stop the loop as soon as shutdown is complete: write the figures before.
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await monitor.stop()
                self.path.write_text(json.dumps(monitor.record.dump()))
            await send(message)

        await self.app(scope, receive, send_then_report)
