"""refs.run / refs.record / refs.lint as plain functions taking Settings first."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from toolkit import durations
from toolkit.core import ensure_template
from toolkit.engines import close_all, get_engine
from toolkit.errors import ToolkitError
from toolkit.marker import Marker
from toolkit.refs import discover as disc
from toolkit.refs.engines import engine_of
from toolkit.refs.runner import BUDGET_SPENT, Config, Outcome, Plan, Watching, run
from toolkit.settings import Settings
from toolkit.urls import mask


class ReferencesError(ToolkitError):
    pass


@dataclasses.dataclass(frozen=True)
class Summary:
    outcomes: list[Outcome]
    problems: list[str]  # file-level errors (a reference without a test)
    changed: list[Path]  # references recorded (or, with check, that would change)
    warnings: list[str] = dataclasses.field(default_factory=list)  # unknown tags
    unstarted: int = 0  # runs a time budget left unstarted
    runs: list[Outcome] = dataclasses.field(default_factory=list)  # every run, as it ran
    engine: str = ""
    seed: int | None = None
    started: float | None = None
    finished: float | None = None
    url_flag: str = ""  # what a reproduce command adds for the URL run on (none: the default)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Failures, flaky tests, problems and tests a dead server kept from running."""
        return (self.count("failed") + self.count("flaky") + self.count("not run")
                + len(self.problems))

    @property
    def line(self) -> str:
        extra = [f"{n} {what}" for what in ("flaky", "not run") if (n := self.count(what))]
        return (f"{self.count('passed')} passed, {self.failed} failed"
                + (f" ({', '.join(extra)})" if extra else "")
                + f", {self.count('skipped')} skipped")

    @property
    def recorded_line(self) -> str:
        """The closing line after recording: a recorded test now passes."""
        recorded = len(self.changed)
        return (f"{self.count('passed') + recorded} passed, {self.failed - recorded} failed, "
                f"{self.count('skipped')} skipped ({recorded} recorded)")


def references(settings: Settings, selectors: list[str] | None = None, *, url: str | None = None,
               jobs: int | None = None, timeout: float | None = None, keep_failed: bool = False,
               record: bool = False, check: bool = False, directory: Path | None = None,
               setting: list[str] | None = None, restart_on_crash: bool = False,
               random_settings: bool = False, seed: int | None = None,
               repeat: int | None = None, names: Collection[str] | None = None,
               deadline: float | None = None, order: str = "name", pool: bool = True,
               on_seed: Callable[[int], None] = lambda s: None,
               on_result: Callable[[Outcome], None] = lambda o: None,
               on_start: Callable[[int], None] = lambda n: None,
               on_outcome: Callable[[Outcome], None] = lambda o: None) -> Summary:
    """Run the reference tests (and with ``record``, write the references that differ): those
    ``selectors`` match, or exactly ``names``; none starts after ``deadline`` (time.time())."""
    root = _root(settings, directory)
    url = url or settings.database_url
    started = time.time()
    tests = disc.discover(root, selectors)
    if names is not None:
        tests = [t for t in tests if t.name in names]
    warnings = [f"{t.path}:1: unknown tag {tag!r} (known: {', '.join(sorted(disc.KNOWN_TAGS))})"
                for t in tests for tag in sorted(t.tags - disc.KNOWN_TAGS)]
    problems = [f"{ref}:1: reference without a test ({ref.stem}.sql or {ref.stem}.sh)"
                for ref in disc.orphan_references(root)
                if not selectors or any(s in ref.stem for s in selectors)]
    overrides = _overrides(setting or [], url)
    if order not in ("name", "random"):
        raise ReferencesError(f"--order {order!r}: choose name or random")
    repeat = 1 if repeat is None else repeat
    if repeat < 1:
        raise ReferencesError(f"--repeat {repeat}: give a number of runs from 1")
    watching, client = None, None
    if url.startswith("clickhouse:"):
        watching, client = _server_under_test(settings, url, restart_on_crash)
    elif restart_on_crash:
        raise ReferencesError("--restart-on-crash is for a ClickHouse server under test "
                              "(--url clickhouse://HOST:PORT)")
    template_url = None
    if engine_of(url) not in ("clickhouse", "sqlite"):
        # one line now if the server does not answer, not a failure in every worker
        get_engine(settings, url).server_version()
        close_all()
    if engine_of(url) != "clickhouse" and settings.path(settings.alembic_ini).is_file():
        template = ensure_template(dataclasses.replace(settings, database_url=url))
        template_url = template.url.render_as_string(hide_password=False)
        close_all()  # workers fork: no connection may be shared with them
    # on MariaDB/MySQL a blank database per test is a CREATE DATABASE (a pool would make the
    # same database and do more to hand it over): the pool is for clones of a template
    pool = pool and (engine_of(url) == "postgresql" or
                     (engine_of(url) == "mysql" and template_url is not None))
    blank = None
    if pool and template_url is None:
        blank = _blank(settings, url)
        template_url = get_engine(settings, url).database_url(blank).render_as_string(
            hide_password=False)
        close_all()
    tmp_root = Path(tempfile.mkdtemp(prefix="toolkit-refs-"))
    config = Config(settings, url, template_url, timeout or settings.references_timeout_s,
                    jobs or os.cpu_count() or 1, keep_failed, tmp_root, overrides, client,
                    pool)
    if seed is None and (random_settings or order == "random"):
        seed = secrets.randbelow(1_000_000)
    if seed is not None:
        on_seed(seed)
    plan = Plan(repeat, order, seed or 0, random_settings,
                _known_settings(url) if random_settings else None, deadline)
    on_start(len(tests) * repeat)
    # repeated runs are shown once all of a test's runs are in (on_result); each run only moves
    # the progress along
    live = on_outcome if repeat == 1 else \
        (lambda o: on_outcome(dataclasses.replace(o, status="ran")))
    try:
        runs = run(config, tests, live, watching, plan)
        unstarted = sum(o.reason == BUDGET_SPENT for o in runs)
        outcomes = _aggregate(runs)
        if repeat > 1:
            for outcome in outcomes:
                on_result(outcome)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
        if blank is not None:
            get_engine(settings, url).drop(blank)
            close_all()
    outcomes.sort(key=lambda o: o.name)
    by_name = {t.name: t for t in tests}
    _record_durations(settings, root, {o.name: o.duration for o in outcomes
                                       if o.status != "skipped"}, by_name)
    changed: list[Path] = []
    if record:
        for outcome in outcomes:
            if outcome.recordable and outcome.output is not None:
                reference = by_name[outcome.name].reference
                changed.append(reference)
                if not check:
                    reference.write_text(outcome.output)
    return Summary(outcomes, problems, changed, warnings, unstarted, runs, engine_of(url), seed,
                   started, time.time(),
                   "" if url == settings.database_url else f" --url {mask(url)}")


