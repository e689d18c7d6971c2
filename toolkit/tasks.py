"""Invoke tasks: thin wrappers over the primitives. Use them from your own tasks.py with
``from toolkit.tasks import namespace``, or through the ``toolkit`` command."""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task
from rich.console import Console

from toolkit.errors import ToolkitError
from toolkit.lazy import lazy
from toolkit.settings import Settings

if TYPE_CHECKING:
    from toolkit import core, durations, hooks, servers, testrun, urls
    from toolkit.refs import command as refs
    from toolkit.refs import report
else:  # imported by the commands that use them: the others start faster
    core, durations, hooks, servers, testrun, urls = (lazy(f"toolkit.{m}") for m in (
        "core", "durations", "hooks", "servers", "testrun", "urls"))
    refs, report = lazy("toolkit.refs.command"), lazy("toolkit.refs.report")

F = TypeVar("F", bound=Callable[..., Any])
# soft wrap: a hint's command is never broken over two lines when stderr is not a terminal
err = Console(stderr=True, soft_wrap=True)
# the Docker SDK is imported by the tasks that use it: every other command starts faster
URL_HELP = {"url": "database server/file URL (default: TOOLKIT_DATABASE_URL or the SQLite file)"}
INI_HELP = {**URL_HELP,
            "alembic_ini": "path of alembic.ini (default: TOOLKIT_ALEMBIC_INI or alembic.ini)"}


