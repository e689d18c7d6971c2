"""Database servers in containers: ready on a real query, template and clone work, nothing
left behind; reuse and gc."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import settings_for, write_project
from toolkit import clone, ensure_template
from toolkit.engines import close_all
from toolkit.servers import docker as containers

LABEL = {"label": "io.toolkit.server"}


def _mine(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.short_id for c in client.containers.list(all=True, filters=LABEL)
            if "io.toolkit.reuse" not in c.labels]


def test_postgres_container_template_clone_nothing_left(tmp_path: Path, docker_client,
                                                        postgres_image: str) -> None:
    assert containers.kind_of(docker_client, postgres_image) == "postgres"
    with containers.running(docker_client, "postgres", postgres_image) as server:
        assert server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        settings = settings_for(write_project(tmp_path / "p"), server.url)
        tpl = ensure_template(settings)
        with clone(settings, tpl) as db, db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM parent")).scalar() == "seed"
        close_all()
    assert _mine(docker_client) == []


def test_reuse_keeps_one_container(docker_client, postgres_image: str) -> None:
    first = containers.start(docker_client, "postgres", postgres_image, reuse=True)
    try:
        again = containers.start(docker_client, "postgres", postgres_image, reuse=True)
        assert again.container == first.container and again.reused
        assert first.container[:12] not in containers.gc(docker_client, dry_run=True)
    finally:
        containers.stop(docker_client, first)


def test_gc_removes_containers_of_dead_owners(tmp_path: Path, docker_client,
                                              postgres_image: str) -> None:
    """A process killed before it could clean up leaves its container; gc removes it."""
    script = tmp_path / "owner.py"
    script.write_text(
        "import sys\nfrom toolkit.docker import client\nfrom toolkit.servers import docker\n"
        f"server = docker.start(client(), 'postgres', {postgres_image!r})\n"
        "print(server.container, flush=True)\nsys.stdin.read()\n")
    owner = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    container = owner.stdout.readline().strip()
    assert container[:10] in " ".join(_mine(docker_client))
    assert containers.gc(docker_client) == []  # its owner still runs
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    (removed,) = containers.gc(docker_client)
    assert container.startswith(removed)
    assert _mine(docker_client) == []


def test_server_up_status_down_cli(tmp_path: Path, postgres_image: str, docker_client) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")

    def toolkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=tmp_path,
                              capture_output=True, text=True)

    up = toolkit("server.up", "postgres", "--provider", "docker", "--image", postgres_image)
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip().startswith("postgresql+psycopg://postgres@127.0.0.1:")
    status = toolkit("server.status").stdout
    assert "provider=docker" in status and "started_by=server.up" in status
    down = toolkit("server.down")
    assert "stopped postgres (docker)" in down.stdout
    assert docker_client.containers.list(all=True, filters=LABEL) == []


def test_plugin_takes_its_server_from_docker(pytester: pytest.Pytester, postgres_image: str,
                                             docker_client) -> None:
    write_project(pytester.path)
    pytester.makepyfile(test_it="""
        import sqlalchemy as sa

        def test_in_container(toolkit_db):
            assert "127.0.0.1" in str(toolkit_db.url)
            with toolkit_db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
    """)
    result = pytester.runpytest_subprocess(f"--toolkit-server=docker:{postgres_image}")
    result.assert_outcomes(passed=1)
    assert _mine(docker_client) == []


def test_plugin_reuse_keeps_the_container_between_runs(pytester: pytest.Pytester,
                                                       postgres_image: str,
                                                       docker_client) -> None:
    write_project(pytester.path)
    pytester.makepyfile(test_it="def test_url(toolkit_db):\n    print('URL', toolkit_db.url)\n")
    args = (f"--toolkit-server=docker:{postgres_image}", "--toolkit-reuse", "-s")
    first = pytester.runpytest_subprocess(*args)
    second = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(passed=1)
    second.assert_outcomes(passed=1)
    port = [ln.split("127.0.0.1:")[1].split("/")[0] for ln in first.outlines if "URL" in ln]
    assert port and any(f"127.0.0.1:{port[0]}/" in ln for ln in second.outlines)
    reused = docker_client.containers.list(filters={"label": "io.toolkit.reuse"})
    assert len(reused) == 1
    reused[0].remove(force=True)
