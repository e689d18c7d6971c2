"""Running reference tests: one fresh database each, in parallel worker processes that each
own one engine connection (or chDB session); timeouts enforced by the parent, which kills
the worker and cleans up after it."""

from __future__ import annotations

import collections
import dataclasses
import difflib
import multiprocessing
import os
import random
import secrets
import signal
import string
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Protocol

from toolkit.errors import ToolkitError
from toolkit.refs import random_settings
from toolkit.refs.discover import RefTest
from toolkit.refs.engines import BACKSLASH_ESCAPES, Backend, StatementFailed, engine_of, make_backend
from toolkit.refs.script import ScriptError, Step, parse, warm_up
from toolkit.settings import Settings
from toolkit.urls import mask

LONG_FACTOR = 5
# a .sh test's worker enforces its timeout itself (it must kill the script's whole process
# group); the parent steps in only if the worker does not answer this much later
SH_GRACE_S = 5.0
_ALPHABET = string.ascii_lowercase + string.digits


def database_name() -> str:
    return "test_" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


@dataclasses.dataclass(frozen=True)
class Job:
    test: RefTest
    database: str
    timeout: float
    keep_failed: bool
    settings: tuple[tuple[str, str], ...] = ()  # its random settings
    seed: int | None = None  # that reproduces them (--random-settings --seed)


@dataclasses.dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # passed | failed | skipped | not run (the server died before it ran)
    reason: str = ""  # one line: why it failed or was skipped
    detail: str = ""  # the diff, stderr, …
    duration: float = 0.0
    output: str | None = None  # normalised stdout, when the test ran to completion
    recordable: bool = False  # only a mismatch or a missing reference may be recorded
    settings: tuple[tuple[str, str], ...] = ()  # the random settings it ran with
    seed: int | None = None
    started: float | None = None  # epoch seconds, for the report's timeline
    worker: str = ""  # the worker process that ran it


@dataclasses.dataclass(frozen=True)
class Config:
    settings: Settings
    url: str
    template_url: str | None
    timeout: float
    jobs: int
    keep_failed: bool
    tmp_root: Path
    overrides: tuple[tuple[str, str], ...] = ()  # ClickHouse settings for every test
    client: list[str] | None = None  # a server under test's clickhouse-client
    pool: bool = False  # PostgreSQL, MariaDB: a database per test from each worker's pool


class ServerWatch(Protocol):
    """The server under test, as the run checks on it (toolkit.servers.watch.Watch)."""

    def exited(self) -> str | None: ...

    def down(self) -> str | None: ...

    def log_tail(self, lines: int = 30) -> str: ...

    def restart(self) -> None: ...


def backend_for(config: Config) -> Backend:
    return make_backend(config.settings, config.url, config.template_url, config.tmp_root,
                        config.overrides, config.client, config.pool)


def run_one(backend: Backend, job: Job, tmp_root: Path) -> Outcome:
    test = job.test
    try:
        steps = parse(test.path, backend.backslash_escapes) if test.kind == "sql" else []
    except ScriptError as exc:
        return Outcome(test.name, "failed", str(exc))
    if test.kind == "sh" and not os.access(test.path, os.X_OK):
        return Outcome(test.name, "failed", f"{test.path}:1: not executable "
                       f"(chmod +x {test.path})")
    database = backend.create(job.database)  # a pooled one has a name of its own
    failed = True
    try:
        if job.settings:
            backend.apply(job.settings)
        if test.kind == "sql":
            stdout, stderr, error = _run_sql(backend, steps, test.path)
        else:
            stdout, stderr, error = _run_sh(backend, job, database, tmp_root)
        escaped = backend.escaped(database)
        if escaped and not error:
            error = (f"{test.path}: made {escaped} outside its own schema (a test works in the "
                     "schema it is given; toolkit removed it)")
        outcome = _judge(test, _as_default(stdout, job.database, database),
                         _as_default(stderr, job.database, database), error)
        failed = outcome.status == "failed"
        if failed and job.keep_failed:
            outcome = dataclasses.replace(
                outcome, reason=f"{outcome.reason} (kept: {backend.keep(database)})")
        return outcome
    finally:
        if not (failed and job.keep_failed):
            backend.drop(database)


