"""``maintcal feed``, ``customer feed-url`` and ``serve``: in-process (CliRunner) and as processes."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from scheduler.feeds.content import horizon, product_feed
from scheduler.http.app import create_app
from scheduler.settings import Settings
from scheduler.store.db import Database
from scheduler.store.models import FeedToken
from tests.feed_helpers import NOW, AppClient, cli, load_dst_catalogue
from tests.smtp_server import free_port

ROOT = Path(__file__).resolve().parents[2]
MAINTCAL = [sys.executable, "-c", "import cli; cli.main()"]
BASE = {"MAINTCAL_BASE_URL": "https://cal.example.com/", "MAINTCAL_UID_DOMAIN": "maintcal.example.com"}


def test_feed_writes_the_bytes_the_server_serves(db: Database, db_url: str, tmp_path: Path) -> None:
    load_dst_catalogue(db)
    out = tmp_path / "brit.ics"
    with freeze_time(NOW):  # the CLI reads the clock once; the app is given the same instant below
        urls = cli(db_url, "customer", "feed-url", "brit", env=BASE)
        written = cli(db_url, "feed", "--customer", "brit", "-o", str(out), env=BASE)
        to_stdout = cli(db_url, "feed", "--product", "ny", env=BASE)
    assert urls.exit_code == 0, urls.output
    token = urls.stdout.split("/feeds/")[1].split(".ics")[0]
    assert (written.exit_code, written.stdout) == (0, "")
    assert written.stderr == f"wrote 244 event(s), {out.stat().st_size} bytes, to {out}\n"
    settings = Settings.from_env({**BASE, "MAINTCAL_DATABASE_URL": db_url})
    with AppClient(create_app(settings, database=db, clock=lambda: NOW)) as client:
        served = client.get(f"/feeds/{token}.ics")
        product = client.get("/products/ny.ics")
    assert served.status_code == 200
    assert out.read_bytes() == served.content
    assert re.fullmatch(r'"fp-[0-9a-f]{40}"', served.headers["etag"])  # from the data, not the bytes
    assert (to_stdout.exit_code, to_stdout.stdout_bytes) == (0, product.content)


def test_feed_over_a_range_as_a_separate_process(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    env = {**os.environ, **BASE, "MAINTCAL_DATABASE_URL": db_url}
    done = subprocess.run(
        [*MAINTCAL, "feed", "--product", "lord-howe", "--from", "2027-04-01", "--to", "2027-04-10"],
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        0,
        b"warning: product 'lord-howe' is not public: the server does not serve its feed\n",
    )
    settings = Settings.from_env(env)
    with db.transaction() as session:
        expected = product_feed(
            session, settings, "lord-howe", datetime(2027, 4, 1, tzinfo=UTC), datetime(2027, 4, 10, tzinfo=UTC)
        )
    assert done.stdout == expected.body
    assert expected.events == 1
    assert b"DTSTART:20270403T120000Z\r\nDTEND:20270403T154500Z\r\n" in done.stdout


def test_feed_url_prints_https_and_webcal_urls_and_stores_only_a_hash(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    first = cli(db_url, "customer", "feed-url", "koala", env=BASE)
    assert first.exit_code == 0, first.output
    match = re.fullmatch(
        r"https://cal\.example\.com/feeds/([A-Za-z0-9_-]{43})\.ics\nwebcal://cal\.example\.com/feeds/\1\.ics\n",
        first.stdout,
    )
    assert match, first.stdout
    token = match.group(1)
    assert first.stderr == "Keep this URL secret: anyone holding it can read the feed. It cannot be shown again.\n"
    with db.transaction() as session:
        rows = session.execute(select(FeedToken.token_hash, FeedToken.revoked_at)).all()
    assert [tuple(r) for r in rows] == [(hashlib.sha256(token.encode()).hexdigest(), None)]

    again = cli(db_url, "customer", "feed-url", "koala", env=BASE)
    assert again.exit_code == 2
    assert again.stderr.startswith("error: customer 'koala' already has a feed URL (issued ")
    assert again.stderr.count("\n") == 1 and again.stdout == ""

    rotated = cli(db_url, "customer", "feed-url", "koala", "--rotate", env=BASE)
    assert rotated.exit_code == 0
    new_token = rotated.stdout.split("/feeds/")[1].split(".ics")[0]
    assert new_token != token
    with db.transaction() as session:
        active = session.scalars(select(FeedToken.token_hash).where(FeedToken.revoked_at.is_(None))).all()
    assert active == [hashlib.sha256(new_token.encode()).hexdigest()]

    plain = cli(db_url, "customer", "feed-url", "brit", env={"MAINTCAL_BASE_URL": "http://localhost:8000"})
    assert plain.stdout.startswith("http://localhost:8000/feeds/")
    assert plain.stdout.splitlines()[1].startswith("webcal://localhost:8000/feeds/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feed"], "error: name exactly one of --customer KEY or --product KEY\n"),
        (
            ["feed", "--customer", "brit", "--product", "ny"],
            "error: name exactly one of --customer KEY or --product KEY\n",
        ),
        (
            ["feed", "--customer", "brit", "--from", "2027-01-01"],
            "error: give both --from and --to, or neither (the server's horizon)\n",
        ),
        (
            ["feed", "--customer", "brit", "--from", "2027-02-01", "--to", "2027-01-01"],
            "error: --to 2027-01-01 must be after --from 2027-02-01\n",
        ),
        (["feed", "--customer", "nobody"], "error: no customer 'nobody' (see 'maintcal customer list')\n"),
        (["customer", "feed-url", "nobody"], "error: no customer 'nobody' (see 'maintcal customer list')\n"),
        (["serve", "--port", "70000"], "error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535.\n"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(db: Database, db_url: str, args: list[str], message: str) -> None:
    load_dst_catalogue(db)
    result = cli(db_url, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_feed_for_an_unknown_product_names_the_known_ones(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    result = cli(db_url, "feed", "--product", "nope")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: no product 'nope' (known: everywhere, london, lord-howe, ny, sydney)\n",
    )


# -- maintcal serve as a process -----------------------------------------------------------------------


@pytest.fixture
def served(db: Database, db_url: str) -> Iterator[str]:
    """``maintcal serve`` on a free loopback port, over the example catalogue applied now."""
    env = {**os.environ, **BASE, "MAINTCAL_DATABASE_URL": db_url}
    applied = subprocess.run(
        [*MAINTCAL, "apply", "examples/catalogue.toml"], capture_output=True, env=env, cwd=ROOT, check=False
    )
    assert applied.returncode == 0, applied.stderr
    port = free_port()
    server = subprocess.Popen(
        [*MAINTCAL, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        assert server.stderr is not None
        server.stderr.close()


def test_serve_answers_over_http(served: str, db: Database, db_url: str) -> None:
    settings = Settings.from_env({**BASE, "MAINTCAL_DATABASE_URL": db_url})
    for _ in range(2):  # the horizon is today's: render again if the day changed in between
        day = datetime.now(UTC).date()
        response = httpx.get(f"{served}/products/premier-edition.ics")
        with db.transaction() as session:
            expected = product_feed(session, settings, "premier-edition", *horizon(datetime.now(UTC)))
        if datetime.now(UTC).date() == day:
            break
    assert response.status_code == 200
    assert response.content == expected.body
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    cached = httpx.get(f"{served}/products/premier-edition.ics", headers={"If-None-Match": response.headers["etag"]})
    assert (cached.status_code, cached.content) == (304, b"")
    head = httpx.head(f"{served}/products/premier-edition.ics")
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(expected.body)))
    missing = httpx.get(f"{served}/feeds/{'x' * 43}.ics")
    assert (missing.status_code, missing.content) == (404, b'{"error":"not found"}')
    assert httpx.get(f"{served}/openapi.json").json()["info"]["title"] == "maintcal"


def test_feed_url_refuses_a_relative_base_url_before_issuing_a_token(db: Database, db_url: str) -> None:
    load_dst_catalogue(db)
    result = cli(db_url, "customer", "feed-url", "koala", env={"MAINTCAL_BASE_URL": "cal.example.com"})
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "error: MAINTCAL_BASE_URL='cal.example.com' must be an absolute URL like https://cal.example.com\n",
    )
    with db.transaction() as session:
        assert session.scalars(select(FeedToken)).all() == []