def _known_settings(url: str) -> frozenset[str] | None:
    """The random settings a ClickHouse server under test has (older ones lack some)."""
    if not url.startswith("clickhouse:"):
        return None
    from toolkit.refs import random_settings as rs
    from toolkit.servers.clickhouse import parse_url

    names = ", ".join(f"'{n}'" for n in rs.choices("clickhouse"))
    known = parse_url(url).query(f"SELECT name FROM system.settings WHERE name IN ({names})")
    return frozenset(known.split())


def _blank(settings: Settings, url: str) -> str:
    """An empty database for the run's PostgreSQL pools to clone (and prove resets against),
    marked as this process's: a killed run's is dropped by the next db.gc."""
    name = f"{settings.prefix}refs_{secrets.token_hex(5)}"
    get_engine(settings, url).create(name, Marker.new("clone", "refs", "refs"))
    return name


def _aggregate(outcomes: list[Outcome]) -> list[Outcome]:
    """One outcome per test from its runs: passed, failed, or flaky when runs disagree."""
    from toolkit.refs.random_settings import text

    runs: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        runs.setdefault(outcome.name, []).append(outcome)
    result = []
    for name, group in runs.items():
        group.sort(key=lambda o: o.seed or 0)  # runs end in any order: report them by seed
        # runs the time budget left unstarted count for nothing when others ran
        group = [o for o in group if o.reason != BUDGET_SPENT] or group
        failed = [o for o in group if o.status in ("failed", "not run")]
        passed = [o for o in group if o.status == "passed"]
        if failed and passed:
            draws = "".join(f"\n  run with seed {o.seed}: {text(o.settings)}" for o in failed
                            if o.seed is not None)
            result.append(Outcome(
                name, "flaky", f"failed {len(failed)} of {len(group)} runs: "
                f"{failed[0].reason}", f"failing runs:{draws or ' (no random settings)'}\n"
                f"first failure:\n{failed[0].detail}", sum(o.duration for o in group)))
        else:
            result.append(failed[0] if failed else group[0])
    return result


