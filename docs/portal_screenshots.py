"""Screenshots of every portal page, desktop (1280 px) and phone (375 px), into docs/screenshots/.

    .venv/bin/python docs/portal_screenshots.py

Builds a throwaway SQLite database from examples/catalogue.toml, starts ``maintcal serve`` on a
free loopback port, signs in as thames-telecom's NOC with ``maintcal customer portal-link`` and
photographs each page in headless Debian Chromium (Selenium).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the browser setup is shared with tests/browser

from tests.browser.chromium import headless_chromium  # noqa: E402
from tests.smtp_server import free_port  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MAINTCAL = str(Path(sys.executable).with_name("maintcal"))
WIDTHS = {"desktop": 1280, "phone": 375}


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([MAINTCAL, *args], env=env, check=True, capture_output=True, text=True).stdout


def shoot(driver: webdriver.Chrome, url: str | None, name: str) -> None:
    """Photograph ``url`` (None: the page shown now) at each width."""
    if url is not None:
        driver.get(url)
    for label, width in WIDTHS.items():
        driver.set_window_size(width, 900)
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, min(height, 2400))
        path = OUT / f"{name}-{label}.png"
        driver.save_screenshot(str(path))
        print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.update(
            MAINTCAL_DATABASE_URL=f"sqlite:///{tmp}/maintcal.db",
            MAINTCAL_BASE_URL=url,
            MAINTCAL_PICKUP_DIR=f"{tmp}/outbox",
            MAINTCAL_SUPPORT_ADDRESS="support@vendor.example",
        )
        cli(env, "db", "upgrade")
        cli(env, "apply", str(ROOT / "examples" / "catalogue.toml"))
        cli(env, "blackout", "add", "thames-telecom", "--yearly", "12-22:12-27", "--label", "Christmas trading")
        cli(env, "blackout", "add", "thames-telecom", "--monthly", "last-2", "--label", "Month-end billing run")
        cli(env, "notices", "plan")
        cli(env, "notices", "send")
        server = subprocess.Popen(
            [MAINTCAL, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        driver = headless_chromium(Path(tmp) / "profile", "--hide-scrollbars")
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            shoot(driver, f"{url}/portal/sign-in", "sign-in")
            driver.get(
                cli(env, "customer", "portal-link", "thames-telecom", "--contact", "noc@thames.example.com").strip()
            )
            shoot(driver, f"{url}/portal/", "upcoming")
            month = datetime.now(UTC) + timedelta(days=40)
            shoot(driver, f"{url}/portal/month/{month:%Y-%m}", "month")
            first = driver.find_elements(By.CSS_SELECTOR, "a.chip")[0].get_attribute("href")
            assert first is not None
            shoot(driver, first, "window")
            shoot(driver, f"{url}/portal/subscribe", "subscribe")
            driver.set_window_size(1280, 900)
            driver.find_element(By.ID, "confirm").click()
            driver.find_element(By.CSS_SELECTOR, "form[action$='/subscribe/reset'] button").click()
            driver.find_element(By.ID, "feed-url")
            shoot(driver, None, "subscribe-new-address")
            shoot(driver, f"{url}/portal/requests", "requests")
            shoot(driver, f"{url}/portal/availability/{datetime.now(UTC):%Y-%m}", "availability")
            shoot(driver, f"{url}/portal/contacts", "contacts")
            shoot(driver, f"{url}/portal/blackouts", "blackouts")
        finally:
            driver.quit()
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