def edge(func: F) -> F:
    """Where errors become one line and an exit code (a traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logger = logging.getLogger("toolkit")
        if not logger.handlers:
            if err.is_terminal:
                from rich.logging import RichHandler

                logger.addHandler(RichHandler(console=err, show_time=False, show_path=False))
            else:  # logs and CI: plain lines that neither wrap nor colour
                handler = logging.StreamHandler()
                handler.setFormatter(logging.Formatter("toolkit: %(message)s"))
                logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        try:
            return func(*args, **kwargs)
        except ToolkitError as exc:
            if logging.getLogger().isEnabledFor(logging.DEBUG):  # invoke's --debug
                raise
            raise Exit(f"toolkit: error: {exc}", code=1) from exc
        except OSError as exc:  # a read-only or full disk, most often
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            where = f": {exc.filename}" if exc.filename else ""
            raise Exit(f"toolkit: error: {exc.strerror or exc}{where} (writing toolkit's state or "
                       "a SQLite database: check the directory's permissions and free space, or "
                       "set TOOLKIT_DATABASE_URL elsewhere)", code=1) from exc

    return wrapper  # type: ignore[return-value]


def passthrough(c: Context) -> list[str]:
    """The arguments after ``--``, as the shell split them: invoke joins its remainder with
    spaces, which loses quoting (``-k "a or b"``), so take them from argv when they are there."""
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    if argv and " ".join(argv) == c.remainder:
        return argv
    return shlex.split(c.remainder)


def settings(url: str | None = None, alembic_ini: str | None = None, **extra: Any) -> Settings:
    return Settings.load(database_url=url, alembic_ini=alembic_ini, **extra)


@task(help={**INI_HELP, "explain": "print the fingerprint's inputs and what changed; build "
                                    "nothing"})
@edge
def template(c: Context, url: str | None = None, alembic_ini: str | None = None,
             explain: bool = False) -> None:
    """Build the template database at Alembic head (a no-op when the migrations are unchanged)."""
    s = settings(url, alembic_ini)
    if explain:
        _explain(core.resolve(s))
        return
    tpl = core.ensure_template(s)
    print(tpl.name)


def _explain(found: core.Resolution) -> None:
    from rich.table import Table

    from toolkit import fingerprint

    table = Table("input", "hash or value", "found by", box=None)
    for name, value in found.inputs.items:
        how = "discovered" if name not in found.inputs.static else "option" \
            if name.startswith(fingerprint.OPTION) else "always"
        table.add_row(name.removeprefix(fingerprint.OPTION), value, how)
    Console(width=200).print(table)
    name = found.template.name
    if found.usable:
        print(f"template {name} is up to date")
        return
    since = f"since {found.previous[0]}: " if found.previous else ""
    print(f"db.template would build {name}; {since}{found.since(most=1000)}")


CLONE_TTL_S = 3600.0


@task(name="clone", help={
    **INI_HELP,
    "owner": "process whose life the clone is kept for (default: the calling shell)",
    "ttl": f"seconds the clone is kept even after its owner is gone (default {CLONE_TTL_S:g}: "
           "$(toolkit db.clone) runs in a subshell that ends at once; 0 for the owner only)"})
@edge
def clone_(c: Context, url: str | None = None, alembic_ini: str | None = None,
           owner: str | None = None, ttl: str | None = None) -> None:
    """Create a clone of the template; its URL is the last line printed (drop it with db.drop)."""
    s = settings(url, alembic_ini)
    pid = _number(owner, "--owner") or os.getppid()
    if not Path(f"/proc/{pid}").exists():
        raise ToolkitError(f"--owner {pid}: no such process (give the PID of a running process)")
    lease = _number(ttl, "--ttl", float)
    lease = CLONE_TTL_S if lease is None else lease
    if lease < 0:
        raise ToolkitError(f"--ttl takes seconds, 0 or more, not {lease:g}")
    # db.gc keeps it while the owner runs, and until the lease ends
    db = core.create_clone(s, core.ensure_template(s), owner_pid=pid, lease_s=lease)
    err.print(f"created {db.name}; remove it with: toolkit db.drop {db.name}")
    print(urls.mask(db.url))


@task(help={"name": "database to drop (only one toolkit created)", **URL_HELP})
@edge
def drop(c: Context, name: str, url: str | None = None) -> None:
    """Drop a database toolkit created (refuses any other)."""
    if core.drop(settings(url), name):
        print(f"dropped {name}")
    else:
        print(f"{name} does not exist; nothing to drop")


@task(help={"dry_run": "list what would be dropped, drop nothing", **URL_HELP})
@edge
def gc(c: Context, dry_run: bool = False, url: str | None = None) -> None:
    """Drop clones whose owner process is gone and templates beyond the newest few."""
    doomed = core.gc(settings(url), dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    for name, reason in doomed:
        print(f"{verb} {name}: {reason}")
    print(f"{verb} {len(doomed)} database(s)")


@task(help={"json_": "print JSON instead of a table", **URL_HELP})
@edge
def status(c: Context, json_: bool = False, url: str | None = None) -> None:
    """List toolkit's templates and clones: kind, fingerprint, owner, age."""
    s = settings(url)
    rows = [e.as_dict() for e in core.status(s)]
    if json_:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    where = core.get_engine(s)
    place = getattr(where, "directory", None) or urls.mask(where.url)
    print(f"toolkit databases with prefix {s.prefix!r} at {place}"
          + ("" if rows else ": none"))
    if not rows:
        return

    table = Table("name", "kind", "fingerprint", "owner", "age")
    for row in rows:
        alive = "" if row.get("owner_alive", True) else " (gone)"
        table.add_row(str(row["name"]), str(row["kind"]), str(row.get("fingerprint", "")),
                      f"{row.get('owner', '')}{alive}", f"{row.get('age_s', '')}s")
    Console().print(table)


@task(help={"kind": "postgres, mariadb or clickhouse",
            "provider": "local (the machine's binaries, default) or docker",
            "image": "docker: the image (default: TOOLKIT_IMAGE, else the official one; "
                     "clickhouse: toolkit/clickhouse, built from images/clickhouse)",
            "binary": "clickhouse: the server binary under test (default: "
                      "TOOLKIT_SERVER_BINARY, else clickhouse-server on PATH); docker: mounted "
                      "read-only in place of the image's"})
