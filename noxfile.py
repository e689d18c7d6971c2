"""Nox sessions: the same pipelines on a laptop, in a hook and in CI (`nox -l` lists them).
With `--force-venv-backend none` they run in the current environment (as .ci/run does)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nox

import toolkit.nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests", "references"]
ROOT = Path(__file__).parent
SAMPLES = ROOT.parent / "shared" / "clickhouse-samples"


def install(session: nox.Session) -> None:
    """The project the way CI installs it (nothing with --force-venv-backend none, where the
    current environment already has it)."""
    if session.venv_backend != "none":
        session.install("-e", f"{ROOT}[dev]")


# integration-1 … integration-N, pipeline and prepush, over the example shop: exactly what a
# user's noxfile gets from this one call
toolkit.nox.register(globals(), project_dir=ROOT / "examples" / "shop", install=install)


@contextmanager
def server(session: nox.Session, kind: str, *args: str, env: dict[str, str] | None = None
           ) -> Iterator[str]:
    """A server for the session (private and local unless ``args`` say otherwise), stopped
    afterwards."""
    url = session.run("toolkit", "server.up", kind, *args, silent=True, env=env)
    try:
        yield str(url).strip().splitlines()[-1]
    finally:
        session.run("toolkit", "server.down", "--kind", kind, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the repository, mypy over toolkit/."""
    install(session)
    session.run("ruff", "check", ".", *session.posargs)
    session.run("mypy", "toolkit")


@nox.session
def tests(session: nox.Session) -> None:
    """toolkit's own test suite (starts private PostgreSQL and MariaDB servers)."""
    install(session)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def references(session: nox.Session) -> None:
    """The repository's reference tests on SQLite; references must be up to date."""
    install(session)
    session.run("toolkit", "refs.lint")
    session.run("toolkit", "refs.record", "--check", *session.posargs)


@nox.session(name="references-clickhouse")
def references_clickhouse(session: nox.Session) -> None:
    """The repository's reference tests on ClickHouse (chDB)."""
    install(session)
    session.run("toolkit", "refs.record", "--check", "--url", "chdb://", *session.posargs)


@nox.session(name="references-postgresql")
def references_postgresql(session: nox.Session) -> None:
    """The repository's reference tests on a private PostgreSQL server."""
    install(session)
    with server(session, "postgres") as url:
        session.run("toolkit", "refs.record", "--check", "--url", url, *session.posargs)


@nox.session(name="references-mysql")
def references_mysql(session: nox.Session) -> None:
    """The repository's reference tests on a private MariaDB server."""
    install(session)
    with server(session, "mariadb") as url:
        session.run("toolkit", "refs.record", "--check", "--url", url, *session.posargs)


@nox.session(name="references-clickhouse-server")
def references_clickhouse_server(session: nox.Session) -> None:
    """The repository's reference tests on a ClickHouse server: the binary TOOLKIT_SERVER_BINARY
    names, run on this host; else a container of images/clickhouse, built on the offline
    Debian base (Debian packages and a private dockerd are set up first when missing)."""
    install(session)
    if os.environ.get("TOOLKIT_SERVER_BINARY"):
        with server(session, "clickhouse") as url:
            session.run("toolkit", "refs.record", "--check", "--url", url, *session.posargs)
        return
    from toolkit import provision

    with provision.prepared([provision.NEEDS["docker"], provision.NEEDS["debootstrap"]]) as env:
        session.run("toolkit", "image.base", env=env)
        image = session.run("toolkit", "image.build", "--context", str(ROOT / "images" /
                            "clickhouse"), "--tag", "toolkit/clickhouse", silent=True, env=env)
        tag = str(image).strip().splitlines()[-1]
        with server(session, "clickhouse", "--provider", "docker", "--image", tag,
                    env=env) as url:
            session.run("toolkit", "refs.record", "--check", "--url", url, *session.posargs,
                        env=env)


@nox.session(name="flaky-toolkit")
def flaky_toolkit(session: nox.Session) -> None:
    """test.flaky on toolkit's own changed reference tests and integration tests (the
    example's are the `flaky` session's)."""
    install(session)
    session.run("toolkit", "test.flaky", *session.posargs)


@nox.session(name="references-clickhouse-samples")
def references_clickhouse_samples(session: nox.Session) -> None:
    """30 ClickHouse stateless tests via chDB; needs ../shared/clickhouse-samples beside it."""
    if not SAMPLES.is_dir():
        session.error(f"no ClickHouse samples at {SAMPLES}: they sit beside the checkout in CI")
    install(session)
    session.run("toolkit", "refs.run", "--url", "chdb://", "--directory", str(SAMPLES),
                *session.posargs, env={"TZ": "UTC"})


@nox.session
def docker(session: nox.Session) -> None:
    """Image builds and database containers against the Docker engine at DOCKER_HOST."""
    install(session)
    session.run("python", "-m", "pytest", "tests/test_image.py", "tests/test_servers_docker.py",
                *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks: clones, references, shards, Docker, start-up, hook, set-up, clusters,
    the report."""
    install(session)
    session.run("python", "-m", "bench.clone", *session.posargs)
    session.run("python", "-m", "bench.refs")
    session.run("python", "-m", "bench.shards")
    session.run("python", "-m", "bench.docker")
    session.run("python", "-m", "bench.startup")
    session.run("python", "-m", "bench.prepush")
    session.run("python", "-m", "bench.provision")
    session.run("python", "-m", "bench.cluster")
    session.run("python", "-m", "bench.report")
