"""The check for what a change touches (``toolkit test.flaky``): the reference tests and the
integration test files added or changed since a base, each run many times with random settings
and in random order, within a time budget. A test whose runs disagree is FLAKY."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from toolkit import testrun
from toolkit.errors import ToolkitError
from toolkit.refs.discover import SUFFIXES
from toolkit.settings import Settings

REFERENCE_RUNS = 20  # a reference run costs milliseconds
PYTEST_RUNS = 5  # a test file costs a session and a clone per test
DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")


class FlakyError(ToolkitError):
    pass


@dataclasses.dataclass(frozen=True)
class Touched:
    references: tuple[str, ...]  # reference test names
    test_files: tuple[str, ...]  # integration test files, relative to the project


def _git(project: Path, *args: str) -> list[str]:
    try:
        out = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise FlakyError("git is not installed: test.flaky compares with a git base "
                         "(or pass --changed-files FILE)") from exc
    if out.returncode:
        raise FlakyError(f"git {' '.join(args)} failed in {project}: "
                         f"{(out.stderr.strip().splitlines() or ['no message'])[-1]}")
    return [line for line in out.stdout.splitlines() if line]


def default_base(project: Path) -> str:
    """The merge base of HEAD with the default branch (the first of DEFAULT_BRANCHES that
    exists)."""
    for branch in DEFAULT_BRANCHES:
        found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}"],
                               cwd=project, capture_output=True, text=True)
        if found.returncode == 0:
            return _git(project, "merge-base", "HEAD", branch)[0]
    raise FlakyError(f"no default branch to compare with in {project} (looked for "
                     f"{', '.join(DEFAULT_BRANCHES)}): pass --base REF")


def changed_since(project: Path, base: str) -> list[str]:
    """Files added or changed since ``base``, committed or not, untracked ones included;
    relative to ``project``."""
    _git(project, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    return sorted({*_git(project, "diff", "--name-only", "--relative", "--diff-filter=d", base),
                   *_git(project, "ls-files", "--others", "--exclude-standard")})


def touched(settings: Settings, changed: Sequence[str], base: Path | None = None) -> Touched:
    """The reference tests (a changed .sql, .sh or .reference) and integration test files among
    ``changed`` paths (relative to ``base``, default the project)."""
    root = settings.path(settings.references_dir).resolve()
    base = (base or settings.project_dir).resolve()
    names = set()
    for name in changed:
        path = (base / name).resolve()
        if path.suffix not in (*SUFFIXES, ".reference") or not path.is_relative_to(root):
            continue
        if any(path.with_suffix(s).is_file() for s in SUFFIXES):
            names.add(str(path.relative_to(root).with_suffix("")))
    return Touched(tuple(sorted(names)),
                   tuple(testrun.integration_files(settings, changed, base)))


def pytest_args(files: Sequence[str], runs: int, seed: int, budget: float) -> list[str]:
    """pytest over ``files``: every test ``runs`` times with random settings, in random order,
    the runs spread over the cores when pytest-xdist is there, none started after ``budget``;
    failed runs' clones are dropped (there may be many)."""
    args = [*files, f"--toolkit-repeat={runs}", "--toolkit-random-settings",
            "--toolkit-order=random", f"--toolkit-seed={seed}", f"--toolkit-budget={budget:.1f}",
            "--toolkit-no-keep", "-p", "no:cacheprovider", "-q"]  # no clone per failed run
    cores = os.cpu_count() or 1
    if cores > 1 and importlib.util.find_spec("xdist") is not None:
        args += ["-p", "xdist", f"--numprocesses={min(cores, 8)}"]
    return args


def run_test_files(settings: Settings, files: Sequence[str], runs: int, seed: int,
                   budget: float, extra: Sequence[str] = (),
                   say: Callable[[str], None] = print) -> int:
    return testrun.run_pytest(settings, [*pytest_args(files, runs, seed, budget), *extra],
                              testrun.template_for_tests(settings), say,
                              "the changed test files hold no tests")
