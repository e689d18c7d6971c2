"""pytest plugin: a session template and a fresh clone per test (``toolkit_db``).

This module loads in every pytest run where toolkit is installed, so SQLAlchemy, Alembic and
the Docker SDK are imported inside the fixtures that need them."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from toolkit import durations, shards
from toolkit.errors import ToolkitError
from toolkit.settings import Settings

if TYPE_CHECKING:
    from toolkit.cluster import Cluster, Node
    from toolkit.core import Clone, Template
    from toolkit.pool import ClonePool
    from toolkit.report import Source

KEPT = "toolkit_kept_database"
TIMING = "toolkit_clone"
CLONE = pytest.StashKey[tuple["Clone", bool]]()
CLUSTERS = pytest.StashKey[list["Cluster"]]()
SEED = pytest.StashKey[int]()
DRAW = pytest.StashKey[tuple[int, tuple[tuple[str, str], ...]]]()
FAILED = pytest.StashKey[bool]()
RUN_DRAW = "toolkit_random_settings"
DEADLINE = pytest.StashKey[float | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("toolkit", "toolkit template databases")
    group.addoption("--toolkit-url", help="database server/file URL (TOOLKIT_DATABASE_URL)")
    group.addoption("--toolkit-alembic-ini", help="path of alembic.ini (TOOLKIT_ALEMBIC_INI)")
    group.addoption("--toolkit-keep-failed", dest="toolkit_keep", action="store_true",
                    default=None, help="keep a failed test's database (default)")
    group.addoption("--toolkit-no-keep", dest="toolkit_keep", action="store_false",
                    help="drop every test database, failed or not")
    group.addoption("--toolkit-no-pool", dest="toolkit_pool", action="store_false",
                    default=None, help="make each toolkit_db clone when its test asks, instead "
                                       "of taking a ready one from a pool (TOOLKIT_POOL=0)")
    group.addoption("--toolkit-timings", action="store_true",
                    help="per test: the wait for a clone and whether one was ready; the pool's "
                         "hit rate (also written to .toolkit/timings.json)")
    group.addoption("--toolkit-random-settings", action="store_true",
                    help="give each toolkit_db clone a random draw of result-neutral engine "
                         "settings (toolkit_no_random_settings marks a test out)")
    group.addoption("--toolkit-seed", type=int, metavar="S",
                    help="the seed of --toolkit-random-settings (default: a new one, shown "
                         "in the header)")
    group.addoption("--toolkit-order", choices=("file", "random"), default="file",
                    help="random: run the tests in an order shuffled with --toolkit-seed, which "
                         "exposes tests that depend on the ones before them")
    group.addoption("--toolkit-repeat", type=int, default=1, metavar="N",
                    help="run every test N times (ids [run1]…[runN]), each in a clone of its "
                         "own and with a draw of its own; a test whose runs disagree is "
                         "reported FLAKY")
    group.addoption("--toolkit-budget", type=float, metavar="SECONDS",
                    help="start no test after SECONDS from the start of the session: the "
                         "rest are skipped (a time budget for repeated runs)")
    group.addoption("--toolkit-server", metavar="PROVIDER:WHAT",
                    help="run a server for the session: docker:IMAGE or local:postgres|mariadb|"
                         "clickhouse (ClickHouse: the binary TOOLKIT_SERVER_BINARY names, also "
                         "mounted into a docker:IMAGE)")
    group.addoption("--toolkit-reuse", action="store_true",
                    help="keep the --toolkit-server container running for the next run "
                         "(one per image and kind; `toolkit server.gc` leaves it alone)")
    group.addoption("--toolkit-shard", metavar="K/N",
                    help="run only shard K of N of the collected tests")
    group.addoption("--toolkit-shard-strategy", choices=shards.STRATEGIES,
                    help="how to split: duration (stored durations, default) or hash")
    group.addoption("--toolkit-shard-plan", action="store_true",
                    help="print the shard's tests and predicted seconds; run nothing")
    group.addoption("--toolkit-plan-id", action="store_true",
                    help="print the split's plan id (TOOLKIT_SHARD_PLAN makes every shard check "
                         "that it runs that plan); run nothing")
    group.addoption("--toolkit-report", metavar="PATH.html",
                    help="write the run's HTML report there, and its results beside it "
                         "(PATH.json, which `toolkit report` merges with other runs')")


@pytest.fixture(scope="session")
def toolkit_server(pytestconfig: pytest.Config) -> Iterator[str | None]:
    """The URL of the server --toolkit-server asked for (None without it); removed after."""
    spec = pytestconfig.getoption("toolkit_server")
    if not spec:
        yield None
        return
    provider, _, what = spec.partition(":")
    from toolkit.docker import client as docker_client
    from toolkit.servers import docker as containers
    from toolkit.servers import local

    try:
        if provider == "local":
            with local.running(what) as server:
                yield server.url
        elif provider == "docker":
            client = docker_client()
            reuse = bool(pytestconfig.getoption("toolkit_reuse"))
            kind = containers.kind_of(client, what)
            binary = os.environ.get("TOOLKIT_SERVER_BINARY") if kind == "clickhouse" else None
            with containers.running(client, kind, what, reuse=reuse, binary=binary) as box:
                yield box.url
        else:
            raise ToolkitError(f"--toolkit-server takes docker:IMAGE or local:KIND, not {spec!r}")
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def toolkit_settings(pytestconfig: pytest.Config, toolkit_server: str | None) -> Settings:
    try:
        return Settings.load(
            project_dir=pytestconfig.rootpath,
            database_url=toolkit_server or pytestconfig.getoption("toolkit_url"),
            alembic_ini=pytestconfig.getoption("toolkit_alembic_ini"),
            keep_failed=pytestconfig.getoption("toolkit_keep"),
            pool=pytestconfig.getoption("toolkit_pool"),
        )
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def toolkit_template(toolkit_settings: Settings) -> Template:
    """The template at head, built once for all workers (they wait on one lock); the one a
    pipeline built when it passed TOOLKIT_TEMPLATE."""
    from toolkit.core import ensure_template, find_template

    try:
        if toolkit_settings.template:
            return find_template(toolkit_settings, toolkit_settings.template)
        return ensure_template(toolkit_settings)
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def toolkit_pool(toolkit_settings: Settings, toolkit_template: Template
                 ) -> Iterator[ClonePool | None]:
    """Ready clones of the template, made in the background (one pool per xdist worker);
    None when the pool setting is off."""
    if not toolkit_settings.pool:
        yield None
        return
    from toolkit.pool import default_size, pool

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    try:
        with pool(toolkit_settings, toolkit_template,
                  toolkit_settings.pool_size or default_size(workers)) as ready:
            yield ready
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


def _randomize(request: pytest.FixtureRequest, db: Clone) -> None:
    """--toolkit-random-settings: this test's draw, set on its clone (PostgreSQL: ALTER
    DATABASE, so every new connection has it) or on each connection of ``db.engine``."""
    config = request.config
    if not config.getoption("toolkit_random_settings") or \
            request.node.get_closest_marker("toolkit_no_random_settings"):
        return
    from toolkit import urls
    from toolkit.refs import random_settings

    kind = urls.kind(db.url)
    seed = config.stash[SEED]
    drawn = random_settings.draw(kind, seed, request.node.nodeid)
    request.node.stash[DRAW] = (seed, drawn)
    if kind == "postgresql":
        import psycopg
        from psycopg import sql

        from toolkit.engines.postgresql import connect_kwargs

        with psycopg.connect(**connect_kwargs(db.url, db.name)) as conn:  # type: ignore[arg-type]
            for name, value in drawn:
                conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(db.name), sql.Identifier(name), sql.Literal(value)))
        db.dispose()  # connections opened before the draw do not have it
        return
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for name, value in drawn:
            cursor.execute(random_settings.statement(kind, name, value))
        cursor.close()

    db.dispose()
    event.listen(db.engine, "connect", on_connect)


@pytest.fixture
def toolkit_db(request: pytest.FixtureRequest, toolkit_settings: Settings,
               toolkit_template: Template, toolkit_pool: ClonePool | None) -> Iterator[Clone]:
    """A fresh clone of the template for this test: ``.url``, ``.name``, ``.engine``."""
    from toolkit.core import clone

    def timed(**seconds: float | bool) -> None:  # into this phase's report (teardown's too)
        request.node.user_properties.append((TIMING, {
            k: round(v, 6) if isinstance(v, float) else v for k, v in seconds.items()}))

    started = time.perf_counter()
    if toolkit_pool is not None:
        try:
            db = toolkit_pool.take()
            _randomize(request, db)
        except ToolkitError as exc:
            pytest.fail(f"toolkit: {exc}", pytrace=False)
        taken = toolkit_pool.stats.takes[-1]
        timed(wait_s=taken.wait_s, handover_s=time.perf_counter() - started - taken.wait_s,
              hit=taken.hit, reused=taken.reused)
        request.node.stash[CLONE] = (db, toolkit_settings.keep_failed)
        try:
            yield db
        finally:
            released = time.perf_counter()
            toolkit_pool.release(db)  # dropped in the background, or kept when it failed
            timed(drop_s=time.perf_counter() - released)
        return
    try:
        with clone(toolkit_settings, toolkit_template) as db:
            timed(wait_s=time.perf_counter() - started, handover_s=0.0, hit=False,
                  pooled=False)
            _randomize(request, db)
            request.node.stash[CLONE] = (db, toolkit_settings.keep_failed)
            try:
                yield db
            finally:
                released = time.perf_counter()
        timed(drop_s=time.perf_counter() - released)
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.fixture
def toolkit_cluster(request: pytest.FixtureRequest) -> Iterator[Callable[..., Cluster]]:
    """Start clusters: ``toolkit_cluster(*nodes)`` returns a running ``toolkit.cluster.Cluster``.
    They are removed after the test; a failed test's report gets each node's log tail, and with
    --toolkit-keep-failed its clusters stay running (``toolkit server.gc`` removes them once
    this run has ended)."""
    from toolkit.cluster import Cluster
    from toolkit.docker import client

    made: list[Cluster] = []
    request.node.stash[CLUSTERS] = made

    def start(*nodes: Node, binary: str | None = None) -> Cluster:
        try:
            made.append(Cluster(client(), nodes, binary=binary))
        except ToolkitError as exc:
            pytest.fail(f"toolkit: {exc}", pytrace=False)
        return made[-1]

    yield start
    keep = request.node.stash.get(FAILED, False) and \
        request.config.getoption("toolkit_keep") is True
    for cluster in made:
        if not keep:
            cluster.close()
            continue
        reach = "; ".join(f"{n.name}: {n.url if n.port else 'no port'} (docker exec -it "
                          f"{n.container.name} sh)" for n in cluster.nodes.values())
        request.node.add_report_section(
            "teardown", "toolkit", f"kept cluster {cluster.id}: {reach}; remove it with "
            "`toolkit server.gc` once this run has ended")


def _cluster_logs(clusters: list[Cluster], lines: int = 30) -> str:
    parts = []
    for cluster in clusters:
        for node in cluster.nodes.values():
            try:
                tail = node.logs(tail=lines).rstrip()
            except Exception as exc:  # a removed container has no log to show
                tail = f"(no log: {exc})"
            parts.append(f"--- cluster {cluster.id}, node {node.name} ---\n{tail}")
    return "\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when == "call" and DRAW in item.stash:
        from toolkit.refs.random_settings import text

        seed, drawn = item.stash[DRAW]
        repeat = item.config.getoption("toolkit_repeat")
        again = f" --toolkit-repeat {repeat}" if repeat > 1 else ""
        report.sections.append(("toolkit random settings", (
            f"{text(drawn)}\nreproduce: python -m pytest '{item.nodeid}' "
            f"--toolkit-random-settings --toolkit-seed {seed}{again}")))
        report.user_properties.append((RUN_DRAW, text(drawn)))
    if report.failed:
        item.stash[FAILED] = True
        clusters = item.stash.get(CLUSTERS, [])
        if clusters and report.when == "call":
            report.sections.append(("toolkit cluster logs", _cluster_logs(clusters)))
    db, keep = item.stash.get(CLONE, (None, False))
    if db is not None and report.failed and report.when == "call":
        if keep:
            db.keep = True
            from toolkit.urls import mask

            where = mask(db.url)
            report.sections.append(("toolkit", f"kept database {db.name}: {where}"))
            report.user_properties.append((KEPT, db.name))
    return report


def _settings(config: pytest.Config) -> Settings:
    return Settings.load(project_dir=config.rootpath)


class _CollectErrors:
    """A shard plan runs without the terminal reporter, so it shows collection errors itself."""

    def __init__(self) -> None:
        self.reports: list[pytest.CollectReport] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.reports.append(report)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """The shard's tests, chosen from the whole collection: first, so that -k, -m, --deselect
    and --lf deselect within the shard and never change the split."""
    spec = config.getoption("toolkit_shard")
    if not spec:
        return
    recorder = config.pluginmanager.get_plugin("toolkit-durations")
    if isinstance(recorder, _Durations):
        recorder.collected = [i.nodeid for i in items]
    try:
        shard, total = shards.parse_spec(spec)
        settings = _settings(config)
        strategy = config.getoption("toolkit_shard_strategy") or settings.shard_strategy
        stored = durations.seconds(durations.path(settings.project_dir))
        ids = [i.nodeid for i in items]
        parts = shards.partition(ids, total, strategy, stored)
        chosen = parts[shard - 1]
        plan = shards.plan_id(ids, parts)
        if isinstance(recorder, _Durations):
            recorder.plan = plan
        if config.getoption("toolkit_plan_id"):
            print(f"{plan} {len(set(ids))}")  # the id, and how many tests it splits
            pytest.exit("plan id printed; nothing was run", returncode=0)
        # an xdist worker cannot refuse in one line: test.shard checks before pytest starts
        if settings.shard_plan and not hasattr(config, "workerinput"):
            shards.check_plan(settings.shard_plan, plan, len(set(ids)), shard, total)
    except ToolkitError as exc:
        raise pytest.UsageError(f"toolkit: {exc}") from exc
    keep = set(chosen)
    config.hook.pytest_deselected(items=[i for i in items if i.nodeid not in keep])
    items[:] = [i for i in items if i.nodeid in keep]
    if config.getoption("toolkit_shard_plan"):
        watcher = config.pluginmanager.get_plugin("toolkit-collect-errors")
        errors = watcher.reports if isinstance(watcher, _CollectErrors) else []
        for report in errors:
            print(f"ERROR collecting {report.nodeid}\n{report.longreprtext}")
        if errors:
            pytest.exit(f"{len(errors)} error(s) during collection: the plan is incomplete",
                        returncode=pytest.ExitCode.INTERRUPTED)
        cost = shards.estimate(chosen, stored)
        for nodeid in chosen:
            print(f"{nodeid}\t{cost[nodeid]:.2f}s")
        print(f"shard {shard}/{total} ({strategy}): {len(chosen)} tests, "
              f"predicted {sum(cost.values()):.1f}s")
        pytest.exit("plan printed; nothing was run", returncode=0)


class _Shuffle:
    """--toolkit-order random: after every selection (shards included), the same shuffle for
    the same seed on every xdist worker."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        import random

        random.Random(config.stash[SEED]).shuffle(items)