@edge
def up(c: Context, kind: str, provider: str = "local", image: str | None = None,
       binary: str | None = None) -> None:
    """Start a server for tests that outlives this command; prints its URL (server.down stops it)."""
    print(servers.up(settings(), kind, provider, image, binary))


@task(help={"kind": "postgres, mariadb or clickhouse (default: every one started with "
                    "server.up)"})
@edge
def down(c: Context, kind: str | None = None) -> None:
    """Stop a server started by server.up and remove its files or container."""
    stopped = servers.down(settings(), kind)
    print("\n".join(f"stopped {s}" for s in stopped) or "no server started by server.up")


@task(name="status", help={"json_": "print JSON instead of lines"})
@edge
def server_status(c: Context, json_: bool = False) -> None:
    """Servers started by server.up and every container toolkit labelled."""
    rows = servers.status(settings())
    if json_:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    if not rows:
        print("no servers")


@task(name="gc", help={"dry_run": "list what would be removed, remove nothing"})
@edge
def server_gc(c: Context, dry_run: bool = False) -> None:
    """Remove toolkit's containers and cluster networks whose owner process is gone (reused
    servers stay; a live run's never go)."""
    from toolkit import cluster
    from toolkit.docker import client
    from toolkit.servers import docker as containers

    engine = client()
    removed = containers.gc(engine, dry_run)
    verb = "would remove" if dry_run else "removed"
    for short in removed:
        print(f"{verb} container {short}")
    clusters = cluster.gc(engine, dry_run)
    for name in clusters:
        print(f"{verb} {name}")
    print(f"{verb} {len(removed)} container(s)"
          + (f" and {len(clusters)} cluster container(s) and network(s)" if clusters else ""))


@task(name="build", iterable=["build_arg"], help={
    "context": "build context directory (default: .)",
    "dockerfile": "Dockerfile, relative to the context (default: Dockerfile)",
    "tag": "also tag the image NAME[:TAG] (it is always tagged REPO:ctx-<context hash>)",
    "build_arg": "K=V build argument (repeatable)",
    "no_cache": "rebuild every layer (a changed context is still needed to build at all)"})
@edge
def image_build(c: Context, context: str = ".", dockerfile: str = "Dockerfile",
                tag: str | None = None, build_arg: list[str] | None = None,
                no_cache: bool = False) -> None:
    """Build the server image through the Docker SDK; a no-op when the context is unchanged.
    The last line is the tag for TOOLKIT_IMAGE."""
    from toolkit import image
    from toolkit.docker import client

    args = dict(a.split("=", 1) for a in build_arg or [] if "=" in a)
    with err.status("building image") as status:
        def step(line: str) -> None:
            status.update(line[:100])
            if not err.is_terminal:
                err.print(line, highlight=False)

        built = image.build(client(), Path(context), dockerfile, tag, args, on_step=step,
                            no_cache=no_cache)
    err.print("built " + built.id[7:19] if built.built else "up to date: nothing to build")
    print(built.tags[-1])


@task(name="base", help={"suite": "Debian release (default: bookworm)"})
@edge
def image_base(c: Context, suite: str = "bookworm") -> None:
    """Import a Debian base image made with debootstrap, for machines with no registry."""
    from toolkit import image
    from toolkit.docker import client

    print(image.debian_base(client(), suite, on_step=lambda s: err.print(s)))


def _report_page(report: str | None) -> Path | None:
    """--report's page, checked before any work: a wrong path stops the run before it starts."""
    if not report:
        return None
    from toolkit import report as html

    html.data_path(Path(report))
    return Path(report)


REPORT_HELP = ("write the run's HTML report to PATH.html, and its results beside it as "
               "PATH.json (`toolkit report` merges several)")
