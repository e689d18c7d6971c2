"""test.flaky benchmark: a change that adds 10 reference tests, each run 20 times with random
settings and in random order, on SQLite and PostgreSQL. toolkit test.flaky (one command,
the runs in parallel, each in its own database) against what it replaces: calling `toolkit
refs.run --random-settings --seed S -s NAME` 20 times for each changed test.

    python -m bench.flaky [--tests 10] [--runs 20] [--engines sqlite,postgresql] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import common
from bench.refs import generate, server


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *args], cwd=project,
                   check=True, capture_output=True)


def project(root: Path, tests: int, engine: str) -> Path:
    """A git project on main, with a branch that adds ``tests`` reference tests."""
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "change")
    queries = root / "tests" / "queries"
    queries.mkdir(parents=True)
    generate(queries, tests, engine)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "tests")
    return root


def timed(command: list[str], cwd: Path, url: str) -> float:
    """Seconds one run of ``command`` took, configured only with the database URL."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")},
           "TOOLKIT_DATABASE_URL": url}
    return common.timed(command, cwd, env, 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=1)  # the gap is 100x: one is enough
    args = parser.parse_args()
    toolkit = [sys.executable, "-m", "toolkit"]
    table = Table(title=f"test.flaky: {args.tests} changed reference tests x {args.runs} runs, "
                        f"{os.cpu_count()} cores, median of {args.rounds} rounds")
    for column in ("engine", "one refs.run per run and test", "toolkit test.flaky",
                   "per run", "speed-up"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory(prefix="bench-flaky-") as name:
        tmp = Path(name)
        for engine in args.engines.split(","):
            root = project(tmp / engine, args.tests, engine)
            names = [p.stem for p in sorted((root / "tests" / "queries").glob("*.sql"))]
            with server(engine, tmp) as url:
                loops, flakies = [], []
                for _ in range(args.rounds):  # interleaved: both see the same machine load
                    start = time.perf_counter()
                    for test in names:
                        for run in range(args.runs):
                            timed([*toolkit, "refs.run", "--random-settings", "--seed",
                                   str(run), "-s", test], root, url)
                    loops.append(time.perf_counter() - start)
                    flakies.append(timed([*toolkit, "test.flaky", f"--runs={args.runs}",
                                          "--budget=3600"], root, url))
            loop, flaky = statistics.median(loops), statistics.median(flakies)
            runs = args.tests * args.runs
            table.add_row(engine, f"{loop:.1f} s", f"{flaky:.2f} s",
                          f"{flaky / runs * 1000:.1f} ms", f"{loop / flaky:.0f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