class _Durations:
    """Records every test's duration (setup + call + teardown) into .toolkit/durations.json,
    for the duration shard strategy and the pre-push budget."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.measured: dict[str, float] = {}
        self.collected: list[str] | None = None  # a shard's whole collection, for merges
        self.plan: str | None = None  # the split it ran (shards.plan_id)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # an xfail's call report counts as skipped, but it ran: its time is real
        if report.outcome != "skipped" or hasattr(report, "wasxfail"):
            self.measured[report.nodeid] = self.measured.get(report.nodeid, 0.0) + report.duration

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: the collection and plan a worker saw (the controller collects nothing)."""
        seen = getattr(node, "workeroutput", {})
        if self.collected is None and seen.get("toolkit_collected") is not None:
            self.collected = list(seen["toolkit_collected"])
        self.plan = self.plan or seen.get("toolkit_plan")

    def pytest_sessionfinish(self) -> None:
        if hasattr(self.config, "workerinput"):
            # under xdist the controller sees every report and records them once; it gets
            # what only a worker knows through its output
            self.config.workeroutput["toolkit_collected"] = self.collected  # type: ignore[attr-defined]
            self.config.workeroutput["toolkit_plan"] = self.plan  # type: ignore[attr-defined]
            return
        spec = self.config.getoption("toolkit_shard")
        root = self.config.rootpath
        try:
            target = (durations.shard_path(root, *shards.parse_spec(spec)) if spec
                      else durations.path(root))
            # which tests exist, so a merge can drop tests removed from files that still exist
            # (only from a whole collection: node ids on the command line make a partial one)
            whole = spec and not any("::" in arg for arg in self.config.args)
            durations.record(target, self.measured, self.collected if whole else None,
                             plan=self.plan)
        except (OSError, ToolkitError) as exc:
            self.config.issue_config_time_warning(
                pytest.PytestWarning(f"toolkit: durations not recorded: {exc}"), stacklevel=2)