def _overrides(settings: list[str], url: str) -> tuple[tuple[str, str], ...]:
    """``--setting name=value`` as pairs: ClickHouse settings for every test."""
    pairs = []
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ReferencesError(f"--setting {item!r}: write NAME=VALUE with a setting's name "
                                  "(e.g. --setting max_threads=1)")
        pairs.append((name, value))
    if pairs and engine_of(url) != "clickhouse":
        raise ReferencesError("--setting applies ClickHouse settings to every test: use it with "
                              "--url chdb:// or clickhouse://HOST:PORT")
    return tuple(pairs)


def _server_under_test(settings: Settings, url: str, restart: bool
                       ) -> tuple[Watching, list[str] | None]:
    """Check the server at ``url`` (one line if it is unusable) and how the run watches it."""
    from toolkit.refs.engines.clickhouse_server import client_command
    from toolkit.servers import state_dir
    from toolkit.servers.clickhouse import check, parse_url
    from toolkit.servers.watch import for_url

    endpoint = parse_url(url)
    check(endpoint)
    watch = for_url(state_dir(settings), endpoint)
    if restart and watch.local is None and watch.container is None:
        raise ReferencesError(f"--restart-on-crash restarts only a server toolkit started: the "
                              f"one at {endpoint.where} was not (start it with `toolkit "
                              "server.up clickhouse`)")
    return Watching(watch, restart), client_command(settings.server_binary, watch.container)


def _record_durations(settings: Settings, root: Path, measured: dict[str, float],
                      tests: dict[str, disc.RefTest]) -> None:
    """For the shard planner, keyed by path relative to the project (tests elsewhere: none)."""
    project = settings.project_dir.resolve()
    if not root.resolve().is_relative_to(project):
        return
    # resolve the directory once, not every test: this runs for every test of every run
    base = root.resolve().relative_to(project)
    relative = {str(base / tests[name].path.relative_to(root)): seconds
                for name, seconds in measured.items()}
    try:
        durations.record(durations.path(settings.project_dir), relative)
    except OSError:
        pass  # a read-only checkout still runs its tests


def _root(settings: Settings, directory: Path | None) -> Path:
    root = settings.path(directory or settings.references_dir)
    if not root.is_dir():
        raise ReferencesError(f"no reference tests directory at {root} (checked setting "
                              "references_dir; set TOOLKIT_REFERENCES_DIR or pass --directory)")
    return root


def write_json(summary: Summary, path: Path) -> None:
    path.write_text(json.dumps([{"name": o.name, "status": o.status,
                                 "duration": round(o.duration, 4), "reason": o.reason}
                                for o in summary.outcomes], indent=1) + "\n")


def report_source(summary: Summary, label: str = "references") -> Any:
    """The run as the report shows it: each test's outcome (a FLAKY one whole), with its
    runs' start times and workers for the timeline."""
    from toolkit import report
    from toolkit.refs.random_settings import text

    first: dict[str, Outcome] = {}
    for run_ in summary.runs:
        if run_.started is not None and (run_.name not in first or
                                         (first[run_.name].started or 0) > run_.started):
            first[run_.name] = run_
    tests = []
    for o in summary.outcomes:
        ran = first.get(o.name)
        again = o.reason.rsplit("reproduce: ", 1)[1].rstrip("]") if "reproduce: " in o.reason \
            else ""
        if o.status in ("failed", "flaky") and not again:
            again = f"toolkit refs.run{summary.url_flag} -s {o.name}"
        tests.append(report.Test(o.name, o.status, round(o.duration, 6),
                                 ran.started if ran else None, ran.worker if ran else "",
                                 o.reason, o.detail, again, text(o.settings), o.seed))
    return report.Source(label, "references", summary.engine, summary.seed, summary.started,
                         summary.finished, tests, list(summary.problems))


def write_junit(summary: Summary, path: Path) -> None:
    suite = ET.Element("testsuite", name="references", tests=str(len(summary.outcomes)),
                       failures=str(summary.failed - len(summary.problems)),
                       skipped=str(summary.count("skipped")),
                       time=f"{sum(o.duration for o in summary.outcomes):.3f}")
    for o in summary.outcomes:
        case = ET.SubElement(suite, "testcase", classname="references", name=o.name,
                             time=f"{o.duration:.3f}")
        if o.status == "failed":
            ET.SubElement(case, "failure", message=o.reason).text = o.detail
        elif o.status in ("not run", "flaky"):
            ET.SubElement(case, "failure", type=o.status, message=o.reason).text = o.detail
        elif o.status == "skipped":
            ET.SubElement(case, "skipped", message=o.reason)
    ET.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)


def lint(settings: Settings, directory: Path | None = None) -> tuple[list[str], dict[str, int]]:
    root = _root(settings, directory)
    return disc.lint(root)
