"""What the test command's machine set-up costs when the machine already has everything: the
package and daemon checks alone, and `inv test` against plain `python -m pytest` on the same
quick selection (target: ≤ 2 s more). Run as root on a provisioned machine:

    python -m bench.provision [--reps 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import timed
from tasks import SUITE_NEEDS
from toolkit import provision

ROOT = Path(__file__).resolve().parent.parent
SELECTION = ["tests/test_settings.py", "-q", "-p", "no:cacheprovider"]
SUITE = [provision.NEEDS[n] for n in SUITE_NEEDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    # a daemon that answers for the whole benchmark, so every rep is the "already there" case
    with provision.docker_daemon() as host:
        checks = []
        for _ in range(args.reps):
            start = time.perf_counter()
            assert provision.packages(SUITE) == []
            with provision.docker_daemon(host):
                pass
            checks.append(time.perf_counter() - start)
        env_host = ["env", f"DOCKER_HOST={host}"]
        bare = timed([*env_host, sys.executable, "-m", "pytest", *SELECTION], ROOT, os.environ,
                     args.reps)
        inv = timed([*env_host, sys.executable, "-m", "invoke", "test", "--", *SELECTION], ROOT,
                    os.environ, args.reps)
    table = Table(title=f"test command set-up on a provisioned machine ({args.reps} reps)")
    for column in ("what", "p50", "max", "÷ python -m pytest", "target"):
        table.add_column(column, justify="right")
    base = statistics.median(bare)
    table.add_row("package + daemon checks", f"{statistics.median(checks) * 1000:.1f} ms",
                  f"{max(checks) * 1000:.1f} ms", "", "")
    table.add_row("python -m pytest (selection)", f"{base:.2f} s", f"{max(bare):.2f} s", "1.00×",
                  "")
    over = statistics.median(inv) - base
    table.add_row("inv test -- (same selection)", f"{statistics.median(inv):.2f} s",
                  f"{max(inv):.2f} s", f"{statistics.median(inv) / base:.2f}×",
                  f"+{over:.2f} s ≤ 2 s {'✓' if over <= 2 else '✗'}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