REFS_HELP = {
    "select": "only tests whose name contains this or matches this glob (repeatable)",
    "url": "engine to run on: a database URL, chdb:// for ClickHouse in-process, or "
           "clickhouse://HOST:PORT for a ClickHouse server (default: the setting)",
    "jobs": "parallel workers (default: number of cores)",
    "timeout": "seconds per test (tests tagged long get 5x)",
    "directory": "tests directory (default: references_dir, tests/queries)",
}


def _references(select: list[str], url: str | None, jobs: str | None, timeout: str | None,
                directory: str | None, on_record: Callable[[Path], None] = lambda p: None,
                **kwargs: Any) -> refs.Summary:
    reporter = report.Reporter(recording=bool(kwargs.get("record")))
    summary = refs.references(
        settings(), select or None, url=url, jobs=_number(jobs, "--jobs"),
        timeout=_number(timeout, "--timeout", float),
        directory=Path(directory) if directory else None,
        on_start=reporter.start, on_outcome=reporter.outcome, on_result=reporter.show,
        on_seed=lambda seed: print(f"seed {seed} (random settings and order: --seed {seed} "
                                   "repeats them)", file=sys.stderr), **kwargs)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in summary.problems:
        reporter.problem(problem)
    for path in summary.changed:
        on_record(path)
    recorded = kwargs.get("record") and not kwargs.get("check")
    reporter.finish(summary.recorded_line if recorded else summary.line)
    return summary


@task(name="run", iterable=["select", "setting"], help={
    **REFS_HELP, "junit": "write a JUnit XML report here", "json_": "write per-test JSON here",
    "no_drop_if_fail": "keep a failed test's database for inspection",
    "setting": "ClickHouse: NAME=VALUE setting for every test (repeatable)",
    "restart_on_crash": "restart a server under test that toolkit started when it dies, and go "
                        "on with the remaining tests (the crash still fails the run)",
    "random_settings": "give each .sql test a random draw of result-neutral engine settings",
    "seed": "the seed of random settings and random order (default: a new one, printed)",
    "repeat": "run each test N times (in parallel where it may); runs that disagree are FLAKY",
    "order": "name (default) or random",
    "no_pool": "PostgreSQL: a schema per test in a scratch database, MariaDB: CREATE DATABASE "
               "per test, instead of a database per test from each worker's pool",
    "report": REPORT_HELP})
@edge
def refs_run(c: Context, select: list[str] | None = None, url: str | None = None,
             jobs: str | None = None, timeout: str | None = None, junit: str | None = None,
             json_: str | None = None, no_drop_if_fail: bool = False,
             directory: str | None = None, setting: list[str] | None = None,
             restart_on_crash: bool = False, random_settings: bool = False,
             seed: str | None = None, repeat: str | None = None, order: str = "name",
             no_pool: bool = False, report: str | None = None) -> None:
    """Run the reference tests (NAME.sql / NAME.sh beside NAME.reference), each in a fresh database."""
    page = _report_page(report)
    summary = _references(select or [], url, jobs, timeout, directory, keep_failed=no_drop_if_fail,
                          setting=setting or [], restart_on_crash=restart_on_crash,
                          random_settings=random_settings, seed=_number(seed, "--seed"),
                          repeat=_number(repeat, "--repeat"), order=order, pool=not no_pool)
    if junit:
        refs.write_junit(summary, Path(junit))
    if json_:
        refs.write_json(summary, Path(json_))
    if page is not None:
        from toolkit import report as html

        print(f"report written to {html.write(refs.report_source(summary), page)}",
              file=sys.stderr)
    if summary.failed:
        raise Exit(code=1)


@task(name="record", iterable=["select"], help={
    **REFS_HELP, "check": "change nothing; fail if any reference would change (for CI)"})
