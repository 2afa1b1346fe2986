"""Secrets stay out of what the operator sees: the real ``maintcal serve`` log, ``db upgrade``, errors.

The server runs as a subprocess on a free port (one process, and two worker processes built by
``create_app_from_env``), over SQLite and PostgreSQL; its whole output is read after it stopped.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cli import maintcal
from scheduler.catalogue import edits as catalogue
from scheduler.catalogue.apikeys import issue_api_key
from scheduler.feeds.tokens import issue_feed_token
from scheduler.store.db import Database
from tests.conftest import NOW
from tests.smtp_server import free_port

MAINTCAL = str(Path(sys.executable).parent / "maintcal")
ACCESS = re.compile(r'"(GET|HEAD) (\S+) HTTP/1\.1" (\d{3})')


def with_password(db_url: str, password: str) -> str:
    """The test PostgreSQL trusts every login, so a password in the URL is accepted (and must be hidden)."""
    return db_url.replace("://postgres@", f"://postgres:{password}@", 1)


def serve(db_url: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "MAINTCAL_DATABASE_URL": db_url}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MAINTCAL, "serve", "--port", str(port), "--workers", str(workers)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):  # readiness, not a timed assertion: up to a minute on a busy machine
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the server did not start: {log.read_text()}")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_access_log_never_shows_a_feed_token(db: Database, db_url: str, tmp_path: Path, workers: int) -> None:
    catalogue.add_customer(db, NOW, "acme", "Acme", "Europe/London", [])
    rotated = issue_feed_token(db, NOW, "acme")
    token = issue_feed_token(db, NOW, "acme", rotate=True)
    api_key = issue_api_key(db, NOW, "acme")
    url = with_password(db_url, "s3cret-db-pw")
    log = tmp_path / "serve.log"
    process, base = serve(url, workers, log)
    try:
        with httpx.Client(base_url=base) as client:
            statuses = [
                client.get(f"/feeds/{token}.ics").status_code,
                client.get(f"/feeds/{token}.ics?refresh=1").status_code,
                client.head(f"/feeds/{token}.ics").status_code,
                client.get(f"/feeds/{rotated}.ics").status_code,
                client.get("/feeds/made-up-token.ics").status_code,
                client.get(f"/feeds/{token}").status_code,
                client.get(f"/FEEDS/{token}.ics").status_code,
                client.get("/api/v1/occurrences", headers={"Authorization": f"Bearer {api_key}"}).status_code,
                client.get("/products/nothing.ics").status_code,
            ]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert statuses == [200, 200, 200, 404, 404, 404, 404, 200, 404]
    output = log.read_text()
    for secret in (token, rotated, "made-up-token", api_key, "s3cret-db-pw"):
        assert secret not in output
    assert [m.groups() for m in ACCESS.finditer(output) if m.group(2) != "/healthz"] == [
        ("GET", "/feeds/<redacted>.ics", "200"),
        ("GET", "/feeds/<redacted>.ics?refresh=1", "200"),
        ("HEAD", "/feeds/<redacted>.ics", "200"),
        ("GET", "/feeds/<redacted>.ics", "404"),
        ("GET", "/feeds/<redacted>.ics", "404"),
        ("GET", "/feeds/<redacted>", "404"),
        ("GET", "/FEEDS/<redacted>.ics", "404"),
        ("GET", "/api/v1/occurrences", "200"),
        ("GET", "/products/nothing.ics", "404"),
    ]


def test_db_upgrade_masks_the_password(db_url: str) -> None:
    url = with_password(db_url, "s3cret-db-pw")
    result = CliRunner().invoke(maintcal, ["--db", url, "db", "upgrade"])
    assert (result.exit_code, result.stderr) == (0, "")
    shown = url.replace(":s3cret-db-pw@", ":***@")
    assert result.stdout == f"database at latest schema: {shown}\n"
    assert ("***" in shown) == url.startswith("postgresql")


@pytest.mark.parametrize(
    ("url", "code", "line"),
    [
        (
            "postgresql://maintcal:s3cret@127.0.0.1:1/maintcal",
            1,
            'error: database: connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused",
        ),
        (
            "postgresql://maintcal:s3c@ret@127.0.0.1:1/maintcal",
            2,
            "error: the database URL holds an unencoded '@' in its user or password: write it as %40",
        ),
        (
            "postgresql://maintcal:s3cret@127.0.0.1:port/maintcal",
            2,
            "error: the database URL has an invalid port: postgresql://USER@HOST:5432/DB",
        ),
        (
            "postgresql:maintcal:s3cret@127.0.0.1/maintcal",
            2,
            "error: the database URL cannot be parsed: use sqlite:///FILE or postgresql://USER@HOST/DB",
        ),
    ],
)
def test_database_errors_never_show_the_password(url: str, code: int, line: str) -> None:
    result = CliRunner().invoke(maintcal, ["--db", url, "db", "upgrade"])
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", line + "\n")
