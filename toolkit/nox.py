"""Nox sessions for a project that uses toolkit, from one call in its noxfile.py:

    import toolkit.nox
    toolkit.nox.register(globals())

defines `integration-1` … `integration-N` (N: the `shards` setting), `pipeline` (template →
references → every shard), `prepush` (lint, unit tests, references on SQLite, the changed
integration tests within the budget) and `flaky` (test.flaky: the changed tests, many times
with random settings and order). Each forwards `session.posargs`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import nox

from toolkit.settings import Settings
from toolkit.testrun import shard_command

DISTRIBUTION = "toolkit-dbtest"


def default_install(session: nox.Session) -> None:
    """What a session needs in a fresh virtualenv (nothing with --no-venv, which runs in the
    current environment): the project itself when it is a Python package (with its ``dev``
    extra when it has one), its requirements*.txt files, then toolkit and pytest."""
    if session.venv_backend == "none":
        return
    root = Path.cwd()
    if (root / "pyproject.toml").is_file() or (root / "setup.py").is_file():
        session.install("-e", ".[dev]" if _has_extra(root, "dev") else ".")
    for requirements in sorted(root.glob("requirements*.txt")):
        session.install("-r", str(requirements))
    session.install(toolkit_requirement(), "pytest")


def _has_extra(root: Path, extra: str) -> bool:
    import tomllib

    try:
        data = tomllib.loads((root / "pyproject.toml").read_text())
    except (OSError, ValueError):
        return False
    return extra in data.get("project", {}).get("optional-dependencies", {})


def toolkit_requirement() -> str:
    """toolkit as this environment has it: the checkout it runs from, or its release."""
    from importlib import metadata

    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "toolkit").is_dir():
        return str(checkout)
    return f"{DISTRIBUTION}=={metadata.version(DISTRIBUTION)}"


def ruff_configured(start: Path) -> bool:
    """Whether the project (or a directory above it, as ruff looks) configures ruff."""
    import tomllib

    for directory in (start, *start.parents):
        if (directory / "ruff.toml").is_file() or (directory / ".ruff.toml").is_file():
            return True
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "ruff" in tomllib.loads(pyproject.read_text()).get("tool", {}):
                    return True
            except ValueError:
                pass
        if (directory / ".git").exists():
            break
    return False


def register(namespace: MutableMapping[str, Any], project_dir: str | Path = ".",
             install: Callable[[nox.Session], None] = default_install) -> None:
    """Add toolkit's sessions to a noxfile's globals; ``project_dir`` is where the project's
    settings (pyproject.toml, alembic.ini, tests) live, relative to the noxfile."""
    project = Path(project_dir).resolve()  # the session changes directory into it
    # the environment too (TOOLKIT_SHARDS): ci.matrix and test.shard read it, and the
    # sessions must be the same shards they compute
    settings = Settings.load(project_dir=project)
    total = settings.shards

    def shard_session(k: int) -> Callable[[nox.Session], None]:
        def integration(session: nox.Session) -> None:
            install(session)
            session.chdir(project)
            session.run(*shard_command(k, total, session.posargs))

        integration.__doc__ = f"Shard {k} of {total} of the integration suite."
        return integration

    for k in range(1, total + 1):
        namespace[f"integration_{k}"] = nox.session(name=f"integration-{k}")(shard_session(k))

    def pipeline(session: nox.Session) -> None:
        """The main job: template, then references, then every integration shard.

        It ends with a table of each step and the run's HTML report (.toolkit/report.html;
        `-- --report PATH` elsewhere); other arguments after -- go to pytest."""
        from nox.command import CommandFailed

        from toolkit import pipeline as main_job

        install(session)
        session.chdir(project)
        report, pytest_args = main_job.report_option(session.posargs)

        def run(command: list[str]) -> bool:
            try:
                session.run(*command)
            except CommandFailed:
                return False
            return True

        done = main_job.run(settings, run, pytest_args, report)
        if done.failed:
            session.error(f"the pipeline failed at {done.failed.name}")

    def prepush(session: nox.Session) -> None:
        """Fast checks before a push: lint, unit tests, SQLite references, changed tests.

        Lint (ruff, when the project configures it), unit tests, references on SQLite, and the
        changed integration tests within prepush_budget_s (what is left out is printed); with
        prepush_flaky, test.flaky on the changed tests in what is left of that budget."""
        started = time.monotonic()
        install(session)
        session.chdir(project)
        # lint only what the project asked for: Alembic's generated files break default rules
        if not ruff_configured(Path.cwd()):
            session.log("no ruff configuration in the project: lint skipped")
        elif shutil.which("ruff", path=session.bin if session.venv_backend != "none" else None):
            session.run("ruff", "check", ".")
        else:
            session.log("ruff is not installed: lint skipped")
        integration = str(settings.integration_dir)
        session.run("python", "-m", "pytest", "-q", f"--ignore={integration}",
                    "-p", "no:cacheprovider", *session.posargs, success_codes=[0, 5])
        if settings.path(settings.references_dir).is_dir():
            session.run("toolkit", "refs.run", "--url", "sqlite:///.toolkit/toolkit.sqlite")
        session.run("toolkit", "test.changed")
        if settings.prepush_flaky:
            left = settings.prepush_budget_s - (time.monotonic() - started)
            if left >= 1:
                session.run("toolkit", "test.flaky", f"--budget={left:.0f}")
            else:
                session.log(f"test.flaky skipped: the {settings.prepush_budget_s:g}s budget "
                            "is spent")

    def flaky(session: nox.Session) -> None:
        """The changed reference tests and test files, run many times with random settings.

        toolkit test.flaky: each changed reference test 20 times and each changed integration
        test file 5 times, in random order, within flaky_budget_s; fails on any FLAKY test.
        Its options after --, e.g. `nox -s flaky -- --base origin/main`."""
        install(session)
        session.chdir(project)
        session.run("toolkit", "test.flaky", *session.posargs)

    namespace["pipeline"] = nox.session(pipeline)
    namespace["prepush"] = nox.session(prepush)
    namespace["flaky"] = nox.session(flaky)
