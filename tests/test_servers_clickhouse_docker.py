"""The ClickHouse server under test in a container built from images/clickhouse: reference
tests run against it, a fresh binary is mounted read-only in place of the image's (no
rebuild), a container killed mid-run ends the run with its log, and an image whose server
never answers is one line with its log tail and no container left."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import toolkit_cli
from tests.test_refs_client_unquoted import QUERY, REFERENCE, SCRIPT
from toolkit.docker import LABEL
from toolkit.refs.engines.clickhouse_server import client_command
from toolkit.servers.clickhouse import parse_url

ROOT = Path(__file__).parent.parent


def _project(tmp_path: Path, with_repository_tests: bool = True) -> Path:
    project = tmp_path / "p"
    if with_repository_tests:
        shutil.copytree(ROOT / "tests" / "queries", project / "tests" / "queries")
    else:
        (project / "tests" / "queries").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    return project


def _ours(docker_client) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.id for c in docker_client.containers.list(
        all=True, filters={"label": f"{LABEL}.server=clickhouse"})]


def _up(project: Path, image: str, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return toolkit_cli(project, "server.up", "clickhouse", "--provider", "docker", "--image",
                       image, *args, env=env)


def _killed_mid_run(tmp_path: Path, image: str, count: int) -> tuple[Path, str, dict[str, str]]:
    """A container from ``image`` (its URL and server.up's record) and ``count`` tests, the 5th
    of which, t04_crash.sh, kills the container."""
    project = _project(tmp_path, False)
    up = _up(project, image)
    assert up.returncode == 0, up.stderr
    state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
    queries = project / "tests" / "queries"
    for i in range(count):
        (queries / f"t{i:02}.sql").write_text(f"SELECT {i};\n")
        (queries / f"t{i:02}.reference").write_text(f"{i}\n")
    crash = queries / "t04_crash.sh"
    crash.write_text(f"#!/bin/sh\ndate +%s.%N > {project}/crashed_at\n"
                     f"docker kill {state['container']} > /dev/null\n")
    crash.chmod(0o755)
    (queries / "t04_crash.reference").write_text("")
    return project, up.stdout.strip(), state


def test_references_run_against_the_container_with_the_binary_mounted(
        tmp_path: Path, docker_client, clickhouse_image: str) -> None:  # type: ignore[no-untyped-def]
    project = _project(tmp_path)
    before = _ours(docker_client)
    binary = shutil.which("clickhouse-server", path="/usr/sbin:/usr/bin")
    assert binary
    up = _up(project, clickhouse_image, "--binary", binary)
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip()
    try:
        state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
        mounts = docker_client.containers.get(state["container"]).attrs["Mounts"]
        assert [(m["Source"], m["Destination"], m["RW"]) for m in mounts] == [
            (binary, "/usr/sbin/clickhouse-server", False)]
        result = toolkit_cli(project, "refs.record", "--check", "--url", url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert " 0 failed" in result.stdout
    finally:
        assert toolkit_cli(project, "server.down").returncode == 0
    assert _ours(docker_client) == before


def test_the_mounted_binary_is_what_the_container_runs(
        tmp_path: Path, docker_client, clickhouse_image: str) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "clickhouse-server"
    fake.write_text("#!/bin/sh\necho 'the mounted build ran'\nexec sleep 600\n")
    fake.chmod(0o755)
    before = _ours(docker_client)
    result = _up(_project(tmp_path, False), clickhouse_image, "--binary", str(fake),
                 env={"TOOLKIT_SERVER_READY_TIMEOUT_S": "3"})
    assert result.returncode == 1
    assert "not ready after 3s" in result.stderr
    assert "last log lines: the mounted build ran" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _ours(docker_client) == before


def test_a_killed_container_ends_the_run_with_its_log(
        tmp_path: Path, docker_client, clickhouse_image: str) -> None:  # type: ignore[no-untyped-def]
    project, url, state = _killed_mid_run(tmp_path, clickhouse_image, 20)
    try:
        result = toolkit_cli(project, "refs.run", "--url", url, "--jobs", "2")
        ended = time.time()
    finally:
        assert toolkit_cli(project, "server.down").returncode == 0
    assert result.returncode == 1
    assert ended - float((project / "crashed_at").read_text()) <= 5.0
    assert f"server died while running t04_crash: its container {state['container'][:10]}" \
        in result.stdout
    assert "exited (exit code 137)" in result.stdout
    log = result.stdout.split("last lines of the server's log:\n", 1)[1]
    assert "<Information>" in log.splitlines()[0]  # the container's own log
    # and the whole of it is kept once the container is gone
    kept = list((project / ".toolkit" / "servers").glob(
        f"clickhouse-{state['container'][:12]}.log"))
    assert kept and "Starting ClickHouse" in kept[0].read_text()
    assert "NOT RUN t19" in result.stdout


def test_restart_on_crash_restarts_the_container(
        tmp_path: Path, docker_client, clickhouse_image: str) -> None:  # type: ignore[no-untyped-def]
    project, url, state = _killed_mid_run(tmp_path, clickhouse_image, 10)
    try:
        result = toolkit_cli(project, "refs.run", "--url", url, "--jobs", "2",
                             "--restart-on-crash")
        assert result.returncode == 1
        assert "server died while running t04_crash" in result.stdout
        assert "NOT RUN" not in result.stdout
        assert result.stdout.strip().splitlines()[-1].startswith(
            tuple(f"{n} passed" for n in (8, 9, 10)))
        assert parse_url(url).query("SELECT 1") == "1\n"
    finally:
        assert toolkit_cli(project, "server.down").returncode == 0


def test_sh_tests_use_the_containers_client_when_the_host_has_none(
        tmp_path: Path, docker_client, clickhouse_image: str,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, False)
    up = _up(project, clickhouse_image)
    assert up.returncode == 0, up.stderr
    state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
    docker_cli = shutil.which("docker")
    assert docker_cli
    try:
        # a PATH with docker and no clickhouse-client, as on a host without ClickHouse
        monkeypatch.setenv("PATH", str(Path(docker_cli).parent.parent / "nothing") + ":"
                           + str(tmp_path / "bin"))
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "docker").symlink_to(docker_cli)
        command = client_command("", state["container"])
        assert command == ["docker", "exec", "-i", state["container"], "clickhouse-client"]
        monkeypatch.undo()
        shown = subprocess.run([docker_cli, *command[1:], "-q", "SELECT 'inside', 1 + 1"],
                               capture_output=True, text=True, check=True)
        assert shown.stdout == "inside\t2\n"
        # a .sh test calls that client unquoted, as ClickHouse's tests do, plain and with
        # random settings (the runner finds no clickhouse-client on this PATH either)
        queries = project / "tests" / "queries"
        (queries / "client.sh").write_text(SCRIPT.format(query=QUERY["clickhouse"]))
        (queries / "client.sh").chmod(0o755)
        (queries / "client.reference").write_text(REFERENCE)
        path = f"{tmp_path / 'bin'}:{Path(sys.executable).parent}"
        assert not shutil.which("clickhouse-client", path=path)
        for extra in ([], ["--random-settings"]):
            ran = toolkit_cli(project, "refs.run", "--url", up.stdout.strip(), *extra,
                              env={"PATH": path})
            assert ran.returncode == 0, ran.stdout + ran.stderr
    finally:
        assert toolkit_cli(project, "server.down").returncode == 0


def test_an_image_whose_server_never_answers_is_one_line(
        tmp_path: Path, docker_client, base_image: str) -> None:  # type: ignore[no-untyped-def]
    from toolkit.image import build

    context = tmp_path / "never"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nEXPOSE 8123\nCMD [\"sh\", \"-c\", \"echo starting up; "
        "exec sleep 600\"]\n")
    image = build(docker_client, context, tag="toolkit-test/never-ready:dev").tags[-1]
    before = _ours(docker_client)
    result = _up(_project(tmp_path, False), image, env={"TOOLKIT_SERVER_READY_TIMEOUT_S": "3"})
    assert result.returncode == 1
    assert "not ready after 3s" in result.stderr and "starting up" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _ours(docker_client) == before
    missing = _up(_project(tmp_path / "m", False), "toolkit-test/no-such-clickhouse:dev")
    assert missing.stderr.strip() == (
        "toolkit: error: no image 'toolkit-test/no-such-clickhouse:dev' in the Docker daemon "
        "(build it with `toolkit image.base && toolkit image.build --context images/clickhouse "
        "--tag toolkit/clickhouse`, or pull it)")