@edge
def refs_record(c: Context, select: list[str] | None = None, url: str | None = None,
                jobs: str | None = None, timeout: str | None = None, check: bool = False,
                directory: str | None = None) -> None:
    """Write the .reference of tests whose reference is missing or differs (never for errors)."""
    summary = _references(select or [], url, jobs, timeout, directory, record=True, check=check,
                          on_record=lambda path: print(f"{'would change' if check else 'wrote'} {path}"))
    if check and summary.changed:
        raise Exit(f"toolkit: error: {len(summary.changed)} reference(s) are out of date "
                   "(run: toolkit refs.record)", code=1)
    unrecorded = summary.failed - len(summary.changed)
    if unrecorded:
        raise Exit(f"toolkit: error: {unrecorded} test(s) failed for another reason than their "
                   "reference; nothing was recorded for them", code=1)


@task(name="lint", help={"directory": REFS_HELP["directory"]})
@edge
def refs_lint(c: Context, directory: str | None = None) -> None:
    """Check the reference tests' conventions (names, variables, pairs, tags, sleeps)."""
    problems, no_tags = refs.lint(settings(), Path(directory) if directory else None)
    for problem in problems:
        print(problem)
    for tag, count in no_tags.items():
        print(f"{tag}: {count} test(s) (each needs a reason)")
    if problems:
        raise Exit(f"toolkit: error: {len(problems)} problem(s) in the reference tests", code=1)
    print("references: no problems")


N = TypeVar("N", int, float)


def _number(value: str | None, flag: str, kind: type[N] = int) -> N | None:  # type: ignore[assignment]
    """invoke hands flags whose default is None over as text."""
    try:
        return kind(value) if value is not None else None
    except ValueError as exc:
        what = "a whole number" if kind is int else "a number"
        raise ToolkitError(f"{flag} takes {what}, not {value!r}") from exc


@task(name="shard", help={
    "shard": "which shard to run, from 1 (default: from the CI's parallel-node variables)",
    "shards": "how many shards in all",
    "strategy": "duration (balanced by stored durations) or hash (stable as tests are added)",
    "dry_run": "print the shard's tests and predicted seconds; run nothing",
    "report": "write the shard's HTML report here (default: .toolkit/report-shard-K-of-N.html), "
              "and its results beside it as .json (`toolkit report` merges several)",
    "plan_id": "print the split's plan id (of --shards N, default: the shards setting) and run "
               "nothing: give it to every shard as TOOLKIT_SHARD_PLAN, and a shard that would "
               "split the suite otherwise refuses"})
@edge
def test_shard(c: Context, shard: str | None = None, shards: str | None = None,
               strategy: str | None = None, dry_run: bool = False,
               report: str | None = None, plan_id: bool = False) -> None:
    """Run shard K of N of the integration suite (pytest arguments after --)."""
    if plan_id:
        testrun.print_plan_id(settings(), _number(shard, "--shard"), _number(shards, "--shards"),
                              strategy, passthrough(c))
        return
    code = testrun.run_shard(settings(), _number(shard, "--shard"), _number(shards, "--shards"),
                             strategy, dry_run, passthrough(c), report=_report_page(report))
    if code:
        raise Exit(code=code)


@task(name="changed", help={"budget": "seconds to spend at most (default: prepush_budget_s)",
                            "changed_files": "file listing the changed paths (default: "
                                             "TOOLKIT_CHANGED_FILES, else git diff @{upstream})"})
@edge
def test_changed(c: Context, budget: str | None = None, changed_files: str | None = None
                 ) -> None:
    """Run the integration tests whose files changed, cheapest first within the budget."""
    source, changed = _listed(changed_files)
    if not source:
        result = c.run("git diff --name-only @{upstream}...HEAD", hide=True, warn=True)
        changed = result.stdout.splitlines() if result and result.ok else []
    code = testrun.run_changed(settings(), changed, _number(budget, "--budget", float),
                               passthrough(c), base=_changed_root(c))
    if code:
        raise Exit(code=code)