def _as_default(text: str, *names: str) -> str:
    """The test's database is called ``default`` in what it prints (names are random)."""
    for name in names:
        text = text.replace(name, "default")
    return text


def _run_sql(backend: Backend, steps: list[Step], path: Path) -> tuple[str, str, str]:
    out: list[str] = []
    for step in steps:
        if step.echo:
            out.append(f"{step.sql};\n")
        try:
            result = backend.execute(step.sql)
        except StatementFailed as exc:
            if step.expect is None:
                return "".join(out), "", f"{path}:{step.line}: unexpected error {exc.message}"
            wanted = {backend.normalize(c) for c in step.expect.codes}
            if not wanted & {backend.normalize(c) for c in exc.codes}:
                return "".join(out), "", (f"{path}:{step.line}: expected {step.expect.kind} "
                                          f"{', '.join(step.expect.codes)}, got {exc.message}")
            continue
        if step.expect is not None:
            return "".join(out), "", (f"{path}:{step.line}: expected {step.expect.kind} "
                                      f"{', '.join(step.expect.codes)}, but the statement succeeded")
        out.append(result)
    return "".join(out), "", ""


def _run_sh(backend: Backend, job: Job, database: str, tmp_root: Path
            ) -> tuple[str, str, str]:
    with tempfile.TemporaryDirectory(prefix=f"{job.database}-", dir=tmp_root) as name:
        tmp = Path(name)
        env = {**os.environ, **backend.client_env(database, tmp, job.settings),
               "TOOLKIT_DATABASE": database, "TOOLKIT_TMP": str(tmp)}
        # output into files, not pipes: a background child holding a pipe open would make us
        # wait for it instead of for the script
        with open(tmp / ".stdout", "w+b") as out, open(tmp / ".stderr", "w+b") as err:
            proc = subprocess.Popen([str(job.test.path.resolve())], cwd=job.test.path.parent,
                                    env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)  # its own process group
            try:
                code = proc.wait(timeout=job.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait()
                raise
            left = _kill_group(proc.pid)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "backslashreplace")
            stderr = err.read().decode("utf-8", "backslashreplace")
    if left:
        return stdout, stderr, (f"{job.test.path}: left a background process running (killed "
                                "it): wait for what a test starts, or stop it, before it ends")
    if code:
        last = stderr.strip().splitlines()[-1:] or ["no stderr"]
        return stdout, stderr, f"{job.test.path}: exit code {code}: {last[0]}"
    if stderr and "allow-stderr" not in job.test.tags:
        return stdout, stderr, ""
    return stdout, "", ""


def _kill_group(pgid: int) -> bool:
    """SIGKILL what is left of a test's process group; whether anything was."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def _judge(test: RefTest, stdout: str, stderr: str, error: str) -> Outcome:
    if error:
        return Outcome(test.name, "failed", error, stderr)
    if stderr:
        first = stderr.strip().splitlines()[0]
        return Outcome(test.name, "failed", f"{test.path}: unexpected stderr: {first}", stderr,
                       output=stdout)
    if not test.reference.is_file():
        return Outcome(test.name, "failed", f"{test.path}: no reference {test.reference.name} "
                       f"(record it: toolkit refs.record -s {test.name})", output=stdout,
                       recordable=True)
    # byte for byte: no newline translation (a CRLF reference is not an LF output)
    expected = test.reference.read_bytes().decode("utf-8", errors="replace")
    if expected == stdout:
        return Outcome(test.name, "passed", output=stdout)
    if "\r\n" in expected and expected.replace("\r\n", "\n") == stdout:
        return Outcome(test.name, "failed", f"{test.reference}: differs from the output only in "
                       "line endings: the reference has CRLF, the output LF (references are "
                       "compared byte for byte; record it again)", output=stdout,
                       recordable=True)
    diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                        stdout.splitlines(keepends=True),
                                        str(test.reference), "stdout"))
    return Outcome(test.name, "failed", f"{test.reference}: result differs from the reference",
                   diff, output=stdout, recordable=True)


def reproducible(config: Config, job: Job, outcome: Outcome) -> Outcome:
    """The run's random settings on its outcome; a failure says how to run it again."""
    outcome = dataclasses.replace(outcome, settings=job.settings, seed=job.seed)
    if job.seed is None or outcome.status != "failed":
        return outcome
    url = "" if config.url == config.settings.database_url else f" --url {mask(config.url)}"
    return dataclasses.replace(outcome, reason=(
        f"{outcome.reason} [random settings: {random_settings.text(job.settings) or 'none'}; "
        f"reproduce: toolkit refs.run --random-settings --seed {job.seed}{url} "
        f"-s {job.test.name}]"))


