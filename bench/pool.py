"""Pool benchmark: a 200-test pytest suite on a migration history (random order, the
same server), each test touching its database once, run with ``toolkit_db`` from the pool,
``toolkit_db`` without it (--toolkit-no-pool), and SQLAlchemy's "join an external transaction
and roll back" recipe on one database at head. Per contender: the fixture's set-up + tear-down
per test (p50, p95, from pytest's own phase durations) and the suite's wall time, serial and
with ``-n 2``.

    python -m bench.pool [--engines postgresql,mysql,sqlite] [--tests 200] [--body-ms 0]
        [--handover 50] [--histories shop,mlflow]

The histories (bench.histories): the example shop's 32 revisions, and MLflow 3.2.0's 33 (a
real-world history; needs MLflow installed, see bench/histories.py).

On PostgreSQL pytest-postgresql 6+ runs the same suite too (`pip install -e '.[bench]'`): its
noproc fixture on the same server, its template built by the same Alembic history, a database
per test cloned from it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import histories
from bench.clone import pct, server

CONFTEST = '''
import json, os, random
import pytest
import sqlalchemy as sa

PHASES = {}

def pytest_collection_modifyitems(items):
    random.Random(7).shuffle(items)  # random order, the same for every contender

def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        PHASES[report.nodeid] = PHASES.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(PHASES, f)

@pytest.fixture(scope="session")
def head_engine(toolkit_settings, toolkit_template):
    """One database at head for the whole session (what the rollback recipe needs)."""
    from toolkit.core import create_clone
    from toolkit.engines import get_engine
    db = create_clone(toolkit_settings, toolkit_template)
    yield db.engine
    db.dispose()
    get_engine(toolkit_settings).drop(db.name)

@pytest.fixture
def rollback_db(head_engine):
    """SQLAlchemy's recipe: the test's work joins an outer transaction, rolled back after."""
    conn = head_engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()

if os.environ["BENCH_FIXTURE"] == "pytest-postgresql":
    import subprocess, sys
    from pytest_postgresql import factories
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import StaticPool

    def migrate(host, port, user, dbname, password, **_):
        """pytest-postgresql's template, built by the same Alembic history."""
        url = make_url(os.environ["TOOLKIT_DATABASE_URL"]).set(database=dbname)
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], check=True,
                       env={**os.environ, "DATABASE_URL": url.render_as_string(False)})

    _server = make_url(os.environ["TOOLKIT_DATABASE_URL"])
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    postgresql_noproc = factories.postgresql_noproc(
        host=_server.host, port=_server.port, user=_server.username,
        password=_server.password or "", dbname=f"bench_pp_{_worker}", load=[migrate])
    postgresql = factories.postgresql("postgresql_noproc")

    @pytest.fixture
    def pp_db(postgresql):
        engine = sa.create_engine("postgresql+psycopg://", creator=lambda: postgresql,
                                  poolclass=StaticPool)
        with engine.connect() as conn:
            yield conn
        engine.dispose()

@pytest.fixture
def db(request):
    if os.environ["BENCH_FIXTURE"] == "rollback":
        yield request.getfixturevalue("rollback_db")
    elif os.environ["BENCH_FIXTURE"] == "pytest-postgresql":
        yield request.getfixturevalue("pp_db")
    else:
        toolkit_db = request.getfixturevalue("toolkit_db")
        with toolkit_db.engine.connect() as conn:
            yield conn
'''

TESTS = '''
import time
import pytest
import sqlalchemy as sa

@pytest.mark.parametrize("i", range({n}))
def test_touch(db, i):
    assert db.execute(sa.text("SELECT 1")).scalar() == 1
    time.sleep({body_s})  # the rest of the test's work (not a wait on anything)