def _listed(changed_files: str | None) -> tuple[str | None, list[str]]:
    """The file listing changed paths (--changed-files, else TOOLKIT_CHANGED_FILES, which the
    pre-push hook sets) and its paths; (None, []) when there is none."""
    source = changed_files or os.environ.get("TOOLKIT_CHANGED_FILES")
    return source, Path(source).read_text().splitlines() if source else []


def _changed_root(c: Context) -> Path | None:
    """What changed paths are relative to: git's top level, which may be above the project
    (a monorepo); TOOLKIT_CHANGED_ROOT when the pre-push hook says it."""
    top = os.environ.get("TOOLKIT_CHANGED_ROOT")
    if not top:
        found = c.run("git rev-parse --show-toplevel", hide=True, warn=True)
        top = found.stdout.strip() if found and found.ok else None
    return Path(top) if top else None


@task(name="flaky", help={
    "base": "compare with this git ref (default: the merge base with the default branch)",
    "runs": "runs of each test (default: 20 for reference tests, 5 for the tests in pytest "
            "files)",
    "budget": "seconds to spend at most (default: flaky_budget_s); runs not started by then "
              "are skipped and said so",
    "seed": "the seed of the random settings and orders (default: a new one, printed)",
    "changed_files": "file listing the changed paths instead of git (default: "
                     "TOOLKIT_CHANGED_FILES, as the pre-push hook sets it)"})
@edge
def test_flaky(c: Context, base: str | None = None, runs: str | None = None,
               budget: str | None = None, seed: str | None = None,
               changed_files: str | None = None) -> None:
    """Run the reference tests and integration test files a change touches many times, with
    random settings and in random order; fail on any FLAKY or failing test."""
    import secrets
    import time

    from toolkit import flaky

    started = time.time()
    s = settings()
    source, listed = _listed(changed_files)
    if source:
        found = flaky.touched(s, listed, _changed_root(c))
        since = f"listed in {source}"
    else:
        ref = base or flaky.default_base(s.project_dir)
        found = flaky.touched(s, flaky.changed_since(s.project_dir, ref))
        since = f"since {base}" if base else f"since {ref[:12]} (the merge base)"
    count = _number(runs, "--runs")
    if count is not None and count < 1:
        raise ToolkitError(f"--runs {count}: give a number of runs from 1")
    total = _number(budget, "--budget", float) or s.flaky_budget_s
    chosen = _number(seed, "--seed")
    seed_ = secrets.randbelow(1_000_000) if chosen is None else chosen
    if not (found.references or found.test_files):
        print(f"test.flaky: no reference tests or integration test files changed {since}: "
              "nothing to check")
        return
    ref_runs, file_runs = count or flaky.REFERENCE_RUNS, count or flaky.PYTEST_RUNS
    print(f"test.flaky: {len(found.references)} reference test(s) x {ref_runs} runs and "
          f"{len(found.test_files)} test file(s) x {file_runs} runs, changed {since}; "
          f"seed {seed_}, budget {total:g}s", flush=True)
    failed = False
    if found.references:
        share = total / 2 if found.test_files else total  # the files get the rest
        summary = _references([], None, None, None, None, random_settings=True, seed=seed_,
                              repeat=ref_runs, order="random", names=found.references,
                              deadline=started + share)
        failed = summary.failed > 0
        if summary.unstarted:
            print(f"test.flaky: {summary.unstarted} of {len(found.references) * ref_runs} "
                  "reference test runs not started within the budget (raise --budget)")
    if found.test_files:
        left = max(1.0, started + total - time.time())
        failed = flaky.run_test_files(s, found.test_files, file_runs, seed_, left,
                                      passthrough(c)) != 0 or failed
    if failed:
        raise Exit(f"toolkit: error: flaky or failing tests (see above); `toolkit test.flaky "
                   f"--seed {seed_}` repeats these draws and orders", code=1)
    print("test.flaky: no flaky or failing test")


@task(name="durations", iterable=["merge"], help={
    "merge": "a durations file from a CI shard to merge in (repeatable)"})
