"""Headless Debian Chromium driven by Selenium: one set of flags for the browser tests and for
``docs/portal_screenshots.py``.

The browser starts with a fresh profile, no sandbox (CI runs as root) and no background traffic
(nothing may be fetched from outside). A missing ``chromium`` or ``chromedriver`` fails: nothing skips.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def headless_chromium(profile: Path, *extra_flags: str) -> webdriver.Chrome:
    """A new headless Chromium with its profile in ``profile`` and ``extra_flags`` after the common ones."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}", *extra_flags):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)
