"""Webhook, Slack and Teams deliveries against a real HTTP receiver on loopback (issue 15), on SQLite
and PostgreSQL: signatures checked with the ``standardwebhooks`` library, and the faults: receiver
down, 500 then 200, 429 with Retry-After, 410, slower than the timeout, internal targets refused.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from scheduler.catalogue import endpoints
from scheduler.notices.outbox_status import notices_status
from scheduler.notices.planning import plan_notices
from scheduler.notices.worker import send_all, send_due
from scheduler.occurrences.changes import change_occurrence
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models_outbox import Delivery, DeliveryAttempt, Notice
from tests.integration.notice_fixtures import FIRST, FIRST_END, FIRST_START, NOW, build, settings_for
from tests.integration.test_lifecycle_notices import verify_all
from tests.webhook_receiver import Receiver, free_port
from windows.errors import InvalidInput


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def queue_move(db: Database, conf: Settings, kind: str, url: str) -> str | None:
    """Customer acme with no email contact and one endpoint; a move queues one delivery to it."""
    build(db, contacts=())
    added = endpoints.add_endpoint(db, NOW, conf, "acme", kind, url)
    change_occurrence(
        db, NOW, conf, FIRST, action="move", reason="patch", new_start=FIRST_START + timedelta(hours=1),
        new_end=FIRST_END + timedelta(hours=1), waive_notice="agreed",
    )  # fmt: skip
    return added.secret


def rows(db: Database) -> list[dict[str, Any]]:
    with db.transaction() as session:
        return [
            {
                "status": d.status,
                "attempts": d.attempts,
                "code": d.last_code,
                "uncertain": d.uncertain,
                "next": d.next_attempt_at,
            }
            for d in session.scalars(select(Delivery).order_by(Delivery.id))
        ]


def conf_for(db_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return settings_for(db_url, tmp_path, **({"webhook_allow_private": True, "webhook_timeout": 2.0} | extra))


def test_a_webhook_is_signed_and_carries_the_occurrence(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = conf_for(db_url, tmp_path)
    secret = queue_move(db, conf, "webhook", receiver.url)
    assert secret is not None
    stats = send_due(db, conf, lambda: NOW)
    assert (stats.sent, stats.failed) == (1, 0)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert (request.method, request.path, request.headers["content-type"]) == ("POST", "/hook", "application/json")
    assert request.headers["webhook-id"] == body["id"] and body["id"].startswith("msg_")
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert (body["type"], body["timestamp"], body["data"]["customer"]) == (
        "occurrence.moved",
        "2027-01-04T12:00:00Z",
        "acme",
    )
    assert body["data"]["occurrence"] == {
        "id": FIRST,
        "uid": f"{FIRST}@maintcal.example.com",
        "product": "pe",
        "rule": "tue",
        "customer": "acme",
        "kind": "planned",
        "status": "moved",
        "start": "2027-02-09T06:00:00Z",
        "end": "2027-02-09T12:00:00Z",
        "timezone": "America/New_York",
        "local_start": "2027-02-09T01:00:00-05:00",
        "local_end": "2027-02-09T07:00:00-05:00",
        "sequence": 1,
        "notice_deadline": "2027-01-10T06:00:00Z",
        "imported": False,
    }
    verify_all(receiver, secret)
    rotated = endpoints.rotate_secret(db, "acme", 1)
    assert rotated.secret is not None and rotated.secret != secret
    assert [e.secret for e in endpoints.list_endpoints(db, "acme")] == [None]


def test_500_then_200_is_retried_with_the_same_webhook_id(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = conf_for(db_url, tmp_path)
    secret = queue_move(db, conf, "webhook", receiver.url)
    assert secret is not None
    receiver.replies = [(500, {}, 0.0), (503, {}, 0.0)]
    clock = Clock(NOW)
    report = send_all(db, conf, clock, sleep=clock.sleep)
    assert (report.stats.sent, report.stats.retried) == (1, 2)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len(receiver.requests) == 3
    assert [(r["status"], r["attempts"], r["code"]) for r in rows(db)] == [("sent", 3, 200)]
    verify_all(receiver, secret)
    with db.transaction() as session:
        outcomes = list(session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)))
    assert outcomes == ["retry", "retry", "sent"]


def test_429_waits_for_retry_after_and_410_fails_for_good(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = conf_for(db_url, tmp_path, retry_base_seconds=60)
    queue_move(db, conf, "webhook", receiver.url)
    receiver.replies = [(429, {"Retry-After": "600"}, 0.0), (410, {}, 0.0)]
    send_due(db, conf, lambda: NOW)
    assert [(r["status"], r["code"], r["next"]) for r in rows(db)] == [("queued", 429, NOW + timedelta(seconds=600))]
    assert send_due(db, conf, lambda: NOW + timedelta(seconds=599)).handled == 0
    send_due(db, conf, lambda: NOW + timedelta(seconds=600))
    assert [(r["status"], r["attempts"], r["code"]) for r in rows(db)] == [("failed", 2, 410)]
    status = notices_status(db, NOW + timedelta(seconds=600), conf)
    assert [(f.kind, f.email, f.last_error) for f in status.failed] == [
        ("update", f"webhook endpoint 1 (http://127.0.0.1:{receiver.port}/...)", "410 HTTP 410 X")
    ]


def test_a_receiver_down_is_retried_and_a_slow_one_is_uncertain(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = conf_for(db_url, tmp_path, webhook_timeout=0.3)
    down = f"http://127.0.0.1:{free_port()}/hook"
    queue_move(db, conf, "webhook", down)
    stats = send_due(db, conf, lambda: NOW)
    assert (stats.retried, stats.uncertain) == (1, 0)
    [row] = rows(db)
    assert (row["status"], row["attempts"], row["uncertain"]) == ("queued", 1, False)

    endpoints.add_endpoint(db, NOW, conf, "acme", "webhook", receiver.url)
    endpoints.remove_endpoint(db, NOW, "acme", 1)
    change_occurrence(db, NOW, conf, FIRST, action="cancel", reason="not needed")
    receiver.replies = [(200, {}, 1.0)]  # slower than the 0.3 s timeout
    later = NOW + timedelta(hours=2)
    send_due(db, conf, lambda: later)
    cancelled = rows(db)[-1]
    assert (cancelled["status"], cancelled["uncertain"]) == ("queued", True)
    send_due(db, conf, lambda: later + timedelta(hours=2))
    assert rows(db)[-1]["status"] == "sent"
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_slack_and_teams_get_their_own_formats_unsigned(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = conf_for(db_url, tmp_path)
    build(db, contacts=())
    assert endpoints.add_endpoint(db, NOW, conf, "acme", "slack", receiver.url).secret is None
    endpoints.add_endpoint(db, NOW, conf, "acme", "teams", receiver.url, ["occurrence.cancelled"])
    change_occurrence(db, NOW, conf, FIRST, action="cancel", reason="<!channel> not needed")
    send_due(db, conf, lambda: NOW)
    bodies = [json.loads(r.body) for r in receiver.requests]  # sent concurrently: in any order
    [slack] = [b for b in bodies if "blocks" in b]
    [teams] = [b for b in bodies if "attachments" in b]
    assert slack["text"] == "Maintenance cancelled: Premier Edition for Acme Corp"
    assert slack["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": slack["text"]}}
    fields = [f["text"] for f in slack["blocks"][1]["fields"]]
    assert fields[0] == "*Product*\nPremier Edition" and fields[-1] == "*Note*\n&lt;!channel&gt; not needed"
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    facts = {f["title"]: f["value"] for f in card["content"]["body"][1]["facts"]}
    assert facts["Occurrence"] == f"{FIRST} (sequence 1)" and facts["Status"] == "cancelled"
    assert all("webhook-signature" not in r.headers for r in receiver.requests)


def test_internal_targets_are_refused_unless_allowed(db: Database, db_url: str, tmp_path: Path) -> None:
    build(db, contacts=())
    strict = settings_for(db_url, tmp_path)
    for url in ("http://127.0.0.1:9/hook", "https://127.0.0.1/hook", "https://10.1.2.3/x", "https://[::1]/x"):
        with pytest.raises(InvalidInput):
            endpoints.add_endpoint(db, NOW, strict, "acme", "webhook", url)
    with pytest.raises(InvalidInput, match="unknown event"):
        endpoints.add_endpoint(db, NOW, strict, "acme", "webhook", "https://93.184.216.34/x", ["occurrence.nope"])
    # Added while allowed, sent while not: the worker checks again and fails it for good.
    endpoints.add_endpoint(db, NOW, conf_for(db_url, tmp_path), "acme", "webhook", "http://127.0.0.1:9/hook")
    change_occurrence(db, NOW, strict, FIRST, action="cancel", reason="x")
    assert send_due(db, strict, lambda: NOW).failed == 1
    with db.transaction() as session:
        [error] = session.scalars(select(Delivery.last_error))
    assert error == "not sent: webhook URLs must use https"


def test_an_endpoint_only_customer_is_announced_each_occurrence_once(
    db: Database, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    conf = conf_for(db_url, tmp_path)
    build(db, contacts=())
    endpoints.add_endpoint(db, NOW, conf, "acme", "webhook", receiver.url)
    plan_notices(db, NOW, conf)
    plan_notices(db, NOW + timedelta(minutes=5), conf)  # nothing new: no notice, no delivery
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 1
    send_due(db, conf, lambda: NOW + timedelta(minutes=5))
    assert [json.loads(r.body)["data"]["occurrence"]["id"] for r in receiver.requests] == [FIRST]
    assert json.loads(receiver.requests[0].body)["type"] == "occurrence.announced"
