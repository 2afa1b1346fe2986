"""The event-loop lag diagnostic (scheduler/http/looplag.py): its arithmetic, and a real lifespan."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from scheduler.http.looplag import LagRecord, LoopLagApp, ThreadTimes, percentile


def test_percentile_of_sorted_values() -> None:
    assert percentile([], 0.99) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 1) == 4.0


def test_tick_keeps_the_lag_of_each_wakeup_never_negative() -> None:
    record = LagRecord()
    record.tick(due=10.0, woke=10.002, cpu=0.001, waiting=0.0)
    record.tick(due=10.007, woke=10.006, cpu=0.0, waiting=0.0)  # woke early: lag 0
    assert record.wakeups == [(10.0, pytest.approx(0.002), 0.001, 0.0), (10.007, 0.0, 0.0, 0.0)]


def test_report_splits_stalls_into_busy_starved_and_other() -> None:
    record = LagRecord(interval=0.005, stall=0.010)
    record.wakeups = [
        (1.0, 0.001, 0.002, 0.0),  # not a stall
        (2.0, 0.040, 0.030, 0.020),  # busy 30 ms, starved 10 (of its 20 waiting: capped at the rest)
        (3.0, 0.050, 0.005, 0.015),  # busy 5, starved 15, other 30
        (9.0, 0.500, 0.500, 0.0),  # outside the span
    ]
    record.gc_pauses = [(2.5, 2, 0.012, 0.004), (2.6, 0, 0.001, 0.001), (9.5, 2, 1.0, 1.0)]
    record.stacks = [(2.01, "a"), (3.01, "b"), (3.02, "b"), (9.1, "c")]

    report = record.report(since=0.0, until=5.0)

    assert report["wakeups"] == 3
    assert report["stalls"] == 2
    assert report["lag_ms"] == {"p50": pytest.approx(40.0), "p99": pytest.approx(50.0), "max": pytest.approx(50.0)}
    assert report["busy_lag_ms"] == {"p50": pytest.approx(5.0), "p99": pytest.approx(30.0), "max": pytest.approx(30.0)}
    assert report["busy_stalls"] == 1
    assert report["loop_ms"] == {"cpu": pytest.approx(37.0), "waiting": pytest.approx(35.0)}
    assert report["stall_lag_ms"] == {
        "total": pytest.approx(90.0),
        "busy": pytest.approx(35.0),
        "starved": pytest.approx(25.0),
        "other": pytest.approx(30.0),
    }
    assert report["gc"] == {
        "passes": 2,
        "ms": pytest.approx(13.0),
        "cpu_ms": pytest.approx(5.0),
        "max_ms": pytest.approx(12.0),
        "max_cpu_ms": pytest.approx(4.0),
        "gen2_passes": 1,
    }
    assert report["stacks"] == [("b", 2), ("a", 1)]


def test_a_record_survives_dump_and_load() -> None:
    record = LagRecord(interval=0.004, stall=0.02)
    record.tick(due=1.0, woke=1.5, cpu=0.1, waiting=0.3)
    record.stacks.append((1.2, "frame"))
    record.gc_pauses.append((1.1, 2, 0.2, 0.1))

    loaded = LagRecord.load(json.loads(json.dumps(record.dump())))

    assert loaded == record


def test_thread_times_of_this_thread_only_grow() -> None:
    times = ThreadTimes()
    try:
        cpu, waiting = times.read()
        sum(range(100_000))
        later_cpu, later_waiting = times.read()
    finally:
        times.close()
    assert later_cpu >= cpu >= 0.0
    assert later_waiting >= waiting >= 0.0


async def _serve_once(app: LoopLagApp) -> str:
    """The app's lifespan around one request, as uvicorn runs it; a 60 ms block of the loop meanwhile."""
    messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return await messages.get()

    async def send(message: dict[str, object]) -> None:
        sent.append(str(message["type"]))

    lifespan = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))  # type: ignore[arg-type]
    await messages.put({"type": "lifespan.startup"})
    while "lifespan.startup.complete" not in sent:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.02)
    time.sleep(0.06)  # the loop blocked: the monitor's next wake-up is at least 55 ms late
    await asyncio.sleep(0.02)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        body = (await client.get("/healthz")).text
    await messages.put({"type": "lifespan.shutdown"})
    await lifespan
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    return body


def test_the_wrapped_app_answers_as_before_and_its_figures_are_written_at_shutdown(tmp_path: Path) -> None:
    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    path = tmp_path / "lag.json"
    app = LoopLagApp(Starlette(routes=[Route("/healthz", healthz)]), path)

    assert asyncio.run(_serve_once(app)) == "ok"

    record = LagRecord.load(json.loads(path.read_text()))
    assert len(record.wakeups) >= 2
    assert record.report()["lag_ms"]["max"] >= 55.0
    assert record.report()["stalls"] >= 1
