"""Real servers for the tests: TOOLKIT_TEST_POSTGRES_URL / TOOLKIT_TEST_MYSQL_URL /
TOOLKIT_TEST_CLICKHOUSE_URL when given,
else private local servers started from the machine's binaries (failing, not skipping,
when neither exists)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import settings_for, write_project
from toolkit.engines import close_all
from toolkit.errors import ToolkitError
from toolkit.servers import local
from toolkit.settings import Settings

# deliberately flaky tests: tests/test_flaky_corpus.py runs them in a project of their own
collect_ignore = ["flaky_corpus"]


def _server(env_key: str, kind: str) -> Iterator[str]:
    if os.environ.get(env_key):
        yield os.environ[env_key]
        return
    try:
        server = local.start(kind)
    except ToolkitError as exc:
        pytest.fail(f"no {kind} server for the tests: {exc}", pytrace=False)
    try:
        yield server.url
    finally:
        close_all()
        server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from _server("TOOLKIT_TEST_POSTGRES_URL", "postgres")


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    yield from _server("TOOLKIT_TEST_MYSQL_URL", "mariadb")


@pytest.fixture(scope="session")
def clickhouse_url() -> Iterator[str]:
    """A ClickHouse server under test (TOOLKIT_SERVER_BINARY, else the machine's)."""
    yield from _server("TOOLKIT_TEST_CLICKHOUSE_URL", "clickhouse")


ENGINES = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(params=ENGINES)
def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of each engine's server in turn (SQLite: a directory of files)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/dbs/toolkit.sqlite"
    return str(request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small Alembic project (3 revisions) to build templates from."""
    return write_project(tmp_path / "project")


@pytest.fixture
def settings(project: Path, server_url: str) -> Iterator[Settings]:
    yield settings_for(project, server_url)
    close_all()


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "clickhouse"])
def refs_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each engine the reference runner supports, ClickHouse through chDB."""
    if request.param == "clickhouse":
        return "chdb://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/refs.sqlite"
    return str(request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url"))


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """The Docker engine the tests run against (DOCKER_HOST; .ci/run starts one)."""
    from toolkit.docker import client

    try:
        return client()
    except ToolkitError as exc:
        pytest.fail(f"no Docker engine for the tests: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:  # type: ignore[no-untyped-def]
    """A Debian image made locally with debootstrap (no registry here), cached between runs."""
    from toolkit.image import debian_base

    return debian_base(docker_client)


@pytest.fixture(scope="session")
def postgres_image(docker_client, base_image: str) -> str:  # type: ignore[no-untyped-def]
    """PostgreSQL 15 built from images/postgres on that base (a no-op when unchanged)."""
    from toolkit.image import build

    root = Path(__file__).parent.parent
    return build(docker_client, root / "images" / "postgres", tag="toolkit-test/postgres:dev",
                 build_args={"BASE": base_image}).tags[-1]


@pytest.fixture(scope="session")
def clickhouse_image(docker_client, base_image: str) -> str:  # type: ignore[no-untyped-def]
    """The ClickHouse server image built from images/clickhouse (Debian's 18.16 server)."""
    from toolkit.image import build

    root = Path(__file__).parent.parent
    return build(docker_client, root / "images" / "clickhouse",
                 tag="toolkit-test/clickhouse:dev", build_args={"BASE": base_image}).tags[-1]


CLUSTER_IMAGES = {"toolkit/postgres-replica": "postgres-replica",
                  "toolkit/clickhouse": "clickhouse", "toolkit/zookeeper": "zookeeper",
                  "toolkit/nethelper": "nethelper"}


@pytest.fixture(scope="session")
def cluster_images(docker_client, base_image: str) -> None:  # type: ignore[no-untyped-def]
    """The images toolkit.cluster's topologies run, under the names they use, built on the
    offline Debian base (a no-op when their contexts are unchanged)."""
    from toolkit.image import build

    root = Path(__file__).parent.parent
    for tag, context in CLUSTER_IMAGES.items():
        build(docker_client, root / "images" / context, tag=tag, build_args={"BASE": base_image})


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real runs' pages and results, for the report's tests (tests/report_runs.py): made once
    for the session, they cost a pytest run under xdist and a reference run."""
    from tests.report_runs import make_runs

    return make_runs(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="session")
def remote_docker(docker_client, base_image: str,  # type: ignore[no-untyped-def]
                  clickhouse_image: str) -> Iterator[tuple[str, object]]:
    """A Docker engine on "another host" (tests/remote_docker.py), holding the base and
    ClickHouse images: (its DOCKER_HOST, a client of it)."""
    import docker

    from tests.remote_docker import copy_image, remote_engine

    with remote_engine() as host:
        engine = docker.DockerClient(base_url=host)
        for tag in (base_image, clickhouse_image):  # no registry: the images are carried over
            copy_image(docker_client, engine, tag)
        yield host, engine
        engine.close()
