"""Nox sessions: the same pipelines on a laptop, in a hook and in CI (`nox -l` lists them)."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the repository, mypy over toolkit/."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("mypy", "toolkit")


@nox.session
def tests(session: nox.Session) -> None:
    """toolkit's own test suite (starts private PostgreSQL and MariaDB servers)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def pipeline(session: nox.Session) -> None:
    """The main job: the example shop's template and integration tests on SQLite."""
    session.install("-e", ".[dev]")
    session.run("inv", "pipeline", *session.posargs)
