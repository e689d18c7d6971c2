"""Shard balance benchmark: max ÷ mean shard time (1.00 is perfect) for N = 2, 4, 8 under
count-based splitting (the seed's slicing of the sorted file list), `hash` and `duration`.

The repository's own integration suite is too small to say much, so this uses a recorded
synthetic suite (bench/synthetic-durations.json: 240 tests in 30 files, skewed durations).

    python -m bench.shards [--durations FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toolkit.shards import partition

SUITE = Path(__file__).parent / "synthetic-durations.json"


def by_file_count(tests: list[str], n: int) -> list[list[str]]:
    """The seed's split: the sorted test files cut into N runs of (nearly) equal count."""
    files = sorted({t.split("::")[0] for t in tests})
    shards: list[list[str]] = [[] for _ in range(n)]
    for index, file in enumerate(files):
        shards[index * n // len(files)] += [t for t in tests if t.startswith(f"{file}::")]
    return shards


def imbalance(shards: list[list[str]], durations: dict[str, float]) -> float:
    loads = [sum(durations[t] for t in shard) for shard in shards]
    return max(loads) / (sum(loads) / len(loads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--durations", type=Path, default=SUITE)
    args = parser.parse_args()
    durations = {k: float(v) for k, v in json.loads(args.durations.read_text()).items()}
    tests = sorted(durations)
    table = Table(title=f"shard imbalance, max ÷ mean shard time: {len(tests)} tests, "
                        f"{sum(durations.values()):.0f}s in all")
    for column in ("shards", "count (files)", "hash", "duration", "target (duration, N=4)"):
        table.add_column(column, justify="right")
    for n in (2, 4, 8):
        duration = imbalance(partition(tests, n, "duration", durations), durations)
        target = (f"≤1.10 {'✓' if duration <= 1.10 else '✗'}") if n == 4 else ""
        table.add_row(str(n), f"{imbalance(by_file_count(tests, n), durations):.2f}",
                      f"{imbalance(partition(tests, n, 'hash'), durations):.2f}",
                      f"{duration:.2f}", target)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
