"""A real ``maintcal serve`` on a loopback port and a headless Debian Chromium driven by Selenium.

The server runs the installed ``maintcal`` command against the test's database (SQLite and
PostgreSQL, from the ``db_url`` fixture); mail goes to a pickup directory. Chromium starts with a
fresh profile and no background traffic. Nothing here skips: a missing browser fails the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser.chromium import headless_chromium
from tests.smtp_server import free_port

MAINTCAL = str(Path(sys.executable).with_name("maintcal"))


@dataclass
class Server:
    url: str
    db_url: str
    pickup: Path
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run ``maintcal`` against the server's database; its standard output."""
        done = subprocess.run(
            [MAINTCAL, "--db", self.db_url, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        MAINTCAL_BASE_URL=url,
        MAINTCAL_PICKUP_DIR=str(tmp_path / "outbox"),
        MAINTCAL_SUPPORT_ADDRESS="help@vendor.example",
        MAINTCAL_UID_DOMAIN="test.example",
    )
    env.pop("MAINTCAL_SMTP_URL", None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [MAINTCAL, "--db", db_url, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.1)
        yield Server(url, db_url, tmp_path / "outbox", env)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = headless_chromium(tmp_path / "chromium-profile", "--window-size=1280,900")
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
