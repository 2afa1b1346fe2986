"""Listing speed: ``maintcal occurrences`` over ten years, as text and as ``--json`` (issue 11).

Goal: the text listing no slower than 1.5x its ``--json``. The example catalogue
(examples/catalogue.toml) is applied to a throwaway SQLite database, then two listings over
[2027-01-01, 2037-01-01) are run as the commands a user types (a new process each time, output
read through a pipe): every product's occurrences, and one customer's (``--customer
thames-telecom``: its subscribed products in its local time, with its own changes). Text and JSON
alternate, after one untimed warm-up run of each; best and median wall time, median CPU time
(the command's own) and the text/JSON ratio are printed. Figures only, no assertions.

Run: ``python benchmarks/listing.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from alternating import Timed, alternate, load_average

ROOT = Path(__file__).resolve().parents[1]
MAINTCAL = str(Path(sys.executable).with_name("maintcal"))
RANGE = ["--from", "2027-01-01", "--to", "2037-01-01"]
LISTINGS: dict[str, list[str]] = {"every product": [], "customer thames-telecom": ["--customer", "thames-telecom"]}


def run(env: dict[str, str], *args: str) -> bytes:
    done = subprocess.run([MAINTCAL, *args], env=env, cwd=ROOT, capture_output=True, check=True)
    return done.stdout


def report(timed: Timed, reference: Timed | None) -> str:
    output: bytes = timed.result
    rows = output.count(b'"id": ') if output.startswith(b"[") else output.count(b"\n") - 1
    ratio = ""
    if reference is not None:
        ratio = f"  text/json {timed.median / reference.median:4.2f} (wall medians), "
        ratio += f"{timed.cpu_median / reference.cpu_median:4.2f} (CPU medians)"
    return (
        f"  {timed.name:<38} {rows:>6,} rows {len(output):>10,} bytes  wall best {timed.best:6.2f} s, "
        f"median {timed.median:6.2f} s, CPU median {timed.cpu_median:6.2f} s{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each listing (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maintcal-listing-") as scratch:
        env = {**os.environ, "MAINTCAL_DATABASE_URL": f"sqlite:///{scratch}/listing.db"}
        run(env, "db", "upgrade")
        run(env, "apply", "examples/catalogue.toml")
        print(
            f"maintcal occurrences {' '.join(RANGE)} (10 years), examples/catalogue.toml on SQLite; "
            f"one warm-up run each, then {args.rounds} rounds alternating text and --json; "
            f"load average {load_average()} (2 cores shared with other sessions)"
        )
        for name, extra in LISTINGS.items():
            text, json = alternate(
                [
                    (f"{name}, text", partial(run, env, "occurrences", *RANGE, *extra)),
                    (f"{name}, --json", partial(run, env, "occurrences", *RANGE, *extra, "--json")),
                ],
                args.rounds,
            )
            print(report(json, None))
            print(report(text, json))
    print(f"  goal: text no slower than 1.5x --json; load average after: {load_average()}")


if __name__ == "__main__":
    main()