class _Results:
    """--toolkit-report: each test's outcome, times, worker, failure and toolkit's sections,
    written at the end as a results file and its page (the controller's, under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.time()
        self.tests: dict[str, dict[str, Any]] = {}
        self.written: Path | None = None  # where the page went

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0,
                                                     "sections": {}, "pool": {}})
        test["duration"] += report.duration
        test["start"] = min(test.get("start", report.start), report.start)
        node = getattr(report, "node", None)  # xdist: the worker that ran it
        test["worker"] = node.gateway.id if node is not None else "main"
        for key, value in report.user_properties:
            if key == TIMING:
                test["pool"].update(value)
            elif key == RUN_DRAW:
                test["draw"] = value
        for name, text in report.sections:
            if "toolkit" in name:
                test["sections"][name] = text
        if hasattr(report, "wasxfail"):
            test["outcome"] = "xpassed" if report.passed else "xfailed"
        elif report.skipped and report.when != "teardown":
            test["outcome"] = "skipped"
            test["message"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) \
                else ""
        elif report.failed:
            if test["outcome"] not in ("failed", "error"):  # the first failure says why
                crash = getattr(report.longrepr, "reprcrash", None)
                text = crash.message if crash else report.longreprtext
                test["message"] = (text.strip().splitlines() or [""])[0]
                test["detail"] = report.longreprtext
            test["outcome"] = "failed" if report.when == "call" else "error"

    def source(self) -> Source:
        from toolkit import urls
        from toolkit.report import DETAIL_CHARS, Source, Test

        spec = self.config.getoption("toolkit_shard")
        label = f"shard {spec}" if spec else "pytest"
        try:
            from sqlalchemy.engine import make_url

            url = self.config.getoption("toolkit_url") or _settings(self.config).database_url
            engine = urls.kind(make_url(url))
        except Exception:  # a run without a database: the page says so
            engine = ""
        seed = self.config.stash[SEED]
        tests = []
        for nodeid, t in self.tests.items():
            sections = [(name, text) for name, text in t["sections"].items()
                        if name != "toolkit random settings"]
            again = t["sections"].get("toolkit random settings", "")
            reproduce = next((line.removeprefix("reproduce: ") for line in again.splitlines()
                              if line.startswith("reproduce: ")), "")
            if t["outcome"] in ("failed", "error") and not reproduce:
                reproduce = f"python -m pytest '{nodeid}'"
            tests.append(Test(nodeid, t["outcome"], round(t["duration"], 6), t.get("start"),
                              t["worker"], t.get("message", ""),
                              t.get("detail", "")[:DETAIL_CHARS], reproduce, t.get("draw", ""),
                              seed if t.get("draw") else None, sections, t["pool"] or None))
        return Source(label, "pytest", engine, seed, self.started, time.time(), tests)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from toolkit.report import write

        if session.exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # nothing ran: the error says why
        path = Path(self.config.getoption("toolkit_report"))
        if not path.is_absolute():
            path = Path(self.config.invocation_params.dir) / path
        try:
            self.written = write(self.source(), path)
        except (OSError, ToolkitError) as exc:
            self.config.issue_config_time_warning(
                pytest.PytestWarning(f"toolkit: report not written: {exc}"), stacklevel=2)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.written is not None:
            terminalreporter.write_line(f"toolkit: report written to {self.written}")


def _repeat_id(run: int) -> str:
    return f"run{run}"


_REPEAT_ID = re.compile(r"(\[run\d+\]|-run\d+(?=\]))$")


def _repeated(nodeid: str) -> str:
    """The test a repeated run's node id is a run of (its ``runN`` id part removed)."""
    return _REPEAT_ID.sub("", nodeid)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    repeat = metafunc.config.getoption("toolkit_repeat")
    if repeat > 1:  # as pytest-repeat does: one more parameter, whose id names the run
        metafunc.fixturenames.append("toolkit_run")
        metafunc.parametrize("toolkit_run", range(1, repeat + 1), indirect=True,
                             ids=_repeat_id)