@edge
def test_durations(c: Context, merge: list[str] | None = None) -> None:
    """Merge per-shard durations files into .toolkit/durations.json (newest wins)."""
    s = settings()
    target = durations.path(s.project_dir)
    sources = [Path(m) for m in merge or []]
    split = durations.plans(sources)
    if len(split) > 1:  # the shards did not split one suite the same way: say so, then merge
        ran = "; ".join(f"{plan}: {', '.join(p.name for p in files)}"
                        for plan, files in sorted(split.items()))
        print(f"warning: the shards ran {len(split)} different splits ({ran}): some tests ran "
              "twice or not at all; run every shard on the same checkout and durations "
              "(TOOLKIT_SHARD_PLAN checks it)", file=sys.stderr)
    counts = durations.merge(target, sources, exists=s.project_dir)
    print(f"{target}: {counts['tests']} tests ({counts['dropped']} removed tests dropped)")


@task(help={"shards": "number of shards (default: the shards setting)",
            "format_": "json (a GitHub Actions strategy.matrix), github (a workflow), gitlab "
                       "(.gitlab-ci.yml) or k8s (a Kubernetes Indexed Job)",
            "image": "k8s: the image the tests run in (the project its working directory)"})
@edge
def matrix(c: Context, shards: str | None = None, format_: str = "json",
           image: str | None = None) -> None:
    """Print CI configuration that runs one shard per parallel job and merges their
    durations: the shard numbers as JSON, or a GitHub, GitLab or Kubernetes file."""
    from toolkit.ci import render
    from toolkit.shards import check_count

    count = _number(shards, "--shards")
    count = settings().shards if count is None else check_count(count)
    print(render(format_, count, image), end="" if format_ != "json" else "\n")


@task(name="install", help={"force": "replace a pre-push hook that toolkit did not write"})
@edge
def hooks_install(c: Context, force: bool = False) -> None:
    """Install the git pre-push hook that runs the prepush checks (TOOLKIT_SKIP_HOOKS=1 skips)."""
    path, changed = hooks.install(Path.cwd(), force)
    print(f"installed {path}" if changed else f"{path} is already installed")


@task(name="uninstall")
@edge
def hooks_uninstall(c: Context) -> None:
    """Remove the pre-push hook if toolkit wrote it."""
    path = hooks.uninstall(Path.cwd())
    print(f"removed {path}" if path else "no toolkit pre-push hook installed")


@task(name="report", iterable=["input"], help={
    "input": "a results file (--report's PATH.json), JUnit XML, the reference runner's --json, "
             ".toolkit/timings.json or .toolkit/durations.json, or a directory of them "
             "(repeatable; `toolkit report A B -o OUT` passes each as one)",
    "output": "the page to write (default: report.html)"})
@edge
def report_(c: Context, input: list[str] | None = None, output: str = "report.html") -> None:
    """Merge what runs wrote into one self-contained HTML page (no network needed to view it)."""
    from toolkit import report as html

    if not input:
        raise ToolkitError("toolkit report needs the files to merge: toolkit report "
                           "shard-1.json shard-2.json references.json -o report.html")
    run = html.load([Path(p) for p in input])
    html.render_to(run, Path(output))
    found = html.counts(run.tests)
    print(f"{len(run.tests)} tests ({found['passed']} passed, "
          f"{sum(found[o] for o in html.FAILING)} failed) from {len(run.sources)} run(s): "
          f"{output}")


db = Collection("db", template, clone_, drop, gc, status)
tests = Collection("test", test_shard, test_changed, test_flaky, test_durations)
ci = Collection("ci", matrix)
git_hooks = Collection("hooks", hooks_install, hooks_uninstall)
references = Collection("refs", refs_run, refs_record, refs_lint)
server = Collection("server", up, down, server_status, server_gc)
images = Collection("image", image_build, image_base)
namespace = Collection(db, server, images, references, tests, ci, git_hooks, report_)
