"""Mozilla's ical.js as a test oracle for feeds, next to icalendar and ical (allenporter).

ical.js is installed with npm into ``tests/.node`` (git-ignored) the first time a session needs
it, pinned to one version. One Node.js process parses every feed of the session: feeds go in as
JSON lines on its stdin, answers come back as JSON lines (``tests/icaljs_parse.mjs``). Node.js and
npm are required: without them the tests fail with a message saying what to install, never skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ICALJS_VERSION = "2.2.1"
NODE_DIR = Path(__file__).parent / ".node"
SCRIPT = Path(__file__).parent / "icaljs_parse.mjs"
MODULE = NODE_DIR / "node_modules" / "ical.js"


def _installed_version() -> str | None:
    try:
        return str(json.loads((MODULE / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_icaljs() -> tuple[str, Path]:
    """The node executable and ical.js's entry module, installing ical.js if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the ical.js feed tests need Node.js and npm: apt-get install nodejs npm (.ci/run installs them)")
    if _installed_version() != ICALJS_VERSION:
        NODE_DIR.mkdir(exist_ok=True)
        command = [npm, "install", "--prefix", str(NODE_DIR), f"ical.js@{ICALJS_VERSION}"]
        done = subprocess.run(
            [*command, "--no-audit", "--no-fund", "--loglevel=error"], capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0 or _installed_version() != ICALJS_VERSION:
            pytest.fail(f"'{' '.join(command)}' failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return node, MODULE / "dist" / "ical.js"


class IcalJs:
    """A running ``node icaljs_parse.mjs``: ``parse(feed)`` answers what ical.js read."""

    def __init__(self, node: str, module: Path) -> None:
        self.process = subprocess.Popen(
            [node, str(SCRIPT), str(module)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def parse(self, feed: bytes) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(feed.decode("utf-8")) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            pytest.fail(f"the ical.js process ended (exit code {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="session")
def icaljs() -> Iterator[IcalJs]:
    parser = IcalJs(*ensure_icaljs())
    try:
        yield parser
    finally:
        parser.close()