@pytest.fixture
def toolkit_run(request: pytest.FixtureRequest) -> int:
    """Which run of the test this is under --toolkit-repeat (1…N)."""
    return int(getattr(request, "param", 1))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    deadline = item.config.stash.get(DEADLINE, None)
    if deadline is not None and time.time() > deadline:
        pytest.skip(f"toolkit: the budget of {item.config.getoption('toolkit_budget'):g}s "
                    "was spent before this test started")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "toolkit_no_random_settings: this test's clone gets no "
                                       "random settings under --toolkit-random-settings")
    # one seed for the whole run: xdist workers get the controller's (pytest_configure_node)
    worker = getattr(config, "workerinput", {})
    seed = config.getoption("toolkit_seed")
    config.stash[SEED] = worker.get("toolkit_seed", seed if seed is not None else
                                    secrets.randbelow(1_000_000))
    if config.getoption("toolkit_repeat") < 1:
        raise pytest.UsageError("toolkit: --toolkit-repeat must be 1 or more, got "
                                f"{config.getoption('toolkit_repeat')}")
    budget = config.getoption("toolkit_budget")
    if budget is not None and budget <= 0:
        raise pytest.UsageError(f"toolkit: --toolkit-budget must be more than 0, got {budget:g}")
    config.stash[DEADLINE] = worker.get(
        "toolkit_deadline", time.time() + budget if budget is not None else None)
    config.pluginmanager.register(_Durations(config), "toolkit-durations")
    if config.getoption("toolkit_report") and not hasattr(config, "workerinput"):
        from toolkit.report import ReportError, data_path

        try:
            data_path(Path(config.getoption("toolkit_report")))
        except ReportError as exc:
            raise pytest.UsageError(f"toolkit: {exc}") from exc
        config.pluginmanager.register(_Results(config), "toolkit-results")
    if config.getoption("toolkit_order") == "random":
        config.pluginmanager.register(_Shuffle(), "toolkit-shuffle")
    if config.getoption("toolkit_shard"):
        # --lf skips whole files at collection time, which would split a smaller suite and move
        # the failures to other shards: collect everything, and let --lf deselect afterwards
        lf = config.pluginmanager.get_plugin("lfplugin-collwrapper")
        if lf is not None:
            config.pluginmanager.unregister(lf)
    if config.getoption("toolkit_shard_plan") or config.getoption("toolkit_plan_id"):
        config.option.collectonly = True  # plan in this process: xdist starts no workers
        config.pluginmanager.register(_CollectErrors(), "toolkit-collect-errors")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker draws from the controller's seed."""
    node.workerinput["toolkit_seed"] = node.config.stash[SEED]
    node.workerinput["toolkit_deadline"] = node.config.stash[DEADLINE]  # the controller's clock


