"""Reference-runner benchmark: a generated corpus of small tests on SQLite and PostgreSQL,
toolkit's runner (a fresh database or schema per test, in parallel) against the naive loop of
the ClickHouse docs (the engine's CLI once per file, then diff; no per-test database).

    python -m bench.refs [--tests 500] [--engines sqlite,postgresql] [--rounds 3]

Each side runs --rounds times and the median time counts: single runs on a shared 2-core VM
vary by ±30%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toolkit.refs.command import references
from toolkit.servers import local
from toolkit.settings import Settings

TARGETS = {"sqlite": 5.0, "postgresql": 2.0}


def generate(root: Path, count: int) -> None:
    """Tests whose output is one column, so every CLI prints it exactly as the runner does."""
    for i in range(count):
        rows = ", ".join(f"({i + k}, 'v{k}')" for k in range(3))
        (root / f"{i:05d}_gen.sql").write_text(
            f"CREATE TEMP TABLE t{i} (a INTEGER, b TEXT);\n"
            f"INSERT INTO t{i} VALUES {rows};\n"
            f"SELECT a FROM t{i} ORDER BY a;\n"
            f"SELECT count(*) FROM t{i} WHERE b <> 'v1';\n")
        (root / f"{i:05d}_gen.reference").write_text(f"{i}\n{i + 1}\n{i + 2}\n2\n")


def naive_loop(root: Path, engine: str, url: str) -> tuple[float, int]:
    """for f in *.sql: CLI < f > out; diff out f.reference (as the ClickHouse docs suggest)."""
    if engine == "sqlite":
        cli = ["sqlite3", ":memory:"]
    else:
        cli = ["psql", "-X", "-q", "-A", "-t", url.replace("+psycopg", "")]
    start, passed = time.perf_counter(), 0
    out = root / "out.txt"
    for sql in sorted(root.glob("*.sql")):
        with sql.open() as stdin, out.open("w") as stdout:
            subprocess.run(cli, stdin=stdin, stdout=stdout, check=False)
        passed += subprocess.run(["diff", "-q", str(out), str(sql.with_suffix(".reference"))],
                                 capture_output=True).returncode == 0
    return time.perf_counter() - start, passed


def toolkit_run(root: Path, url: str) -> tuple[float, int]:
    settings = Settings.load(project_dir=root, environ={}, database_url=url)
    start = time.perf_counter()
    summary = references(settings, url=url, directory=root)
    return time.perf_counter() - start, summary.count("passed")


@contextmanager
def server(engine: str, tmp: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp}/refs.sqlite"
        return
    with local.running("postgres") as srv:
        yield srv.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    table = Table(title=f"reference runner: {args.tests} generated tests, "
                        f"{os.cpu_count()} cores (tests/s, median of {args.rounds} rounds)")
    for column in ("engine", "naive loop", "toolkit", "toolkit ÷ loop", "isolation (toolkit)",
                   "target"):
        table.add_column(column, justify="right")
    isolation = {"sqlite": "a new in-memory database", "postgresql": "a schema per test (scratch database)"}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        corpus = tmp / "queries"
        corpus.mkdir()
        generate(corpus, args.tests)
        for engine in args.engines.split(","):
            url = stack.enter_context(server(engine, tmp))
            loops = [naive_loop(corpus, engine, url) for _ in range(args.rounds)]
            ours = [toolkit_run(corpus, url) for _ in range(args.rounds)]
            assert {ok for _, ok in loops + ours} == {args.tests}
            loop_s = statistics.median(s for s, _ in loops)
            ours_s = statistics.median(s for s, _ in ours)
            loop_rate, ours_rate = args.tests / loop_s, args.tests / ours_s
            ratio = ours_rate / loop_rate
            table.add_row(engine, f"{loop_rate:.0f}", f"{ours_rate:.0f}", f"{ratio:.1f}×",
                          isolation[engine],
                          f"≥{TARGETS[engine]:g}× {'✓' if ratio >= TARGETS[engine] else '✗'}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
