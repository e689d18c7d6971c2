"""Start-up of the `toolkit` command, which hooks, nox sessions and CI call over and over:
`toolkit --help`, `toolkit db.status` on SQLite and a no-op `toolkit db.template` on the example
shop, against their targets and against a bare `python -c pass`.

    python -m bench.startup [--reps 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import timed

SHOP = Path(__file__).resolve().parent.parent / "examples" / "shop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")},
               "TOOLKIT_DATABASE_URL": f"sqlite:///{tmp}/toolkit.sqlite"}
        toolkit = [sys.executable, "-m", "toolkit"]
        subprocess.run([*toolkit, "db.template"], cwd=SHOP, env=env, check=True,
                       capture_output=True)
        rows = [("python -c pass", [sys.executable, "-c", "pass"], None),
                ("toolkit --help", [*toolkit, "--help"], 0.35),
                ("toolkit db.status (SQLite)", [*toolkit, "db.status"], 0.35),
                ("toolkit db.template (no-op)", [*toolkit, "db.template"], 0.6)]
        table = Table(title=f"start-up, {args.reps} runs each (seconds)")
        for column in ("command", "p50", "max", "÷ python", "target"):
            table.add_column(column, justify="right")
        base = 0.0
        for label, command, target in rows:
            times = timed(command, SHOP, env, args.reps)
            p50 = statistics.median(times)
            base = base or p50
            verdict = "" if target is None else f"≤{target:g} s {'✓' if p50 <= target else '✗'}"
            table.add_row(label, f"{p50:.3f}", f"{max(times):.3f}", f"{p50 / base:.1f}×",
                          verdict)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
