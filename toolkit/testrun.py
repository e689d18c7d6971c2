"""Running pytest on a slice of the integration suite: a shard (test.shard) or the tests a
push changed, within a time budget (test.changed, for the pre-push hook)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from toolkit import durations, shards
from toolkit.settings import Settings

NO_TESTS = 5  # pytest's exit code when nothing was selected


def environment(settings: Settings, template: str | None) -> dict[str, str]:
    """What the tests of a pipeline step get: exactly the URL, template and server built."""
    env = dict(os.environ)
    env["TOOLKIT_DATABASE_URL"] = settings.database_url
    for key, value in (("TOOLKIT_TEMPLATE", template or settings.template),
                       ("TOOLKIT_IMAGE", settings.image),
                       ("TOOLKIT_SERVER_BINARY", settings.server_binary)):
        if value:
            env[key] = value
    return env


def template_for_tests(settings: Settings) -> str | None:
    if settings.template or not settings.path(settings.alembic_ini).is_file():
        return settings.template or None
    from toolkit.core import ensure_template

    return ensure_template(settings).name


def run_pytest(settings: Settings, args: Sequence[str], template: str | None,
               say: Callable[[str], None], empty: str) -> int:
    code = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=settings.project_dir,
                          env=environment(settings, template)).returncode
    if code == NO_TESTS:
        say(empty)
        return 0
    return code


def report_path(project_dir: Path, shard: int, shards: int) -> Path:
    """Where a shard's page goes by default (its results beside it, .json): a CI job uploads
    it with the durations, and a last job merges them (`toolkit report`)."""
    return project_dir / ".toolkit" / f"report-shard-{shard}-of-{shards}.html"


def run_shard(settings: Settings, shard: int | None, total: int | None, strategy: str | None,
              dry_run: bool, pytest_args: Sequence[str], say: Callable[[str], None] = print,
              report: Path | None = None) -> int:
    """pytest on shard K of N of the integration suite; its exit code (0 for an empty shard).
    Its report goes to ``report`` (default: report_path)."""
    k, n = shards.resolve(shard, total, say=lambda line: print(line, file=sys.stderr))
    strategy = shards.check_strategy(strategy or settings.shard_strategy)
    args = [str(settings.path(settings.integration_dir)), f"--toolkit-shard={k}/{n}",
            f"--toolkit-shard-strategy={strategy}", *pytest_args]
    if dry_run:  # the plugin plans on the full collection, without xdist workers
        args += ["--toolkit-shard-plan", "-p", "no:terminal"]
    else:
        if settings.shard_plan:  # checked before the run: xdist's workers cannot refuse in a line
            shards.check_plan(settings.shard_plan,
                              *plan_id(settings, k, n, strategy, pytest_args), k, n)
        page = (report or report_path(settings.project_dir, k, n)).resolve()
        args.insert(3, f"--toolkit-report={page}")
    template = None if dry_run else template_for_tests(settings)
    return run_pytest(settings, args, template, say,
                   f"shard {k}/{n} selected no tests: nothing to run")


def plan_id(settings: Settings, shard: int, total: int, strategy: str,
            pytest_args: Sequence[str]) -> tuple[str, int]:
    """The plan id of the split (any shard computes the same) and how many tests it splits,
    from a collection in a process of its own."""
    args = [str(settings.path(settings.integration_dir)), f"--toolkit-shard={shard}/{total}",
            f"--toolkit-shard-strategy={strategy}", "--toolkit-plan-id", *pytest_args]
    env = environment(settings, None)
    env.pop("TOOLKIT_SHARD_PLAN", None)  # planning is not checked against an earlier plan
    done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=settings.project_dir,
                          env=env, capture_output=True, text=True)
    found = [line for line in done.stdout.splitlines()
             if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{8} \d+", line)]
    if done.returncode or not found:
        sys.stderr.write(done.stdout + done.stderr)  # collection errors, as pytest shows them
        raise shards.ShardError(f"the plan could not be made: collecting "
                                f"{settings.integration_dir} failed (see above)")
    plan, count = found[0].split()
    return plan, int(count)


def print_plan_id(settings: Settings, shard: int | None, total: int | None,
                  strategy: str | None, pytest_args: Sequence[str]) -> None:
    """Print the plan id of the split: for a planning job, whose output every shard gets as
    TOOLKIT_SHARD_PLAN."""
    if not shards.ci_nodes():  # a planning job is no parallel node: shard 1 plans the same
        shard, total = shard or 1, total or settings.shards
    k, n = shards.resolve(shard, total)
    print(plan_id(settings, k, n, shards.check_strategy(strategy or settings.shard_strategy),
                  pytest_args)[0])


def shard_command(shard: int, total: int, pytest_args: Sequence[str] = ()) -> list[str]:
    return ["toolkit", "test.shard", f"--shard={shard}", f"--shards={total}", "--",
            *pytest_args]


def integration_files(settings: Settings, changed: Sequence[str], base: Path | None = None
                      ) -> list[str]:
    """The integration test files among ``changed`` (relative to ``base``, default the
    project) that still exist, relative to the project."""
    root = settings.path(settings.integration_dir).resolve()
    project = settings.project_dir.resolve()
    base = (base or project).resolve()
    return sorted({os.path.relpath(base / f, project) for f in changed
                   if f.endswith(".py") and Path(f).name.startswith("test_")
                   and (base / f).resolve().is_relative_to(root) and (base / f).is_file()})


def plan_changed(settings: Settings, changed: Sequence[str], budget: float,
                 base: Path | None = None) -> tuple[list[str], list[str], dict[str, float]]:
    """(test files to run, test files left out, predicted seconds of each) for the changed
    integration test files, cheapest first until the budget is spent. ``changed`` paths are
    relative to ``base`` (git's top level, which may be above the project; default: the
    project), and come back relative to the project."""
    files = integration_files(settings, changed, base)
    stored = durations.seconds(durations.path(settings.project_dir))
    per_file: dict[str, float] = {}
    for test, seconds in stored.items():
        name = test.split("::", 1)[0]
        per_file[name] = per_file.get(name, 0.0) + seconds
    cost = shards.estimate(files, per_file)
    chosen, left, spent = [], [], 0.0
    for f in sorted(files, key=lambda f: (cost[f], f)):
        if spent + cost[f] <= budget:
            chosen.append(f)
            spent += cost[f]
        else:
            left.append(f)
    return sorted(chosen), sorted(left), cost


def run_changed(settings: Settings, changed: Sequence[str], budget: float | None,
                pytest_args: Sequence[str], say: Callable[[str], None] = print,
                base: Path | None = None) -> int:
    budget = settings.prepush_budget_s if budget is None else budget
    chosen, left, cost = plan_changed(settings, changed, budget, base)
    for f in left:
        say(f"left out (over the {budget:g}s budget): {f} (~{cost[f]:.1f}s)")
    if not chosen:
        say("no changed integration tests to run")
        return 0
    say(f"running {len(chosen)} changed integration test file(s), "
        f"~{sum(cost[f] for f in chosen):.1f}s")
    return run_pytest(settings, [*chosen, *pytest_args], template_for_tests(settings), say,
                   "the changed test files hold no tests")