def pytest_report_header(config: pytest.Config) -> str | None:
    random = [what for what, on in (("random settings", config.getoption(
        "toolkit_random_settings")), ("random order", config.getoption("toolkit_order") ==
                                      "random")) if on]
    if random:
        return (f"toolkit: {' and '.join(random)}, seed {config.stash[SEED]} (--toolkit-seed "
                "to repeat)")
    return None


def _timings(terminalreporter: pytest.TerminalReporter) -> None:
    """--toolkit-timings: each test's wait for its clone, the hand-over (random settings
    included), what dropping it cost the test (nothing but a hand-back with a pool, whose thread
    drops it), and the pools' hit rate."""
    tests: dict[str, dict[str, Any]] = {}
    for reports in terminalreporter.stats.values():  # a passed teardown is filed under ""
        for report in reports:
            for key, value in getattr(report, "user_properties", []):
                if key == TIMING:  # each phase's report carries all so far: merge them
                    tests.setdefault(report.nodeid, {}).update(value)
    rows = [(nodeid, value) for nodeid, value in tests.items() if "wait_s" in value]
    if not rows:
        return
    terminalreporter.section("toolkit: clone timings")
    terminalreporter.write_line(f"  {'wait':>8}     {'hand-over':>9}    {'drop':>8}     pool")
    for nodeid, value in sorted(rows, key=lambda r: -float(r[1]["wait_s"])):
        ready = "ready" if value["hit"] else "waited" if value.get("pooled", True) else "made"
        terminalreporter.write_line(
            f"  {float(value['wait_s']) * 1000:8.2f} ms  {float(value['handover_s']) * 1000:8.2f}"
            f" ms  {float(value.get('drop_s', 0.0)) * 1000:8.2f} ms  {ready:6}  {nodeid}")
    hits = sum(bool(v["hit"]) for _, v in rows)
    reused = sum(bool(v.get("reused")) for _, v in rows)
    terminalreporter.write_line(f"  pool hit rate: {hits}/{len(rows)} "
                                f"({100 * hits / len(rows):.0f}%)")
    terminalreporter.write_line(f"  reused clones: {reused}/{len(rows)} "
                                f"({100 * reused / len(rows):.0f}%), reset and handed out again")
    path = terminalreporter.config.rootpath / ".toolkit" / "timings.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"tests": {n: v for n, v in rows},
                                    "hit_rate": hits / len(rows),
                                    "reuse_rate": reused / len(rows)}, indent=1) + "\n")
    except OSError as exc:
        terminalreporter.write_line(f"  (not written to {path}: {exc})")