'''

CONTENDERS = {"toolkit_db (pool)": ("toolkit", []), "toolkit_db (no pool)":
              ("toolkit", ["--toolkit-no-pool"]), "rollback recipe": ("rollback", []),
              "pytest-postgresql": ("pytest-postgresql", [])}


def project(tmp: Path, tests: int, body_ms: float, history: str = "shop") -> Path:
    shop = histories.project(history, tmp)
    (shop / "bench_tests").mkdir()
    (shop / "bench_tests" / "conftest.py").write_text(CONFTEST)
    (shop / "bench_tests" / "test_touch.py").write_text(TESTS.format(n=tests,
                                                                     body_s=body_ms / 1000))
    return shop


def run(shop: Path, url: str, fixture: str, extra: list[str], workers: int
        ) -> tuple[float, list[float]]:
    out = shop / "phases.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env.update(TOOLKIT_DATABASE_URL=url, BENCH_FIXTURE=fixture, BENCH_OUT=str(out))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "bench_tests",
            *extra, *(["-n", str(workers), "-p", "xdist"] if workers > 1 else [])]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=shop, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{fixture} {extra} failed:\n{done.stdout[-2000:]}")
    return wall, sorted(json.loads(out.read_text()).values())


def handover(shop: Path, url: str, reps: int) -> tuple[list[float], list[float]]:
    """Seconds from asking for a clone to its first query answered: from this process's pool
    (a warm engine handed over) and from a pool another process would keep for all workers,
    which can only hand over a name (the worker builds its engine and connects)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from toolkit import create_clone, ensure_template
    from toolkit.engines import get_engine
    from toolkit.pool import pool
    from toolkit.settings import Settings

    settings = Settings.load(project_dir=shop, environ={}, database_url=url)
    template = ensure_template(settings)
    warm, by_name = [], []
    with pool(settings, template, size=2) as ready:
        for _ in range(reps):
            deadline = time.monotonic() + 30  # both ways time a clone that is ready
            while len(ready.ready) < ready.size and time.monotonic() < deadline:
                time.sleep(0.001)
            started = time.perf_counter()
            db = ready.take()
            with db.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            warm.append(time.perf_counter() - started)
            ready.release(db)
    for _ in range(reps):
        db = create_clone(settings, template)  # made ahead, as a shared pool would
        started = time.perf_counter()
        engine = sa.create_engine(db.url, poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        by_name.append(time.perf_counter() - started)
        engine.dispose()
        get_engine(settings).drop(db.name)
    return sorted(warm), sorted(by_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="postgresql,mysql,sqlite")
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--handover", type=int, default=0, metavar="N",
                        help="also time N hand-overs: per-worker pool vs a shared pool")
    parser.add_argument("--body-ms", type=float, default=0.0,
                        help="what each test does besides its query, in ms (default: nothing)")
    parser.add_argument("--histories", default="shop",
                        help="shop (32 revisions), mlflow (MLflow 3.2.0's 33): bench.histories")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    table = Table(title=f"toolkit_db with and without the pool vs the rollback recipe: "
                        f"{args.tests} tests ({args.body_ms:g} ms body), "
                        f"{os.cpu_count()} cores, load {load:.1f} at start")
    for column in ("history", "engine", "workers", "contender", "set-up + tear-down p50",
                   "p95", "÷ rollback p50", "suite wall", "÷ rollback wall", "targets"):
        table.add_column(column, justify="right")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        projects = {h: project(tmp, args.tests, args.body_ms, h)
                    for h in args.histories.split(",")}
        servers = {engine: stack.enter_context(server(engine, tmp))
                   for engine in (args.engines.split(",") if args.tests else [])}
        for (history, shop), (engine, url) in itertools.product(projects.items(),
                                                                 servers.items()):
            label = f"{history} ({histories.revisions(shop)} revisions)"
            run(shop, url, "toolkit", ["--toolkit-no-pool"], 1)  # build the template once
            for workers in (1, 2):
                results = {name: run(shop, url, fixture, extra, workers)
                           for name, (fixture, extra) in CONTENDERS.items()
                           if fixture != "pytest-postgresql" or engine == "postgresql"}
                base_p50 = statistics.median(results["rollback recipe"][1])
                base_wall = results["rollback recipe"][0]
                for name, (wall, phases) in results.items():
                    p50, p95 = statistics.median(phases), pct(phases, 95)
                    target = ""
                    if name == "toolkit_db (pool)" and engine == "sqlite":
                        target = f"p50 ≤ 1 ms {'✓' if p50 <= 0.001 else '✗'}"
                    elif name == "toolkit_db (pool)":
                        ok = p50 <= 4 * base_p50 and p95 <= 0.010 and wall <= 1.5 * base_wall
                        target = f"≤ 4×, p95 ≤ 10 ms, wall ≤ 1.5× {'✓' if ok else '✗'}"
                    table.add_row(label, engine, str(workers), name, f"{p50 * 1000:.2f} ms",
                                  f"{p95 * 1000:.2f} ms", f"{p50 / base_p50:.1f}×",
                                  f"{wall:.2f} s", f"{wall / base_wall:.2f}×", target)
    if args.tests:
        Console(width=200).print(table)
    if args.handover:
        shared = Table(title=f"a clone's hand-over: this worker's pool against one pool shared "
                             f"by all workers ({args.handover} takes)")
        for column in ("engine", "hand-over", "p50", "p95"):
            shared.add_column(column, justify="right")
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            shop = project(tmp, 1, 0)
            for engine in args.engines.split(","):
                if engine == "sqlite":
                    continue  # a file: nothing to connect to
                url = stack.enter_context(server(engine, tmp))
                warm, by_name = handover(shop, url, args.handover)
                for what, times in (("per-worker pool: a warm engine", warm),
                                    ("shared pool: a name, then connect", by_name)):
                    shared.add_row(engine, what, f"{statistics.median(times) * 1000:.2f} ms",
                                   f"{pct(times, 95) * 1000:.2f} ms")
        Console(width=200).print(shared)


if __name__ == "__main__":
    main()
