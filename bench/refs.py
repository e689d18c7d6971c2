"""Reference-runner benchmark: a generated corpus of small tests on SQLite, PostgreSQL and a
ClickHouse server (the machine's, or TOOLKIT_SERVER_BINARY), toolkit's runner (a fresh
database or schema per test, in parallel) against the naive loop of the ClickHouse docs (the
engine's CLI once per file, then diff; no per-test database). Then the server under test: start
until ready (local and Docker) and the time from a kill -9 of the server to the run's last line.

    python -m bench.refs [--tests 500] [--engines sqlite,postgresql,clickhouse] [--rounds 3]
        [--reps 5] [--no-docker] [--random-only] [--pool-only]

and what --random-settings adds per test on SQLite and PostgreSQL; with --pool-only, a database
per test from the pool against a schema (PostgreSQL) or CREATE DATABASE (MariaDB) per test.

Each side runs --rounds times and the median time counts: single runs on a shared 2-core VM
vary by ±30%.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toolkit.refs.command import references
from toolkit.servers import local
from toolkit.servers.clickhouse import parse_url
from toolkit.settings import Settings

TARGETS = {"sqlite": 5.0, "postgresql": 2.0, "clickhouse": 3.0}
CLICKHOUSE_TESTS = 300


def generate(root: Path, count: int, engine: str, temporary: bool = True) -> None:
    """Tests whose output is one column, so every CLI prints it exactly as the runner does;
    their tables temporary (gone with the session), or left behind for the runner to clear."""
    if engine == "clickhouse":
        # INSERT … SELECT: an 18.16 client reads whatever follows INSERT … VALUES as its data
        for i in range(count):
            (root / f"{i:05d}_gen.sql").write_text(
                f"CREATE TABLE t{i} (a Int32, b String) ENGINE = Memory;\n"
                f"INSERT INTO t{i} SELECT number + {i}, concat('v', toString(number)) "
                "FROM numbers(3);\n"
                f"SELECT a FROM t{i} ORDER BY a;\n"
                f"SELECT count() FROM t{i} WHERE b != 'v1';\n"
                f"DROP TABLE t{i};\n")
            (root / f"{i:05d}_gen.reference").write_text(f"{i}\n{i + 1}\n{i + 2}\n2\n")
        return
    kind = ("TEMPORARY " if engine == "mysql" else "TEMP ") if temporary else ""
    for i in range(count):
        rows = ", ".join(f"({i + k}, 'v{k}')" for k in range(3))
        (root / f"{i:05d}_gen.sql").write_text(
            f"CREATE {kind}TABLE t{i} (a INTEGER, b TEXT);\n"
            f"INSERT INTO t{i} VALUES {rows};\n"
            f"SELECT a FROM t{i} ORDER BY a;\n"
            f"SELECT count(*) FROM t{i} WHERE b <> 'v1';\n")
        (root / f"{i:05d}_gen.reference").write_text(f"{i}\n{i + 1}\n{i + 2}\n2\n")


def naive_loop(root: Path, engine: str, url: str) -> tuple[float, int]:
    """for f in *.sql: CLI < f > out; diff out f.reference (as the ClickHouse docs suggest)."""
    if engine == "sqlite":
        cli = ["sqlite3", ":memory:"]
    elif engine == "clickhouse":
        cli = ["clickhouse-client", "--port", str(parse_url(url).tcp_port), "--multiquery"]
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


def toolkit_run(root: Path, url: str, **options: object) -> tuple[float, int]:
    settings = Settings.load(project_dir=root, environ={}, database_url=url)
    start = time.perf_counter()
    summary = references(settings, url=url, directory=root, **options)  # type: ignore[arg-type]
    return time.perf_counter() - start, summary.count("passed")


def compare(stack: ExitStack, tmp: Path, engine: str, count: int, rounds: int,
            first: dict[str, object], second: dict[str, object],
            temporary: bool = True) -> tuple[float, float]:
    """Median seconds of ``count`` generated tests run with ``first`` and with ``second``
    options, in interleaved rounds (both see the same machine load)."""
    corpus = Path(tempfile.mkdtemp(dir=tmp, prefix=f"{engine}-"))
    generate(corpus, count, engine, temporary)
    url = stack.enter_context(server(engine, tmp))
    runs: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for options, times in zip((first, second), runs, strict=True):
            seconds, passed = toolkit_run(corpus, url, **options)
            assert passed == count, (engine, options, passed)
            times.append(seconds)
    return statistics.median(runs[0]), statistics.median(runs[1])


RANDOM_TARGET_MS = {"sqlite": 1.0, "postgresql": 3.0}


def random_settings_overhead(tmp: Path, engines: list[str], count: int, rounds: int) -> Table:
    """Per test, what --random-settings adds (a draw, and the settings applied on the
    test's connection), from the median of interleaved rounds with and without it, one worker
    (so the time is the tests' own, not spread over cores)."""
    table = Table(title=f"--random-settings overhead: {count} generated tests, one worker, "
                        f"median of {rounds} rounds")
    for column in ("engine", "plain", "random settings", "overhead per test", "target"):
        table.add_column(column, justify="right")
    with ExitStack() as stack:
        for engine in engines:
            seconds = compare(stack, tmp, engine, count, rounds, {"jobs": 1},
                              {"jobs": 1, "random_settings": True, "seed": 1})
            per_test = [s / count * 1000 for s in seconds]
            overhead = per_test[1] - per_test[0]
            target = RANDOM_TARGET_MS.get(engine)
            table.add_row(engine, f"{per_test[0]:.2f} ms", f"{per_test[1]:.2f} ms",
                          f"{overhead:.2f} ms", f"≤ {target:g} ms "
                          f"{'✓' if overhead <= target else '✗'}" if target else "")
    return table


@contextmanager
def server(engine: str, tmp: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp}/refs.sqlite"
        return
    kind = {"clickhouse": "clickhouse", "mysql": "mariadb"}.get(engine, "postgres")
    with local.running(kind) as srv:
        yield srv.url


def start_to_ready(reps: int, docker: bool) -> list[tuple[str, list[float]]]:
    """Seconds from start to a server answering a query: local, and in a container."""
    rows: list[tuple[str, list[float]]] = [("local (the machine's clickhouse-server)", [])]
    for _ in range(reps):
        started = time.perf_counter()
        srv = local.start("clickhouse")
        rows[0][1].append(time.perf_counter() - started)
        srv.stop()
    if docker:
        from toolkit.docker import client
        from toolkit.image import build, debian_base
        from toolkit.servers import docker as containers

        engine = client()
        image = build(engine, Path(__file__).parent.parent / "images" / "clickhouse",
                      tag="toolkit/clickhouse", build_args={"BASE": debian_base(engine)})
        rows.append(("docker (images/clickhouse)", []))
        for _ in range(reps):
            started = time.perf_counter()
            box = containers.start(engine, "clickhouse", image.tags[-1])
            rows[1][1].append(time.perf_counter() - started)
            containers.stop(engine, box)
    return rows


def kill_to_last_line(tmp: Path, reps: int) -> list[float]:
    """A .sh test kill -9s the server mid-run: seconds until refs.run has printed its last line."""
    took = []
    for rep in range(reps):
        project = tmp / f"crash{rep}"
        queries = project / "tests" / "queries"
        queries.mkdir(parents=True)
        (project / "pyproject.toml").write_text("")
        generate(queries, 100, "clickhouse")
        up = subprocess.run([sys.executable, "-m", "toolkit", "server.up", "clickhouse"],
                            cwd=project, capture_output=True, text=True, check=True)
        state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
        crash = queries / "00010_crash.sh"
        crash.write_text(f"#!/bin/sh\ndate +%s.%N > {project}/at\nkill -9 {state['pid']}\n")
        crash.chmod(0o755)
        subprocess.run([sys.executable, "-m", "toolkit", "refs.run", "--url",
                        up.stdout.strip()], cwd=project, capture_output=True)
        took.append(time.time() - float((project / "at").read_text()))
        subprocess.run([sys.executable, "-m", "toolkit", "server.down"], cwd=project,
                       capture_output=True, check=True)
    return took


def pool_against_schemas(tmp: Path, engines: list[str], count: int, rounds: int) -> Table:
    """tests/s with a database per test from the workers' pools against what it replaces
    (PostgreSQL: a schema per test in a scratch database; MariaDB: CREATE DATABASE per test),
    interleaved rounds, every core."""
    table = Table(title=f"reference runner: a database per test from the pool, {count} "
                        f"generated tests, {os.cpu_count()} cores, median of {rounds} rounds")
    for column in ("engine", "without the pool", "with the pool", "pool ÷ without",
                   "target"):
        table.add_column(column, justify="right")
    replaced = {"postgresql": "a schema per test",
                "mysql": "CREATE DATABASE per test, marked"}
    with ExitStack() as stack:
        for engine in engines:
            for temporary in (True, False):
                seconds = compare(stack, tmp, engine, count, rounds, {"pool": False},
                                  {"pool": True}, temporary)
                rates = [count / s for s in seconds]
                ratio = rates[1] / rates[0]
                # MariaDB without migrations: the runner takes no pool (a blank database per
                # test is a CREATE DATABASE either way), so both columns run that path
                chosen = " (no pool: chosen)" if engine == "mysql" else ""
                table.add_row(f"{engine}, tables {'temporary' if temporary else 'left behind'}",
                              f"{rates[0]:.0f} tests/s ({replaced[engine]})",
                              f"{rates[1]:.0f} tests/s{chosen}", f"{ratio:.2f}×",
                              f"no slower {'✓' if ratio >= 0.95 else '✗'}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--engines", default="sqlite,postgresql,clickhouse")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5, help="server starts and crashes")
    parser.add_argument("--no-docker", action="store_true", help="no container start times")
    parser.add_argument("--random-only", action="store_true",
                        help="only the --random-settings overhead (SQLite, PostgreSQL)")
    parser.add_argument("--pool-only", action="store_true",
                        help="only the pool against a schema (PostgreSQL) or CREATE DATABASE "
                             "(MariaDB) per test")
    args = parser.parse_args()
    if args.pool_only:
        with tempfile.TemporaryDirectory() as tmp_:
            Console(width=140).print(pool_against_schemas(
                Path(tmp_), ["postgresql", "mysql"], args.tests, args.rounds))
        return
    if args.random_only:
        with tempfile.TemporaryDirectory() as tmp_:
            Console(width=140).print(random_settings_overhead(
                Path(tmp_), ["sqlite", "postgresql"], args.tests, args.rounds))
        return
    table = Table(title=f"reference runner: generated tests, {os.cpu_count()} cores "
                        f"(tests/s, median of {args.rounds} rounds)")
    for column in ("engine", "tests", "naive loop", "toolkit", "toolkit ÷ loop", "isolation (toolkit)",
                   "target"):
        table.add_column(column, justify="right")
    isolation = {"sqlite": "a new in-memory database",
                 "postgresql": "a database per test from the pool",
                 "clickhouse": "a database + HTTP session per test (18.16 server)"}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for engine in args.engines.split(","):
            count = CLICKHOUSE_TESTS if engine == "clickhouse" else args.tests
            corpus = tmp / f"queries-{engine}"
            corpus.mkdir()
            generate(corpus, count, engine)
            url = stack.enter_context(server(engine, tmp))
            loops = [naive_loop(corpus, engine, url) for _ in range(args.rounds)]
            ours = [toolkit_run(corpus, url) for _ in range(args.rounds)]
            assert {ok for _, ok in loops + ours} == {count}
            loop_s = statistics.median(s for s, _ in loops)
            ours_s = statistics.median(s for s, _ in ours)
            loop_rate, ours_rate = count / loop_s, count / ours_s
            ratio = ours_rate / loop_rate
            table.add_row(engine, str(count), f"{loop_rate:.0f}", f"{ours_rate:.0f}", f"{ratio:.1f}×",
                          isolation[engine],
                          f"≥{TARGETS[engine]:g}× {'✓' if ratio >= TARGETS[engine] else '✗'}")
    Console(width=140).print(table)
    if "clickhouse" not in args.engines:
        return
    timing = Table(title=f"the ClickHouse server under test ({args.reps} reps)")
    for column in ("what", "p50", "max", "target"):
        timing.add_column(column, justify="right")
    for what, seconds in start_to_ready(args.reps, not args.no_docker):
        timing.add_row(f"start → ready, {what}", f"{statistics.median(seconds):.2f} s",
                       f"{max(seconds):.2f} s", "")
    with tempfile.TemporaryDirectory() as tmp_:
        took = kill_to_last_line(Path(tmp_), args.reps)
    timing.add_row("kill -9 of the server → the run's last line",
                   f"{statistics.median(took):.2f} s", f"{max(took):.2f} s",
                   f"≤ 5 s {'✓' if max(took) <= 5 else '✗'}")
    Console(width=140).print(timing)
    with tempfile.TemporaryDirectory() as tmp_:
        Console(width=140).print(random_settings_overhead(
            Path(tmp_), ["sqlite", "postgresql"], args.tests, args.rounds))


if __name__ == "__main__":
    main()