def _flaky(terminalreporter: pytest.TerminalReporter) -> None:
    """--toolkit-repeat: the tests whose runs disagreed, with their failing runs' draws."""
    runs: dict[str, list[pytest.TestReport]] = {}
    for key in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(key, []):
            if isinstance(report, pytest.TestReport) and (
                    report.when == "call" or report.failed):
                runs.setdefault(_repeated(report.nodeid), []).append(report)
    flaky = {test: reports for test, reports in runs.items()
             if any(r.passed for r in reports) and any(r.failed for r in reports)}
    if not flaky:
        return
    terminalreporter.section("toolkit: FLAKY tests (their runs disagreed)")
    for test, reports in sorted(flaky.items()):
        failed = [r for r in reports if r.failed]
        total = len({r.nodeid for r in reports})
        terminalreporter.write_line(f"FLAKY {test}: failed {len({r.nodeid for r in failed})} "
                                    f"of {total} runs")
        for report in failed:
            draw = dict(report.user_properties).get(RUN_DRAW)
            crash = getattr(report.longrepr, "reprcrash", None)
            first = (crash.message if crash else report.longreprtext).strip().splitlines()
            terminalreporter.write_line(
                f"  {report.nodeid} ({report.when})"
                + (f" [random settings: {draw}]" if draw else "")
                + (f": {first[0]}" if first else ""))
    terminalreporter.write_line(
        f"seed {terminalreporter.config.stash[SEED]}: --toolkit-seed repeats these draws and "
        "this order")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if terminalreporter.config.getoption("toolkit_repeat") > 1:
        _flaky(terminalreporter)
    if terminalreporter.config.getoption("toolkit_timings"):
        _timings(terminalreporter)
    kept = [value for report in terminalreporter.stats.get("failed", [])
            for key, value in getattr(report, "user_properties", []) if key == KEPT]
    if kept:
        terminalreporter.section("toolkit: kept databases of failed tests")
        for name in kept:
            terminalreporter.write_line(f"  {name}    remove with: toolkit db.drop {name}")
        terminalreporter.write_line("or remove every leftover whose run has ended: toolkit db.gc")