def _worker(conn: Connection, config: Config) -> None:
    backend = backend_for(config)
    try:
        while (job := conn.recv()) is not None:
            started, wall = time.monotonic(), time.time()
            try:
                outcome = run_one(backend, job, config.tmp_root)
            except subprocess.TimeoutExpired:
                outcome = Outcome(job.test.name, "failed", f"{job.test.path}: timeout after "
                                  f"{job.timeout:g}s")
            except Exception as exc:  # the engine broke: report it on this test, keep going
                outcome = Outcome(job.test.name, "failed", f"{job.test.path}: "
                                  f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
            conn.send(reproducible(config, job, dataclasses.replace(
                outcome, duration=time.monotonic() - started, started=wall,
                worker=f"worker {os.getpid()}")))
    finally:
        backend.close()


@dataclasses.dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    # jobs sent and not yet answered, in the order the worker runs them; the deadline is the
    # first one's (the next ones start when it ends)
    inflight: collections.deque[Job] = dataclasses.field(default_factory=collections.deque)
    deadline: float = 0.0


@dataclasses.dataclass
class Watching:
    """The run's watch on the server under test, and what became of it."""

    server: ServerWatch
    restart: bool  # --restart-on-crash
    dead: str = ""  # why the run stopped early ('' while it goes on)

    POLL_S = 1.0  # how often a live run checks that the server's process is still there


BUDGET_SPENT = "not started: the time budget was spent"


class Pool:
    """Worker processes that each hold one backend; the parent enforces the deadlines and,
    with a ``watching``, notices the server under test dying."""

    PREFETCH = 2  # jobs queued per worker, so it never idles while the parent reads a result

    def __init__(self, config: Config, size: int, watching: Watching | None = None,
                 deadline: float | None = None) -> None:
        self.config = config
        self.watching = watching
        self.deadline = deadline  # time.time() after which no job starts (a time budget)
        # forked workers inherit the compiled lexer instead of each building it
        warm_up(BACKSLASH_ESCAPES[engine_of(config.url)])
        # chDB must not be loaded before a fork; the other engines start faster forked
        method = "spawn" if config.url.startswith("chdb:") else "fork"
        self.ctx = multiprocessing.get_context(method)
        self.slots = [self._start() for _ in range(max(1, size))]

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker, args=(child, self.config),  # type: ignore[attr-defined]
                                   daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def run(self, jobs: list[Job]) -> Iterator[Outcome]:
        queue = collections.deque(jobs)
        while queue or any(s.inflight for s in self.slots):
            if queue and self.deadline is not None and time.time() >= self.deadline:
                yield from (Outcome(j.test.name, "skipped", BUDGET_SPENT) for j in queue)
                queue.clear()
                if not any(s.inflight for s in self.slots):
                    return
            for slot in self.slots:
                while queue and len(slot.inflight) < self.PREFETCH:
                    if not slot.inflight:
                        slot.deadline = time.monotonic() + _allowed(queue[0])
                    slot.inflight.append(queue.popleft())
                    try:
                        slot.conn.send(slot.inflight[-1])
                    except OSError:  # the worker died: reading its pipe below says so
                        break
            busy = [s for s in self.slots if s.inflight]
            wake = min(s.deadline for s in busy) - time.monotonic()
            if self.watching:
                wake = min(wake, Watching.POLL_S)
            ready = wait([s.conn for s in busy], timeout=max(0.0, wake))
            finished: list[Outcome] = []
            for slot in busy:
                if slot.conn in ready:
                    job = slot.inflight.popleft()
                    try:
                        outcome = slot.conn.recv()
                    except (EOFError, OSError):  # a reset when it died with a job unread
                        dead = slot.process
                        self._replace(slot, queue)  # reaps it: its exit code is known then
                        outcome = Outcome(job.test.name, "failed", f"{job.test.path}: the worker "
                                          f"died (exit code {dead.exitcode})")
                    if slot.inflight:
                        slot.deadline = time.monotonic() + _allowed(slot.inflight[0])
                    finished.append(outcome)
                elif time.monotonic() >= slot.deadline:
                    job = slot.inflight.popleft()
                    worker = slot.process.pid
                    self._replace(slot, queue)
                    cleanup(self.config, job.database, worker)
                    finished.append(reproducible(self.config, job, Outcome(
                        job.test.name, "failed", f"{job.test.path}: timeout after "
                        f"{job.timeout:g}s", duration=job.timeout)))
            reason = self._server_down(finished)
            if reason:
                yield from self._server_died(reason, finished, queue)
                if self.watching and self.watching.dead:
                    return
                continue
            yield from finished

    def _server_down(self, finished: list[Outcome]) -> str | None:
        """Why the server under test is gone, checked when a test failed (a query is cheap
        next to a failure) and otherwise by whether its process still runs."""
        if self.watching is None:
            return None
        if any(o.status == "failed" for o in finished):
            return self.watching.server.down()
        return self.watching.server.exited()

    def _server_died(self, reason: str, finished: list[Outcome], queue: collections.deque[Job]
                     ) -> Iterator[Outcome]:
        """The tests that were running fail with the server's log; the others go back in the
        queue when the server is restarted, else are reported as not run."""
        assert self.watching is not None
        watching = self.watching
        tail = watching.server.log_tail(30)
        running = [o.name for o in finished if o.status == "failed"]
        waiting: list[Job] = []
        for slot in self.slots:
            if slot.inflight:
                running.append(slot.inflight[0].test.name)
                waiting += list(slot.inflight)[1:]
            slot.inflight.clear()
            slot.process.kill()  # its session died with the server
            slot.process.join()
        for outcome in finished:
            if outcome.name not in running:
                yield outcome
        for i, name in enumerate(running):  # the log once, with the first
            yield Outcome(name, "failed", f"server died while running {name}: {reason}",
                          "" if i else f"last lines of the server's log:\n{tail}\n")
        queue.extendleft(reversed(waiting))
        unrestarted = ""
        if watching.restart:
            try:
                watching.server.restart()
            except ToolkitError as exc:
                unrestarted = f" (restarting it failed: {exc})"
            else:
                self.slots = [self._start() for _ in self.slots]
                return
        watching.dead = f"server died while running {', '.join(running)}{unrestarted}"
        while queue:
            job = queue.popleft()
            yield Outcome(job.test.name, "not run", f"not run: {watching.dead}")

    def _replace(self, slot: _Slot, queue: collections.deque[Job]) -> None:
        """Kill the worker and start another; jobs it had not started go back in the queue."""
        slot.process.kill()
        slot.process.join()
        queue.extendleft(reversed(slot.inflight))
        slot.inflight.clear()
        fresh = self._start()
        slot.process, slot.conn = fresh.process, fresh.conn

    def close(self) -> None:
        for slot in self.slots:
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for slot in self.slots:
            slot.process.join(timeout=30)
            if slot.process.is_alive():
                slot.process.kill()


def _allowed(job: Job) -> float:
    return job.timeout + (SH_GRACE_S if job.test.kind == "sh" else 0.0)


def cleanup(config: Config, database: str, worker: int | None = None) -> None:
    """Drop what a killed worker left (its chDB session died with it), ending on the server
    what it was still running."""
    if config.url.startswith("clickhouse:"):
        from toolkit.refs.engines.clickhouse_server import kill_test
        from toolkit.servers.clickhouse import ClickHouseUnreachable, parse_url

        try:
            kill_test(parse_url(config.url), database)
        except ClickHouseUnreachable:
            pass  # the run's watch on the server says what became of it
        return
    if engine_of(config.url) == "clickhouse":
        return
    if (config.pool or engine_of(config.url) == "mysql") and worker:
        from toolkit.core import drop_orphans_of

        # the worker's clones (its pool's; on MariaDB/MySQL its test's database of its own
        # naming), WITH (FORCE) on PostgreSQL, which ends the query still running
        drop_orphans_of(config.settings, worker, config.url)
        return
    if engine_of(config.url) == "postgresql" and not config.template_url and worker:
        from toolkit.engines import get_engine
        from toolkit.refs.engines.postgresql import scratch_name

        # its scratch database, WITH (FORCE): the session still running the query ends too
        get_engine(config.settings, config.url).drop(scratch_name(config.settings, worker))
        return
    backend = backend_for(config)
    try:
        backend.drop(database)
    finally:
        backend.close()


@dataclasses.dataclass(frozen=True)
class Plan:
    """How often and in which order the tests run, and with which random settings."""

    repeat: int = 1
    order: str = "name"  # or "random"
    seed: int = 0  # of the order and of the random settings
    random_settings: bool = False
    known: frozenset[str] | None = None  # the settings a server under test has (None: all)
    deadline: float | None = None  # time.time() after which no run starts


def run(config: Config, tests: list[RefTest], on_outcome: Callable[[Outcome], None],
        watching: Watching | None = None, plan: Plan = Plan()) -> list[Outcome]:
    """Run ``tests`` (each ``plan.repeat`` times): parallel ones first, then the no-parallel
    ones alone; with a ``watching``, a dead server under test ends the run (or is restarted)."""
    engine = engine_of(config.url)
    outcomes: list[Outcome] = []

    def emit(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    def jobs_of(test: RefTest) -> list[Job]:
        timeout = config.timeout * (LONG_FACTOR if "long" in test.tags else 1)
        made = []
        for repeat in range(plan.repeat):
            settings: tuple[tuple[str, str], ...] = ()
            seed = plan.seed + repeat  # one run's draw, reproduced by --seed alone
            if plan.random_settings and "no-random-settings" not in test.tags:
                settings = tuple((k, v) for k, v in random_settings.draw(engine, seed, test.name)
                                 if plan.known is None or k in plan.known)
            made.append(Job(test, database_name(), timeout, config.keep_failed, settings,
                            seed if plan.random_settings else None))
        return made

    runnable: list[RefTest] = []
    for test in tests:
        reason = test.skip_reason(engine)
        if reason:
            emit(Outcome(test.name, "skipped", reason))
        else:
            runnable.append(test)
    parallel = [j for t in runnable if "no-parallel" not in t.tags for j in jobs_of(t)]
    alone = [j for t in runnable if "no-parallel" in t.tags for j in jobs_of(t)]
    if plan.order == "random":
        shuffle = random.Random(plan.seed).shuffle
        shuffle(parallel)
        shuffle(alone)
    for jobs, size in ((parallel, min(config.jobs, len(parallel))), (alone, 1)):
        if not jobs:
            continue
        if watching and watching.dead:
            for job_ in jobs:
                emit(Outcome(job_.test.name, "not run", f"not run: {watching.dead}"))
            continue
        pool = Pool(config, size, watching, plan.deadline)
        try:
            for outcome in pool.run(jobs):
                emit(outcome)
        finally:
            pool.close()
    return outcomes
